"""Paused queues: which queues an operator paused, since when, by whom, and on which workers.

Kept in the store's ``kept_state`` table, one row per paused queue under the key
``paused_queue/<queue>`` (no migration: a pause is a small JSON object read by key, exactly
what that table keeps; the prefix lists them). Being in the store, a pause survives a console
restart and is read by every console and by the collector (``OPS_COLLECTOR=external`` too).

Invariants: a queue is paused exactly while its row exists; ``pause`` refuses to overwrite a
pause (the first one's time and author stand); ``resume`` deletes the row and hands back what
it held, so the workers to resume come from the pause itself; ``add_workers`` only updates an
existing row, so a collector that races a resume never brings the pause back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from lib.store.engine import reading, writing
from lib.store.kept import get_kept
from lib.store.schema import KEPT_STATE
from lib.store.store import Store

__all__ = ["PREFIX", "PauseBook", "QueuePause"]

#: The kept-state key of a paused queue is this prefix + the queue's name.
PREFIX = "paused_queue/"


@dataclass(frozen=True)
class QueuePause:
    """One paused queue: since (epoch s, UTC), by whom, and the workers that consumed it."""

    queue: str
    since: float
    by: str
    workers: tuple[str, ...] = ()

    def to_kept(self) -> dict:
        return {"queue": self.queue, "since": self.since, "by": self.by, "workers": self.workers}

    @classmethod
    def from_kept(cls, value: dict) -> QueuePause | None:
        """The pause kept as ``value``; None for a value of the wrong shape."""
        try:
            workers = tuple(str(w) for w in value.get("workers") or ())
            return cls(str(value["queue"]), float(value["since"]), str(value["by"]), workers)
        except (KeyError, TypeError, ValueError):
            return None


class PauseBook:
    """The paused queues of one store; every method is one transaction."""

    def __init__(self, store: Store):
        self.engine = store.engine

    def paused(self) -> dict[str, QueuePause]:
        """Every paused queue, by name."""
        query = select(KEPT_STATE.c.value).where(
            KEPT_STATE.c.key.startswith(PREFIX, autoescape=True)
        )
        with reading(self.engine) as conn:
            values = conn.execute(query).scalars().all()
        pauses = (QueuePause.from_kept(_object(v)) for v in values)
        return {p.queue: p for p in pauses if p is not None}

    def pause_of(self, queue: str) -> QueuePause | None:
        """The pause of ``queue``, or None when it is not paused."""
        with reading(self.engine) as conn:
            return _read(conn, queue)

    def pause(self, pause: QueuePause) -> QueuePause | None:
        """Record ``pause`` unless the queue is already paused; return the pause that stands
        before this call (None when this one was recorded)."""
        with writing(self.engine) as conn:
            earlier = _read(conn, pause.queue)
            if earlier is None:
                row = {"key": PREFIX + pause.queue, "value": json.dumps(pause.to_kept())}
                conn.execute(insert(KEPT_STATE).values(**row, updated_at=pause.since))
            return earlier

    def resume(self, queue: str) -> QueuePause | None:
        """Forget the pause of ``queue``; return it (None when it was not paused)."""
        with writing(self.engine) as conn:
            earlier = _read(conn, queue)
            conn.execute(delete(KEPT_STATE).where(KEPT_STATE.c.key == PREFIX + queue))
            return earlier

    def add_workers(self, queue: str, workers: Iterable[str], now: float) -> bool:
        """Add ``workers`` to the ones resume gives the queue back to; False when the queue
        is no longer paused (nothing is written then)."""
        with writing(self.engine) as conn:
            earlier = _read(conn, queue)
            if earlier is None:
                return False
            merged = tuple(dict.fromkeys((*earlier.workers, *workers)))
            value = QueuePause(queue, earlier.since, earlier.by, merged).to_kept()
            where = KEPT_STATE.c.key == PREFIX + queue
            conn.execute(
                update(KEPT_STATE).where(where).values(value=json.dumps(value), updated_at=now)
            )
            return True


def _read(conn: Connection, queue: str) -> QueuePause | None:
    value = get_kept(conn, PREFIX + queue)
    return QueuePause.from_kept(value) if value is not None else None


def _object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
