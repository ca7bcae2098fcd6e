"""The collector keeps paused queues paused: each poll, a worker found consuming a paused queue
gets its consumer cancelled again, audited with the actor "collector".

A worker that starts, or restarts under the same name, while a queue is paused consumes it
again (its ``-Q`` queues). The workers frame of the poll names candidates; each is inspected
again on its own (``/api/workers?refresh=1&workername=``) before anything is sent, because
the frame's queues come from Flower's inspect cache, which may predate a cancel (the pause's
own, a minute ago). The fresh answer goes back into the reader's cache either way, so a
verified worker is not asked again. The reader refreshes that cache at once for a worker whose
heartbeat pid differs from its inspected one (a restart under the same name:
lib/readers.py), so a restarted worker is seen within one poll.

Each cancel is audited in the console's one audit log (``audit_url``: OPS_STORE_URL, shared by
every cluster; not the cluster's own namespace) as an action on the keeper's cluster.

Invariants: nothing is sent without an audit row written first (claim → send → outcome, like
the action desk); a queue resumed meanwhile is never paused again (``PauseBook.add_workers``
writes only while the pause stands); a Flower failure for one worker is that worker's failed
outcome, not the poll's end.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pandas as pd

from lib.actions.pausing import queues_in
from lib.audit import AuditLog
from lib.clusters import DEFAULT_CLUSTER
from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.store import Store
from lib.store.pauses import PauseBook

__all__ = ["ACTOR", "PauseKeeper"]

log = logging.getLogger(__name__)

#: Who the audit log names for what the collector does on its own.
ACTOR, ROLE = "collector", "system"


class PauseKeeper:
    """Enforces the store's paused queues on one cluster's workers."""

    def __init__(
        self,
        client: FlowerClient,
        store: Store,
        clock: Callable[[], float],
        audit_url: str | None = None,
        cluster: str = DEFAULT_CLUSTER,
    ):
        self.client, self.clock, self.cluster = client, clock, cluster
        self.book = PauseBook(store)
        self._url = audit_url or store.url  # the shared audit log (the store's, by default)
        self._audit: AuditLog | None = None  # opened at the first enforcement: most polls have none

    def enforce(self, workers: pd.DataFrame | None, remember: Callable[[dict], None]) -> int:
        """Cancel paused queues' consumers found in ``workers``; return how many were cancelled.

        ``remember(info)`` puts a fresh inspect answer (``{worker: info}``) into the reader's cache.
        """
        pauses = self.book.paused()
        if not pauses or workers is None or workers.empty:
            return 0
        cancelled = 0
        for worker, queues in _online_queues(workers).items():
            paused = [q for q in pauses if q in queues]
            if not paused:
                continue
            try:
                cancelled += self._enforce_on(worker, paused, remember)
            except ConsoleError as exc:  # this worker's inspect failed: the next poll tries again
                log.warning("paused queues not checked on %s: %s", worker, exc)
        return cancelled

    def _enforce_on(self, worker: str, paused: list[str], remember: Callable[[dict], None]) -> int:
        fresh = self.client.list_workers(refresh=True, workername=worker)
        remember(fresh)
        consumed = queues_in(fresh.get(worker))
        still = [q for q in paused if q in consumed]
        for queue in still:
            self._cancel(worker, queue)
        if still:  # the cache must not keep offering what was just cancelled
            remember(self.client.list_workers(refresh=True, workername=worker))
        return len(still)

    def _cancel(self, worker: str, queue: str) -> None:
        audit = self._audit_log()
        params = {"queue": queue, "why": "the queue is paused; the worker consumed it again"}
        op_id = f"collector-pause-{uuid.uuid4()}"
        row = audit.claim(
            op_id, ACTOR, ROLE, "pause", [worker], params, 1, cluster=self.cluster
        ).row_id
        try:
            reply = self.client.cancel_consumer(worker, queue)
        except ConsoleError as exc:
            audit.record_targets(row, [(worker, "failed", str(exc), "")])
            audit.record_outcome(row, "failed", f"Pause kept: {worker} failed. {exc}")
            return
        audit.record_targets(row, [(worker, "sent", "", reply)])
        self.book.add_workers(queue, [worker], self.clock())  # resume gives it back too
        message = (
            f"Pause kept: {queue}'s consumer cancelled again on {worker}. Flower said: {reply}"
        )
        audit.record_outcome(row, "sent", message)
        log.info("%s", message)

    def _audit_log(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog(self._url)
        return self._audit


def _online_queues(workers: pd.DataFrame) -> dict[str, set[str]]:
    """Each online worker's queues, from the workers frame's ``queues`` text."""
    online = workers[workers["online"].astype(bool)]
    return {
        str(worker): set(str(queues).split(", ")) if pd.notna(queues) else set()
        for worker, queues in zip(online["worker"], online["queues"], strict=True)
    }
