"""Queue depth read straight from the broker, the number Flower's API gets wrong most often.

Redis: Celery's Redis transport keeps a queue as a list named after it, plus one list per
priority step (``<queue>\\x06\\x16<p>`` for p = 3, 6, 9); waiting messages are the sum of their
``LLEN``. Messages already prefetched by workers, and ETA/countdown tasks they hold, are not
waiting and are not counted (the same as Flower). RabbitMQ: a passive ``queue_declare``
answers the ready-message and consumer counts without creating anything.

Every broker failure is a ``BrokerError``, every result-backend failure a ``BackendError``, each
with the URL shown without its password.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from lib.errors import BackendError, BrokerError
from lib.redact import redact_url

__all__ = ["REDIS_PRIORITY_SEPARATOR", "BrokerProbe", "ResultBackend", "redis_queue_keys"]

#: kombu's Redis transport: separator and the non-zero priority steps it creates keys for.
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)
REDIS_SCHEMES = ("redis", "rediss")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def redis_queue_keys(queue: str) -> list[str]:
    """The Redis list keys that together hold ``queue``'s waiting messages."""
    return [queue] + [f"{queue}{REDIS_PRIORITY_SEPARATOR}{p}" for p in REDIS_PRIORITY_STEPS]


class BrokerProbe:
    """Reads waiting-message counts per queue from one broker."""

    def __init__(self, broker_url: str, timeout: float = 3.0):
        self.url = broker_url
        self.display_url = redact_url(broker_url)
        self.timeout = timeout
        self.scheme = urlsplit(broker_url).scheme.split("+")[0]

    @property
    def supported(self) -> bool:
        return self.scheme in REDIS_SCHEMES + AMQP_SCHEMES

    def queue_depths(self, queues: Iterable[str]) -> dict[str, int]:
        """``{queue: waiting messages}``; a queue the broker does not know counts 0 on Redis."""
        names = sorted({q for q in queues if q})
        if self.scheme in REDIS_SCHEMES:
            return self._redis_depths(names)
        if self.scheme in AMQP_SCHEMES:
            return self._amqp_depths(names)
        raise BrokerError(
            f"The console cannot read queue depths from a '{self.scheme}' broker "
            f"({self.display_url}); Redis and RabbitMQ are supported."
        )

    def _redis_depths(self, names: list[str]) -> dict[str, int]:
        import redis

        client = redis.Redis.from_url(
            self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
        )
        try:
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    for key in redis_queue_keys(name):
                        pipe.llen(key)
                counts = pipe.execute()
        except redis.RedisError as exc:
            raise BrokerError(self._sentence(exc)) from exc
        finally:
            client.close()
        steps = len(REDIS_PRIORITY_STEPS) + 1
        return {name: sum(counts[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}

    def _amqp_depths(self, names: list[str]) -> dict[str, int]:
        from kombu import Connection
        from kombu.exceptions import OperationalError

        depths: dict[str, int] = {}
        try:
            with Connection(self.url, connect_timeout=self.timeout) as conn:
                for name in names:
                    channel = conn.channel()
                    try:
                        depths[name] = channel.queue_declare(name, passive=True).message_count
                    except conn.channel_errors:
                        depths[name] = 0  # the queue does not exist (yet): nothing waits in it
                    finally:
                        channel.close()
        except (OperationalError, *Connection(self.url).connection_errors) as exc:
            raise BrokerError(self._sentence(exc)) from exc
        return depths

    def _sentence(self, exc: BaseException) -> str:
        reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        for secret in filter(None, [urlsplit(self.url).password]):
            reason = reason.replace(secret, "***")
        return f"The broker at {self.display_url} cannot be read: {reason}."


class ResultBackend:
    """Reads task metadata from Celery's result backend (the real args with result_extended).

    Only read here: the console never writes to the backend. A Celery app object is used for
    its backend implementations alone (no broker connection is made).
    """

    def __init__(self, backend_url: str, timeout: float = 3.0):
        from celery import Celery

        self.display_url = redact_url(backend_url)
        self._app = Celery("ops-console-reader", broker="memory://", backend=backend_url)
        self._app.conf.update(
            redis_socket_timeout=timeout,
            redis_socket_connect_timeout=timeout,
            redis_retry_on_timeout=False,
            result_backend_always_retry=False,
        )
        self._secret = urlsplit(backend_url).password

    def task_meta(self, task_id: str) -> dict | None:
        """The stored meta (``status``, ``result``, and with result_extended ``name``, ``args``,
        ``kwargs``, ``queue``...), or None when the backend holds nothing for the task."""
        try:
            meta = self._app.backend.get_task_meta(task_id)
        except Exception as exc:  # backends raise their own client's errors; all mean "unreadable"
            reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
            if self._secret:
                reason = reason.replace(self._secret, "***")
            raise BackendError(
                f"The result backend at {self.display_url} cannot be read: {reason}."
            ) from exc
        if not meta or (meta.get("status") == "PENDING" and meta.get("result") is None):
            return None
        return dict(meta)
