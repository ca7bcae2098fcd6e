"""Pause and resume a queue: which workers each is sent to, and the paused state it records.

Pause cancels the queue's consumer on every online worker consuming it now (read fresh from
the workers through Flower: ``/api/workers?refresh=1`` broadcasts an inspect, so a worker that
restarted a moment ago is seen); resume adds it back on the workers the pause recorded. The
desk sends one request per worker and audits each outcome (lib/actions/desk.py); the paused
state lives in the store (``lib.store.pauses``), written after the audit's claim and before any
request, so the collector keeps enforcing it even if the console stops mid-way
(lib/collector/pauses.py).

A queue no online worker consumes now (workers down for a deploy) can be paused too: the pause
is recorded with no worker to send to, and the collector cancels the consumer of any worker that
starts consuming it (and adds that worker to the pause, so resume gives the queue back to it).
Resuming a pause that names no worker just lifts it.

Invariants: a queue already paused is not paused again (the first pause's time and author
stand); a queue not paused is not resumed; neither is possible without the store's pause book.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lib.errors import ActionRefused
from lib.flower import FlowerClient
from lib.store.pauses import PauseBook, QueuePause

__all__ = [
    "NO_CONSUMER_NOTE",
    "NO_WORKER_TO_RESUME",
    "PAUSE_NOTE",
    "RESUME_NOTE",
    "consumers_of",
    "record_pause",
    "record_resume",
    "workers_to_pause",
    "workers_to_resume",
]

PAUSE_NOTE = (
    "Pause cancels this queue's consumer on every worker that consumes it; new messages wait "
    "in the broker until Resume. It does not stop: tasks a worker has already reserved "
    "(prefetched), ETA/countdown tasks a worker holds, nor the few messages a restarting "
    "worker may prefetch before the collector's next poll cancels its consumer again."
)
RESUME_NOTE = "Resume adds the queue's consumer back on the workers that consumed it when paused."
#: Said (dialog and outcome) when no online worker consumes the queue being paused.
NO_CONSUMER_NOTE = (
    "No worker consumes it now; any that starts consuming it will have its consumer cancelled."
)
#: Said when resuming a pause that names no worker (none consumed the queue while it was paused).
NO_WORKER_TO_RESUME = (
    "The pause names no worker to give the queue back to; the collector stops cancelling its "
    "consumer, and workers started with it consume it again when they (re)start."
)
#: Said when the console has no store to keep the paused state in.
NO_BOOK = "The console's store is not available, so a pause could not be kept."


class Pausing(Protocol):
    """What these functions use of the desk."""

    client: FlowerClient
    pauses: PauseBook | None


def consumers_of(client: FlowerClient, queue: str, refresh: bool = True) -> list[str]:
    """The online workers consuming ``queue`` now, by name, from Flower's inspect."""
    online = {name for name, up in client.worker_status().items() if up is True}
    info = client.list_workers(refresh=refresh)
    return sorted(name for name in online if queue in queues_in(info.get(name)))


def queues_in(info: object) -> set[str]:
    """The queue names in one worker's inspect info (``active_queues``)."""
    found = info.get("active_queues") if isinstance(info, Mapping) else None
    return {q.get("name") for q in found or () if isinstance(q, Mapping) and q.get("name")}


def _book(desk: Pausing) -> PauseBook:
    if desk.pauses is None:
        raise ActionRefused(NO_BOOK)
    return desk.pauses


def workers_to_pause(desk: Pausing, queue: str, params: Mapping[str, Any]) -> list[str]:
    """The workers pause is sent to (none when no online worker consumes the queue: the pause
    is only recorded); ``ActionRefused`` when paused already."""
    if earlier := _book(desk).pause_of(queue):
        raise ActionRefused(f"Queue {queue} is already paused (by {earlier.by}).")
    return consumers_of(desk.client, queue)


def workers_to_resume(desk: Pausing, queue: str, params: Mapping[str, Any]) -> list[str]:
    """The workers resume is sent to: those the pause recorded (none: resume only lifts the
    pause); refused when not paused."""
    pause = _book(desk).pause_of(queue)
    if pause is None:
        raise ActionRefused(f"Queue {queue} is not paused.")
    return list(pause.workers)


def record_pause(desk: Pausing, user: str, queue: str, workers: list[str], now: float) -> None:
    """Keep the pause before its first request; refused if another pause got there first."""
    if earlier := _book(desk).pause(QueuePause(queue, now, user, tuple(workers))):
        raise ActionRefused(f"Queue {queue} was paused meanwhile (by {earlier.by}).")


def record_resume(desk: Pausing, user: str, queue: str, workers: list[str], now: float) -> None:
    """Forget the pause before the first add-consumer, so the collector stops cancelling."""
    if _book(desk).resume(queue) is None:
        raise ActionRefused(f"Queue {queue} was resumed meanwhile.")
