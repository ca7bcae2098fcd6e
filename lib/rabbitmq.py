"""A RabbitMQ broker's queues over AMQP: waiting messages and consumers, and purge.

A passive ``queue_declare`` answers a queue's ready-message count (messages delivered to a
consumer and not yet acknowledged are not waiting and are not counted) and its consumer count,
and creates nothing. A queue the node does not have answers NOT_FOUND, which closes the channel:
each queue gets its own channel, and a missing queue counts as empty (0 messages, 0 consumers)
and purges 0, as on Redis. Every other failure (node down, credentials or vhost refused, a
channel error that is not NOT_FOUND) is one ``BrokerError`` sentence made by the caller's
``sentence`` (which keeps the password out of it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from lib.errors import BrokerError

__all__ = ["purge", "queue_counts"]

Sentence = Callable[[BaseException], str]
T = TypeVar("T")


def queue_counts(
    url: str, names: list[str], timeout: float, sentence: Sentence
) -> dict[str, tuple[int, int]]:
    """``{queue: (waiting messages, consumers)}`` for every name, by passive declare."""

    def declare(channel, name: str) -> tuple[int, int]:
        declared = channel.queue_declare(name, passive=True)
        return declared.message_count, declared.consumer_count

    with _connection(url, timeout, sentence) as conn:
        return {name: _on_queue(conn, name, declare, (0, 0), sentence) for name in names}


def purge(url: str, queue: str, timeout: float, sentence: Sentence) -> int:
    """Purge ``queue``; the number of messages the node reports it removed."""
    with _connection(url, timeout, sentence) as conn:
        removed = _on_queue(conn, queue, lambda ch, name: ch.queue_purge(name), 0, sentence)
    return int(removed or 0)


@contextmanager
def _connection(url: str, timeout: float, sentence: Sentence) -> Iterator:
    """An open connection; connecting and logging in fail as a ``BrokerError``."""
    from kombu import Connection
    from kombu.exceptions import OperationalError

    conn = Connection(url, connect_timeout=timeout)
    refused = (OperationalError, *conn.connection_errors, *conn.channel_errors)
    try:
        # Login refusals arrive as channel-class errors (ACCESS_REFUSED): all mean "unreadable".
        conn.connect()
        yield conn
    except refused as exc:
        raise BrokerError(sentence(exc)) from exc
    finally:
        conn.release()


def _on_queue(conn, name: str, operation: Callable, missing: T, sentence: Sentence) -> T:
    """``operation(channel, name)`` on a channel of its own; ``missing`` when the node has no
    such queue (NOT_FOUND closes that channel, so the next queue gets a fresh one)."""
    from amqp.exceptions import NotFound

    channel = conn.channel()
    try:
        return operation(channel, name)
    except NotFound:
        return missing
    except conn.channel_errors as exc:
        raise BrokerError(sentence(exc)) from exc
    finally:
        if channel.is_open:
            channel.close()
