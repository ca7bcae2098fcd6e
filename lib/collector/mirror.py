"""``StoreMirror``: the task sync's ``TaskStore`` written through to the history store.

``lib.sync.TaskSync`` keeps "what Flower holds" in a ``TaskStore``; here that is the history
store itself, plus the set of ids Flower held at the last look (the store's ``in_flower``
rows, read once at start), which the sync's restart and dropped-window checks ask about.

Invariants:

- A full reload never deletes history: it upserts what Flower holds page by page and, once
  the walk ended, marks the rest ``in_flower = False`` (``Store.mark_gone``); they stay with
  their last state.
- The set of held ids changes only after the store's write succeeded, so a failed write leaves
  mirror and store agreeing (the sync then keeps its old watermark and reads again).
- A task retention would delete at once (a success older than ``OPS_RETENTION_SUCCESS_DAYS``,
  anything older than ``OPS_RETENTION_DAYS``) is not written: otherwise each full reload would
  bring back what the last prune removed and count it in the rollups again.
- Writes go in batches of ``BATCH`` tasks, one short transaction each, so a first load of a
  large Flower never holds the store's write lock for long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from lib import frames
from lib.store import Store

__all__ = ["BATCH", "StoreMirror"]

#: Tasks per write transaction: ~1000 rows upsert in tens of ms on SQLite (bench/store.py).
BATCH = 1000
DAY = 86400.0


class StoreMirror:
    """The tasks Flower holds, as the history store records them."""

    def __init__(
        self,
        store: Store,
        retention_days: int,
        success_days: int,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.retention_days = retention_days
        self.success_days = success_days
        self.clock = clock
        self.written = 0  # task rows changed since this mirror was made
        self._held: set[str] = store.flower_uuids()
        #: Called with the rows each write counted finished for the first time, once that write
        #: is committed (``lib.metrics``' counters); None: nobody counts them.
        self.on_finished: Callable[[list[dict]], None] | None = None
        #: Odd tasks Flower holds (``frames.odd_fields``): the store keeps their text, not why.
        self.odd: dict[str, tuple[frozenset, frozenset]] = {}

    def upsert(self, tasks: Iterable[dict]) -> int:
        """Write ``tasks`` (Flower payloads); return how many stored rows changed."""
        tasks = [t for t in tasks if t.get("uuid")]
        changed = self._write(tasks)
        self._held.update(t["uuid"] for t in tasks)
        self.odd.update(frames.odd_fields(tasks))
        return changed

    def keep_only(self, uuids: set[str]) -> None:
        """Flower holds only ``uuids`` now (a full walk ended): mark the others gone."""
        self.store.mark_gone(self._held - uuids)
        self._held &= uuids
        self.odd = {u: odd for u, odd in self.odd.items() if u in uuids}

    def get(self, uuid: str) -> dict | None:
        """The stored row of a task Flower holds, or None."""
        return self.store.task(uuid) if uuid in self._held else None

    def holds(self, uuid: str) -> bool:
        return uuid in self._held

    def uuids(self) -> set[str]:
        return set(self._held)

    def tasks(self) -> list[dict]:
        """The stored rows of every task Flower holds: one read each, for small stores only
        (the sync itself asks ``holds`` and ``uuids``)."""
        return [row for row in map(self.store.task, sorted(self._held)) if row is not None]

    def __len__(self) -> int:
        return len(self._held)

    def _write(self, tasks: list[dict]) -> int:
        now = self.clock()
        kept = [t for t in tasks if self._retained(t, now)]
        changed = 0
        for start in range(0, len(kept), BATCH):
            finished: list[dict] | None = [] if self.on_finished is not None else None
            changed += self.store.upsert_tasks(kept[start : start + BATCH], now, finished)
            if finished:  # committed: a failed write hands over nothing, its retry will
                self.on_finished(finished)
        self.written += changed
        return changed

    def _retained(self, task: dict, now: float) -> bool:
        """Whether retention keeps ``task`` (a task without a timestamp is always kept)."""
        at = task.get("timestamp")
        if not isinstance(at, int | float):
            return True
        if at < now - self.retention_days * DAY:
            return False
        return not (task.get("state") == "SUCCESS" and at < now - self.success_days * DAY)
