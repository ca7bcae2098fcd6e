"""Message rates per queue from RabbitMQ's management API (``RABBITMQ_MANAGEMENT_URL``, optional).

AMQP tells how many messages wait, not how fast they come and go; the management plugin keeps
per-queue rates (messages per second, averaged by the node over its last sampling interval):
``published`` = messages published into the queue, ``delivered`` = messages delivered to
consumers or fetched (``deliver_get``). A queue with no traffic yet has rates of 0.

The API's vhost is the broker URL's (``amqp://u:p@host//`` is ``/``). Credentials come from the
management URL, else from the broker URL (the usual setup: one user for both). Every failure is
one ``BrokerError`` naming the API's address without credentials; passwords never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from lib.errors import BrokerError
from lib.redact import redact_url

__all__ = ["RabbitManagement", "vhost_of"]

RATE_FIELDS = {"published": "publish_details", "delivered": "deliver_get_details"}


def vhost_of(broker_url: str | None) -> str:
    """The vhost an AMQP URL names: its path without the first slash; empty means ``/``."""
    path = urlsplit(broker_url).path if broker_url else ""
    return unquote(path[1:]) if len(path) > 1 else "/"


class RabbitManagement:
    """Reads queues of the broker's vhost through the management API's HTTP interface."""

    def __init__(self, management_url: str, broker_url: str | None = None, timeout: float = 3.0):
        parts = urlsplit(management_url)
        login = parts if parts.username else urlsplit(broker_url or "")
        self._auth = (
            (unquote(login.username), unquote(login.password or "")) if login.username else None
        )
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.display_url = redact_url(self.base)
        self.vhost = vhost_of(broker_url)
        self.timeout = timeout

    def queue_names(self) -> list[str]:
        """Every queue of the vhost."""
        return [row["name"] for row in self._queues("name")]

    def queue_rates(self, queues: Iterable[str]) -> dict[str, dict[str, float]]:
        """``{queue: {"published": per s, "delivered": per s}}`` for the named queues the vhost
        has (a queue it does not have is left out)."""
        wanted = set(queues)
        columns = ["name", *(f"message_stats.{f}.rate" for f in RATE_FIELDS.values())]
        rates = {}
        for row in self._queues(",".join(columns)):
            if row.get("name") in wanted:
                stats = row.get("message_stats") or {}
                rates[row["name"]] = {
                    label: float((stats.get(field) or {}).get("rate") or 0.0)
                    for label, field in RATE_FIELDS.items()
                }
        return rates

    def _queues(self, columns: str) -> list[dict]:
        import requests

        url = f"{self.base}/api/queues/{quote(self.vhost, safe='')}"
        try:
            answer = requests.get(
                url, params={"columns": columns}, auth=self._auth, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise self._error(type(exc).__name__ + ", no answer") from exc
        if answer.status_code == 401:
            raise self._error("its credentials were refused (401)")
        if not answer.ok:
            raise self._error(f"it answered {answer.status_code} {answer.reason}")
        try:
            rows = answer.json()
        except ValueError as exc:
            raise self._error("its answer is not JSON") from exc
        if not isinstance(rows, list):
            raise self._error("its answer is not a list of queues")
        return rows

    def _error(self, reason: str) -> BrokerError:
        return BrokerError(
            f"The RabbitMQ management API at {self.display_url} cannot be read: {reason}."
        )
