"""Queue depth read straight from the broker, the number Flower's API gets wrong most often.

Redis: Celery's Redis transport keeps a queue as a list named after it, plus one list per
priority step (``<queue>\\x06\\x16<p>`` for p = 3, 6, 9); waiting messages are the sum of their
``LLEN``. Messages already prefetched by workers, and ETA/countdown tasks they hold, are not
waiting and are not counted (the same as Flower). Redis keeps no consumers per queue (workers
poll the lists), so their count is unknown there. RabbitMQ (lib/rabbitmq.py): a passive
``queue_declare`` answers the ready-message and consumer counts without creating anything.

Purge removes a queue's waiting messages and returns how many the broker says it removed:
on Redis the lists are counted and deleted in one MULTI/EXEC, so no message arriving between
the count and the delete is removed uncounted, and the messages are read (``LRANGE``) in that same
MULTI/EXEC so the ids of the tasks removed are known (``purge_tasks``; ``lib.purge_marks``); on
RabbitMQ it is the count queue.purge answers, with no ids.
A queue the broker does not know holds nothing: its depth is 0 and purging it removes 0.

Every broker failure is a ``BrokerError``, every result-backend failure a ``BackendError``, each
with the URL shown without its password.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from lib import rabbitmq
from lib.errors import BackendError, BrokerError
from lib.purge_marks import task_id_of
from lib.redact import redact_url

__all__ = [
    "REDIS_PRIORITY_SEPARATOR",
    "BrokerProbe",
    "Purged",
    "QueueStats",
    "ResultBackend",
    "redis_queue_keys",
]

#: kombu's Redis transport: separator and the non-zero priority steps it creates keys for.
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)
REDIS_SCHEMES = ("redis", "rediss")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def redis_queue_keys(queue: str) -> list[str]:
    """The Redis list keys that together hold ``queue``'s waiting messages."""
    return [queue] + [f"{queue}{REDIS_PRIORITY_SEPARATOR}{p}" for p in REDIS_PRIORITY_STEPS]


@dataclass(frozen=True)
class QueueStats:
    """One queue as its broker sees it: waiting messages and consumers (None: not known)."""

    messages: int
    consumers: int | None


@dataclass(frozen=True)
class Purged:
    """What a purge removed: the broker's count, and the removed tasks' ids (None: the broker
    gives none, as RabbitMQ)."""

    removed: int
    task_ids: tuple[str, ...] | None


class BrokerProbe:
    """Reads waiting-message and consumer counts per queue from one broker, and purges."""

    def __init__(self, broker_url: str, timeout: float = 3.0):
        self.url = broker_url
        self.display_url = redact_url(broker_url)
        self.timeout = timeout
        self.scheme = urlsplit(broker_url).scheme.split("+")[0]

    @property
    def supported(self) -> bool:
        return self.scheme in REDIS_SCHEMES + AMQP_SCHEMES

    def queue_depths(self, queues: Iterable[str]) -> dict[str, int]:
        """``{queue: waiting messages}``; a queue the broker does not know counts 0."""
        return {name: stats.messages for name, stats in self.queue_stats(queues).items()}

    def queue_stats(self, queues: Iterable[str]) -> dict[str, QueueStats]:
        """``{queue: QueueStats}``; consumers are None on Redis, which does not know them."""
        names = sorted({q for q in queues if q})
        if self.scheme in AMQP_SCHEMES:
            found = rabbitmq.queue_counts(self.url, names, self.timeout, self._sentence)
            return {name: QueueStats(*found[name]) for name in names}
        counts = self._redis_depths(names)
        return {name: QueueStats(counts[name], None) for name in names}

    def purge(self, queue: str) -> int:
        """Remove ``queue``'s waiting messages; the number the broker reports removed."""
        return self.purge_tasks(queue).removed

    def purge_tasks(self, queue: str) -> Purged:
        """Remove ``queue``'s waiting messages: how many, and (Redis) their tasks' ids."""
        if self.scheme in AMQP_SCHEMES:
            return Purged(rabbitmq.purge(self.url, queue, self.timeout, self._sentence), None)
        keys = redis_queue_keys(queue)
        with self._redis() as client:
            with client.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.llen(key)
                for key in keys:
                    pipe.lrange(key, 0, -1)
                pipe.delete(*keys)
                found = pipe.execute()
        messages = [m for listed in found[len(keys) : 2 * len(keys)] for m in listed]
        ids = tuple(i for i in map(task_id_of, messages) if i is not None)
        return Purged(sum(found[: len(keys)]), ids)

    def _redis_depths(self, names: list[str]) -> dict[str, int]:
        with self._redis() as client:
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    for key in redis_queue_keys(name):
                        pipe.llen(key)
                counts = pipe.execute()
        steps = len(REDIS_PRIORITY_STEPS) + 1
        return {name: sum(counts[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}

    @contextmanager
    def _redis(self) -> Iterator:
        """A Redis client for one read or purge; its failures become one ``BrokerError``."""
        if self.scheme not in REDIS_SCHEMES:
            raise BrokerError(
                f"The console cannot read queues from a '{self.scheme}' broker "
                f"({self.display_url}); Redis and RabbitMQ are supported."
            )
        import redis

        client = redis.Redis.from_url(
            self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
        )
        try:
            yield client
        except redis.RedisError as exc:
            raise BrokerError(self._sentence(exc)) from exc
        finally:
            client.close()

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
