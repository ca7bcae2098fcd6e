"""The action desk: the one place that performs an action, whatever page asks for it.

``ActionDesk.perform`` runs the same steps for every declared action (lib/actions/declarations.py):

    role check → the bulk limit (on the count alone) → targets exist and qualify (the dry run)
    → claim: audit intent, atomically → one request per target → audit each target's outcome
    → audit the outcome → a one-line result

A queue action (purge) goes to the broker (``BrokerProbe``), not Flower: refused before the
claim without a usable one; its audit row's preview count is the number of waiting messages
the dialog showed (``params["previewed"]``), its target's reply the number the broker removed;
the ids of the tasks it removed (Redis) are kept with that reply (``lib.purge_marks``).
Pause and resume go to each worker consuming the queue (``ActionSpec.workers_of``): the
workers are the audited targets, each with its own outcome; their ``settle`` keeps the queue's
state in the store (``pauses``) once claimed, before the first request.

A desk acts on ONE cluster (``cluster``, the name in OPS_CLUSTERS_FILE; ``default`` without it):
the role checked is the actor's role on that cluster (``Actor.role_in``: an operator of staging
may be a viewer of production), and each audit row records that role and the cluster. A request
never names another cluster: a ``cluster`` parameter is dropped, the desk's own is used.

A refusal (role, bad parameters, nothing eligible, over the bulk limit) is audited too. An
operation id makes each click one action: a rerun or a double confirm with the same id finds
the audit row already written and sends nothing. POSTs are never retried (lib/flower.py).

A bulk action stops sending after ``MAX_FAILURES_IN_A_ROW`` failed sends in a row or once its
time budget (``OPS_BULK_BUDGET_SECONDS``) is spent; each target's outcome (sent, failed and why,
not tried, skipped and why) is audited as it happens, and the result lists what was not sent so
the operator can send it as a new, confirmed action. A task already retried is retried again
only when the caller names that earlier retry (``params["retry_again"]``: its audit ids); the
claim is atomic in the audit file. If the audit log cannot record an outcome, the result says
what was sent and the row stays "outcome unknown" (``perform`` never raises for the audit
either).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lib.actions.checks import broker_refusal, in_flower, orphaned
from lib.actions.declarations import ACTIONS, ActionSpec
from lib.actions.outcomes import (
    ActionResult,
    Preview,
    Run,
    acknowledged,
    from_row,
    sample_row,
    summary,
    unrecorded,
)
from lib.audit import UNKNOWN, AuditError, AuditLog, DuplicateOperation
from lib.auth import Actor, allows
from lib.broker import BrokerProbe, ResultBackend
from lib.clusters import DEFAULT_CLUSTER
from lib.errors import ActionRefused, ConsoleError, FlowerNotFound
from lib.flower import FlowerClient
from lib.purge_marks import PurgedReply
from lib.store import Store
from lib.store.pauses import PauseBook

__all__ = ["MAX_FAILURES_IN_A_ROW", "ActionDesk"]

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10
#: A bulk action stops after this many failed sends in a row: Flower has stopped answering.
MAX_FAILURES_IN_A_ROW = 3


class ActionDesk:
    """Performs audited actions on one cluster through its Flower."""

    def __init__(
        self,
        client: FlowerClient,
        audit: AuditLog,
        lookup_task: Callable[[str], dict | None],
        backend: ResultBackend | None = None,
        bulk_limit: int = 500,
        bulk_budget: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        broker: BrokerProbe | None = None,
        pauses: PauseBook | None = None,
        store: Store | None = None,
        cluster: str = DEFAULT_CLUSTER,
    ):
        self.client = client
        self.cluster = cluster  # every action of this desk acts on this cluster, and says so
        self.store = store  # alert silences and acknowledgements (lib/actions/alerting.py)
        self.broker = broker
        self.pauses = pauses
        self.audit = audit
        self.lookup_task = lookup_task
        self.backend = backend
        self.bulk_limit = bulk_limit
        self.bulk_budget = bulk_budget
        self.clock = clock

    def limit_refusal(self, count: int) -> str:
        """Why ``count`` tasks are too many for one action, or "" when they are not."""
        if count <= self.bulk_limit:
            return ""
        return (
            f"{count} tasks is over the bulk limit of {self.bulk_limit} per action "
            "(OPS_BULK_LIMIT); narrow the selection."
        )

    # -- dry run -----------------------------------------------------------------------------

    def broker_refusal(self) -> str:
        """Why queue actions (purge) can't be done on this broker, or "" (no I/O)."""
        return broker_refusal(self.broker)

    def queue_depth(self, queue: str) -> int:
        """The messages waiting in ``queue`` now, read from the broker: what purge would remove.

        ``ActionRefused`` without a usable broker, ``BrokerError`` when it can't be read."""
        self._check_queue(queue)
        return self.broker.queue_stats([queue])[queue].messages

    def _check_queue(self, queue: str) -> None:
        if not queue.strip():  # a crafted request: the broker would be asked for key ""
            raise ActionRefused("Name the queue.")
        if why := self.broker_refusal():
            raise ActionRefused(why)

    def preview(self, action: str, task_ids: Iterable[str]) -> Preview:
        """Which of ``task_ids`` the task action would act on, and why the others are skipped."""
        spec = ACTIONS[action]
        eligible: list[str] = []
        skipped: list[tuple[str, str]] = []
        sample: list[dict] = []
        gone: list[str] = []
        lost: list[str] = []  # flagged orphaned: a Retry of one is said before the click
        for task_id in dict.fromkeys(task_ids):
            try:
                task = self.task(task_id)
            except ConsoleError as exc:  # Flower down while a task the sync lost is looked up
                skipped.append((task_id, f"it could not be looked up: {exc}"))
                continue
            reason = "unknown to Flower" if task is None else spec.skip_reason(self, task)
            if reason:
                skipped.append((task_id, reason))
                continue
            eligible.append(task_id)
            if not in_flower(task):
                gone.append(task_id)
            if orphaned(task):
                lost.append(task_id)
            if len(sample) < SAMPLE_SIZE:
                sample.append(sample_row(task))
        found = (tuple(eligible), tuple(skipped), tuple(sample), tuple(gone), tuple(lost))
        return Preview(action, *found)

    # -- the door ----------------------------------------------------------------------------

    def perform(
        self,
        actor: Actor,
        action: str,
        targets: Iterable[str],
        params: Mapping[str, Any] | None,
        op_id: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> ActionResult:
        """Do ``action`` on ``targets`` once per ``op_id``, audited; never raises for Flower.

        ``progress(done, total)`` is called after each target is tried.
        """
        targets, params = list(dict.fromkeys(targets)), dict(params or {})
        params.pop("cluster", None)  # the desk's cluster, never one the request names
        try:
            spec, preview = self._admit(actor, action, targets, params)
        except ActionRefused as exc:
            return self._refuse(actor, action, targets, params, op_id, str(exc))
        except ConsoleError as exc:  # Flower could not be asked whether the target exists
            return self._refuse(actor, action, targets, params, op_id, str(exc), "failed")
        chosen = list(preview.eligible) if preview else targets
        skipped = dict(preview.skipped) if preview else {}
        again = acknowledged(params.get(spec.repeat_param)) if spec.repeat_param else set()
        # A purge is audited with the messages the dialog showed; other actions, their targets.
        purge = spec.target == "queue" and spec.workers_of is None
        count = int(params["previewed"]) if purge else len(chosen)
        try:
            who = (actor.user, self.role_of(actor))
            claim = self.audit.claim(
                op_id, *who, action, chosen, params, count, skipped, again, cluster=self.cluster
            )
        except DuplicateOperation as dup:
            return from_row(dup.row)
        except AuditError as exc:
            return ActionResult(action, "failed", f"Nothing was sent: {exc}", None)
        held = {t: found[-1].describe() for t, found in claim.held.items()}
        free = [t for t in chosen if t not in held]
        if unsettled := self._settle(spec, actor, params, free, claim.row_id):
            return unsettled
        run = self._send(spec, free, params, claim.row_id, progress) if free else Run()
        outcome, message, status = summary(spec, free, run, held, params.get("queue", ""))
        try:
            if run.audit_error:  # the row stays "outcome unknown": its targets are unrecorded
                raise run.audit_error
            self.audit.record_outcome(claim.row_id, outcome, message, status, run.links)
        except AuditError as exc:
            outcome, message = UNKNOWN, unrecorded(spec, free, run, exc)
        log.info("%s by %s: %s — %s", action, self.who(actor), outcome, message)
        return ActionResult(action, outcome, message, claim.row_id, run.links, run.not_sent)

    def _admit(
        self, actor: Actor, action: str, targets: list[str], params: dict
    ) -> tuple[ActionSpec, Preview | None]:
        spec = ACTIONS.get(action)
        if spec is None:
            raise ActionRefused(f"There is no action called {action!r}.")
        if not allows(self.role_of(actor), spec.role):
            raise ActionRefused(
                f"{self.who(actor)} may not {spec.label.lower()}: it needs the {spec.role} role."
            )
        if not targets:
            raise ActionRefused("Nothing was selected.")
        if why := spec.refusal(targets, params):
            raise ActionRefused(why)
        if spec.target == "alert":  # the store's alert tables: who acts is who is recorded
            params["by"] = actor.user
            return spec, None
        if spec.target == "worker":
            self._check_worker(targets[0])
            return spec, None
        if spec.target == "task_type":
            self._check_worker(params["worker"])
            return spec, None
        if spec.workers_of is not None:
            return spec, self._fan_out(spec, targets, params)
        if spec.target == "queue":
            self._check_queue(targets[0])
            return spec, None
        if too_many := self.limit_refusal(len(targets)):  # before any target is looked up
            raise ActionRefused(too_many)
        preview = self.preview(action, targets)
        if not preview.eligible:
            reasons = "; ".join(sorted({why for _, why in preview.skipped}))
            raise ActionRefused(
                f"None of the selected tasks can be {spec.past or spec.name}: {reasons}"
            )
        return spec, preview

    def _fan_out(self, spec: ActionSpec, targets: list[str], params: dict) -> Preview:
        """A queue action sent to workers: the queue becomes the parameter, its workers the
        targets (pause: those consuming it now; resume: those the pause recorded)."""
        if len(targets) != 1 or not targets[0].strip():
            raise ActionRefused("Name one queue.")
        params["queue"] = targets[0]
        return Preview(spec.name, tuple(spec.workers_of(self, targets[0], params)), ())

    def _settle(
        self, spec: ActionSpec, actor: Actor, params: dict, workers: list[str], row: int
    ) -> ActionResult | None:
        """Record a queue action's new state before its first request; the failed result
        (nothing sent, audited) when it can't be recorded, else None."""
        if spec.settle is None:
            return None
        try:
            spec.settle(self, actor.user, params["queue"], workers, time.time())
        except ConsoleError as exc:
            message = f"Nothing was sent: {exc}"
            outcome = "refused" if isinstance(exc, ActionRefused) else "failed"
            try:
                self.audit.record_targets(row, [(w, "not tried", str(exc), "") for w in workers])
                self.audit.record_outcome(row, outcome, message)
            except AuditError as audit_exc:
                message = f"{message} (Not recorded: {audit_exc})"
            return ActionResult(spec.name, outcome, message, row)
        return None

    def _check_worker(self, worker: str) -> None:
        # Flower's inspect cache misses workers started after it: refresh before acting.
        try:
            self.client.list_workers(refresh=True, workername=worker)
        except FlowerNotFound:
            raise ActionRefused(f"Flower does not know worker {worker!r}.") from None

    def role_of(self, actor: Actor) -> str:
        """The role ``actor`` has on this desk's cluster: the one every check here uses."""
        return actor.role_in(self.cluster)

    def who(self, actor: Actor) -> str:
        """``"olga (viewer on production)"``: the actor as refusals and the log name them."""
        return f"{actor.user} ({self.role_of(actor)} on {self.cluster})"

    def _refuse(self, actor, action, targets, params, op_id, why, outcome="refused"):
        log.warning("%s by %s %s: %s", action, self.who(actor), outcome, why)
        try:
            row = self.audit.claim(
                op_id,
                actor.user,
                self.role_of(actor),
                action,
                targets,
                params,
                None,
                skipped=dict.fromkeys(targets, why),
                cluster=self.cluster,
            ).row_id
            self.audit.record_outcome(row, outcome, why)
        except DuplicateOperation as dup:
            return from_row(dup.row)
        except AuditError as exc:
            return ActionResult(action, outcome, f"{why} (Not recorded: {exc})", None)
        return ActionResult(action, outcome, why, row)

    # -- sending -----------------------------------------------------------------------------

    def _send(
        self,
        spec: ActionSpec,
        targets: list[str],
        params: dict,
        row: int,
        progress: Callable[[int, int], None] | None,
    ) -> Run:
        """One request per target, each outcome audited as it comes, until done or stopped."""
        run, started, in_a_row = Run(), self.clock(), 0
        for index, target in enumerate(targets):
            run.stop = self._stop_reason(in_a_row, run, started)
            if run.stop:
                run.not_sent = tuple(targets[index:])
                break
            try:
                reply = spec.send(self, target, params)
            except ConsoleError as exc:
                run.errors[target], in_a_row = exc, in_a_row + 1
                done = (target, "failed", str(exc), "")
            else:
                run.replies[target], in_a_row = reply, 0
                if spec.links_reply:
                    run.links[target] = reply
                done = (target, "sent", "", reply)
            # A purge's reply carries the removed tasks' ids: kept with its outcome (purge marks).
            said = done[3]  # a failed send has no reply
            purged = {target: said.task_ids} if isinstance(said, PurgedReply) else None
            if not self._record(run, row, [done], purged):
                run.not_sent = tuple(targets[index + 1 :])  # what can't be recorded isn't sent
                break
            if progress is not None:
                progress(index + 1, len(targets))
        if run.not_sent and not run.audit_error:
            self._record(run, row, [(t, "not tried", run.stop, "") for t in run.not_sent])
        return run

    def _stop_reason(self, in_a_row: int, run: Run, started: float) -> str:
        if in_a_row >= MAX_FAILURES_IN_A_ROW:
            last = list(run.errors.values())[-1]
            return f"Flower stopped answering ({in_a_row} sends failed in a row; the last: {last})"
        if self.clock() - started >= self.bulk_budget:
            return f"the time budget of {self.bulk_budget:g} s ran out (OPS_BULK_BUDGET_SECONDS)"
        return ""

    def _record(
        self,
        run: Run,
        row: int,
        outcomes: list[tuple[str, str, str, str]],
        purged: dict[str, tuple[str, ...]] | None = None,
    ) -> bool:
        try:
            if purged:
                self.audit.record_targets(row, outcomes, purged)
            else:
                self.audit.record_targets(row, outcomes)
        except AuditError as exc:
            run.audit_error, run.stop = exc, f"the audit log could not record it ({exc})"
            return False
        return True

    def task(self, task_id: str) -> dict | None:
        """Flower's task object, or None when Flower does not know it."""
        try:
            return self.lookup_task(task_id)
        except FlowerNotFound:
            return None

    def meta(self, task_id: str) -> dict | None:
        """The task's result-backend meta, or None (no backend, nothing stored, unreadable)."""
        if self.backend is None:
            return None
        try:
            return self.backend.task_meta(task_id)
        except ConsoleError as exc:
            log.warning("result backend unreadable, using Flower's reprs: %s", exc)
            return None
