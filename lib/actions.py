"""The one door through which the console changes the cluster.

Every action, whatever page asks for it, runs the same steps in ``ActionDesk.perform``:

    role check → targets exist and qualify → audit intent → one request per target to Flower
    → audit outcome → a one-line result

A refusal (role, bad parameters, nothing eligible, over the bulk limit) is audited too. An
operation id makes each click one action: a rerun or a double confirm with the same id finds
the audit row already written and sends nothing. POSTs are never retried (lib/flower.py).

The bulk limit is checked on the count alone, before any target is looked up (issue 10). A bulk
action stops sending after ``MAX_FAILURES_IN_A_ROW`` failed sends in a row or once its time
budget (``OPS_BULK_BUDGET_SECONDS``) is spent; each target's outcome (sent, failed and why, not
tried, skipped and why) is audited as it happens, and the result lists what was not sent so the
operator can send it as a new, confirmed action. A task already retried is retried again only
when the caller names that earlier retry (``params["retry_again"]``: its audit ids); the claim is
atomic in the audit file. If the audit log cannot record an outcome, the result says what was
sent and the row stays "outcome unknown" (``perform`` never raises for the audit either).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import states

from lib.audit import UNKNOWN, AuditError, AuditLog, DuplicateOperation
from lib.auth import Actor, allows
from lib.broker import ResultBackend
from lib.errors import ActionRefused, ConsoleError, FlowerError, FlowerNotFound
from lib.flower import FlowerClient
from lib.frames import effective_state
from lib.original_call import RetryRefused, original_call

__all__ = ["ACTIONS", "SIGNALS", "ActionDesk", "ActionResult", "ActionSpec", "Preview"]

log = logging.getLogger(__name__)

SIGNALS = ("SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT", "SIGUSR1")
#: Celery's rate-limit syntax: a number of tasks, optionally per second, minute or hour.
RATE = re.compile(r"^\d+(\.\d+)?(/[smh])?$")
SAMPLE_SIZE = 10
#: A bulk action stops after this many failed sends in a row: Flower has stopped answering.
MAX_FAILURES_IN_A_ROW = 3
#: Words a skip reason may start with that stay capitalized inside a sentence.
PROPER_NOUNS = ("Flower", "Celery", "OPS_")


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    role: str  # the weakest role allowed to do it
    target: str  # "task", "worker" or "task_type"


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("revoke", "Revoke", "operator", "task"),
        ActionSpec("terminate", "Terminate", "operator", "task"),
        ActionSpec("retry", "Retry", "operator", "task"),
        ActionSpec("pool_grow", "Grow pool", "admin", "worker"),
        ActionSpec("pool_shrink", "Shrink pool", "admin", "worker"),
        ActionSpec("pool_autoscale", "Autoscale", "admin", "worker"),
        ActionSpec("pool_restart", "Restart pool", "admin", "worker"),
        ActionSpec("add_consumer", "Add consumer", "admin", "worker"),
        ActionSpec("cancel_consumer", "Cancel consumer", "admin", "worker"),
        ActionSpec("shutdown", "Shut down", "admin", "worker"),
        ActionSpec("rate_limit", "Set rate limit", "admin", "task_type"),
        ActionSpec("time_limit", "Set time limits", "admin", "task_type"),
        # Not sent to Flower: shows one task's unmasked values; audited like any action.
        ActionSpec("reveal", "Reveal values", "admin", "task"),
    )
}


@dataclass(frozen=True)
class Preview:
    """What a task action would do: the dry run shown before Confirm."""

    action: str
    eligible: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (task id, why)
    sample: tuple[dict, ...] = ()

    @property
    def count(self) -> int:
        return len(self.eligible)

    @property
    def reasons(self) -> tuple[str, ...]:
        """One full sentence per distinct reason: ``"2 tasks skipped: already finished (SUCCESS)."``"""
        counts = Counter(why for _, why in self.skipped)
        return tuple(f"{_tasks(n)} skipped: {_sentence(why)}" for why, n in counts.items())


@dataclass(frozen=True)
class ActionResult:
    action: str
    outcome: str  # sent, failed, refused, partial
    message: str
    audit_id: int | None
    links: dict[str, str] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()  # targets never tried because sending stopped early

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"


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
    ):
        self.client = client
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

    def preview(self, action: str, task_ids: Iterable[str]) -> Preview:
        """Which of ``task_ids`` the task action would act on, and why the others are skipped."""
        eligible: list[str] = []
        skipped: list[tuple[str, str]] = []
        sample: list[dict] = []
        for task_id in dict.fromkeys(task_ids):
            try:
                task = self._task(task_id)
            except ConsoleError as exc:  # Flower down while a task the sync lost is looked up
                skipped.append((task_id, f"it could not be looked up: {exc}"))
                continue
            reason = "unknown to Flower" if task is None else self._why_not(action, task)
            if reason:
                skipped.append((task_id, reason))
                continue
            eligible.append(task_id)
            if len(sample) < SAMPLE_SIZE:
                sample.append(_sample_row(task))
        return Preview(action, tuple(eligible), tuple(skipped), tuple(sample))

    def _why_not(self, action: str, task: Mapping) -> str:
        if action in ("revoke", "terminate"):
            if task.get("state") in states.READY_STATES:
                return f"already finished ({task.get('state')})"
            return ""
        if action == "retry":
            try:
                original_call(task, self._meta(task["uuid"]))
            except RetryRefused as exc:
                return str(exc)
        return ""

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
        try:
            spec, preview = self._admit(actor, action, targets, params)
        except ActionRefused as exc:
            return self._refuse(actor, action, targets, params, op_id, str(exc))
        except ConsoleError as exc:  # Flower could not be asked whether the target exists
            return self._refuse(actor, action, targets, params, op_id, str(exc), "failed")
        chosen = list(preview.eligible) if preview else targets
        skipped = dict(preview.skipped) if preview else {}
        again = _acknowledged(params.get("retry_again"))
        try:
            claim = self.audit.claim(
                op_id, actor.user, actor.role, action, chosen, params, len(chosen), skipped, again
            )
        except DuplicateOperation as dup:
            return _from_row(dup.row)
        except AuditError as exc:
            return ActionResult(action, "failed", f"Nothing was sent: {exc}", None)
        held = {t: found[-1].describe() for t, found in claim.held.items()}
        free = [t for t in chosen if t not in held]
        run = self._send(spec, free, params, claim.row_id, progress) if free else _Run()
        outcome, message, status = _summary(spec, free, run, held)
        try:
            if run.audit_error:  # the row stays "outcome unknown": its targets are unrecorded
                raise run.audit_error
            self.audit.record_outcome(claim.row_id, outcome, message, status, run.links)
        except AuditError as exc:
            outcome, message = UNKNOWN, _unrecorded(spec, free, run, exc)
        log.info("%s by %s (%s): %s — %s", action, actor.user, actor.role, outcome, message)
        return ActionResult(action, outcome, message, claim.row_id, run.links, run.not_sent)

    def _admit(
        self, actor: Actor, action: str, targets: list[str], params: dict
    ) -> tuple[ActionSpec, Preview | None]:
        spec = ACTIONS.get(action)
        if spec is None:
            raise ActionRefused(f"There is no action called {action!r}.")
        if not allows(actor.role, spec.role):
            raise ActionRefused(
                f"{actor.user} ({actor.role}) may not {spec.label.lower()}: it needs the "
                f"{spec.role} role."
            )
        if not targets:
            raise ActionRefused("Nothing was selected.")
        _check_params(action, targets, params)
        if spec.target == "worker":
            self._check_worker(targets[0])
            return spec, None
        if spec.target == "task_type":
            self._check_worker(params["worker"])
            return spec, None
        if too_many := self.limit_refusal(len(targets)):  # before any target is looked up
            raise ActionRefused(too_many)
        preview = self.preview(action, targets)
        if not preview.eligible:
            reasons = "; ".join(sorted({why for _, why in preview.skipped}))
            raise ActionRefused(f"None of the selected tasks can be {_past(action)}: {reasons}")
        return spec, preview

    def _check_worker(self, worker: str) -> None:
        # Flower's inspect cache misses workers started after it: refresh before acting.
        try:
            self.client.list_workers(refresh=True, workername=worker)
        except FlowerNotFound:
            raise ActionRefused(f"Flower does not know worker {worker!r}.") from None

    def _refuse(self, actor, action, targets, params, op_id, why, outcome="refused"):
        log.warning("%s by %s (%s) %s: %s", action, actor.user, actor.role, outcome, why)
        try:
            row = self.audit.claim(
                op_id,
                actor.user,
                actor.role,
                action,
                targets,
                params,
                None,
                skipped=dict.fromkeys(targets, why),
            ).row_id
            self.audit.record_outcome(row, outcome, why)
        except DuplicateOperation as dup:
            return _from_row(dup.row)
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
    ) -> _Run:
        """One request per target, each outcome audited as it comes, until done or stopped."""
        run, started, in_a_row = _Run(), self.clock(), 0
        for index, target in enumerate(targets):
            run.stop = self._stop_reason(in_a_row, run, started)
            if run.stop:
                run.not_sent = tuple(targets[index:])
                break
            try:
                reply = self._send_one(spec.name, target, params)
            except ConsoleError as exc:
                run.errors[target], in_a_row = exc, in_a_row + 1
                done = (target, "failed", str(exc), "")
            else:
                run.replies[target], in_a_row = reply, 0
                if spec.name == "retry":
                    run.links[target] = reply
                done = (target, "sent", "", reply)
            if not self._record(run, row, [done]):
                run.not_sent = tuple(targets[index + 1 :])  # what can't be recorded isn't sent
                break
            if progress is not None:
                progress(index + 1, len(targets))
        if run.not_sent and not run.audit_error:
            self._record(run, row, [(t, "not tried", run.stop, "") for t in run.not_sent])
        return run

    def _stop_reason(self, in_a_row: int, run: _Run, started: float) -> str:
        if in_a_row >= MAX_FAILURES_IN_A_ROW:
            last = list(run.errors.values())[-1]
            return f"Flower stopped answering ({in_a_row} sends failed in a row; the last: {last})"
        if self.clock() - started >= self.bulk_budget:
            return f"the time budget of {self.bulk_budget:g} s ran out (OPS_BULK_BUDGET_SECONDS)"
        return ""

    def _record(self, run: _Run, row: int, outcomes: list[tuple[str, str, str, str]]) -> bool:
        try:
            self.audit.record_targets(row, outcomes)
        except AuditError as exc:
            run.audit_error, run.stop = exc, f"the audit log could not record it ({exc})"
            return False
        return True

    def _send_one(self, action: str, target: str, params: dict) -> str:
        client = self.client
        if action == "reveal":
            return "unmasked values shown"
        if action == "revoke":
            return client.revoke(target)
        if action == "terminate":
            return client.revoke(target, terminate=True, signal=params.get("signal", "SIGTERM"))
        if action == "retry":
            task = self._task(target) or {}
            call = original_call(task, self._meta(target))
            return client.send_task(call.name, call.args, call.kwargs, queue=call.queue)
        if action in ("pool_grow", "pool_shrink"):
            return getattr(client, action)(target, int(params.get("n", 1)))
        if action == "pool_autoscale":
            return client.pool_autoscale(target, int(params["min"]), int(params["max"]))
        if action in ("add_consumer", "cancel_consumer"):
            return getattr(client, action)(target, params["queue"])
        if action in ("pool_restart", "shutdown"):
            return getattr(client, action)(target)
        if action == "rate_limit":
            return client.rate_limit(target, params["worker"], params["rate"])
        return client.time_limit(target, params["worker"], params.get("soft"), params.get("hard"))

    def _task(self, task_id: str) -> dict | None:
        try:
            return self.lookup_task(task_id)
        except FlowerNotFound:
            return None

    def _meta(self, task_id: str) -> dict | None:
        if self.backend is None:
            return None
        try:
            return self.backend.task_meta(task_id)
        except ConsoleError as exc:
            log.warning("result backend unreadable, using Flower's reprs: %s", exc)
            return None


def _check_params(action: str, targets: list[str], params: dict) -> None:
    if action == "terminate" and params.get("signal", "SIGTERM") not in SIGNALS:
        raise ActionRefused(f"Signal must be one of {', '.join(SIGNALS)}.")
    if action in ("pool_grow", "pool_shrink") and not _positive_int(params.get("n", 1)):
        raise ActionRefused("The number of processes must be a whole number ≥ 1.")
    if action == "pool_autoscale":
        low, high = params.get("min"), params.get("max")
        if not (_positive_int(low, 0) and _positive_int(high) and int(low) <= int(high)):
            raise ActionRefused("Autoscale needs whole numbers with 0 ≤ min ≤ max and max ≥ 1.")
    if action in ("add_consumer", "cancel_consumer") and not str(params.get("queue", "")).strip():
        raise ActionRefused("Name the queue.")
    if action == "shutdown" and params.get("confirm_name") != targets[0]:
        raise ActionRefused("To shut a worker down, type its exact name to confirm.")
    if action in ("rate_limit", "time_limit") and not params.get("worker"):
        raise ActionRefused("Choose the worker the limit applies to.")
    if action == "rate_limit" and not RATE.match(str(params.get("rate", "")).strip()):
        raise ActionRefused("A rate limit looks like 10/m, 2/s, 100/h or 5 (per second).")
    if action == "time_limit" and not _limits_ok(params.get("soft"), params.get("hard")):
        raise ActionRefused(
            "Time limits are seconds > 0, and the soft limit is below the hard one."
        )


def _positive_int(value: object, minimum: int = 1) -> bool:
    try:
        return int(value) == float(value) and int(value) >= minimum
    except (TypeError, ValueError):
        return False


def _limits_ok(soft: object, hard: object) -> bool:
    given = [v for v in (soft, hard) if v is not None]
    if not given or any(not isinstance(v, int | float) or v <= 0 for v in given):
        return False
    return soft is None or hard is None or soft < hard


def _sample_row(task: Mapping) -> dict:
    """A task as the dialog's sample shows it, in its effective state like every other table."""
    row = {k: task.get(k) for k in ("uuid", "name", "state", "worker")}
    row["state"] = effective_state(task.get("state"), task.get("revoked"))
    return row


def _past(action: str) -> str:
    return {"revoke": "revoked", "terminate": "terminated", "retry": "retried"}.get(action, action)


@dataclass
class _Run:
    """What sending did: replies and errors by target, what was not sent and why."""

    replies: dict[str, str] = field(default_factory=dict)
    errors: dict[str, ConsoleError] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()
    stop: str = ""
    audit_error: AuditError | None = None


def _summary(spec: ActionSpec, targets: list[str], run: _Run, held: dict[str, str]):
    """The audited outcome, the operator's one-line message and the last HTTP status."""
    errors, replies = list(run.errors.values()), list(run.replies.values())
    status = errors[-1].status if errors and isinstance(errors[-1], FlowerError) else 200
    held_text = _held_text(held)
    if not targets:
        return "refused", f"Nothing was sent. {held_text}", None
    if run.not_sent:
        tried = len(targets) - len(run.not_sent)
        message = (
            f"{spec.label} stopped after {tried} of {len(targets)}: {run.stop}; "
            f"{len(run.not_sent)} not sent. {len(replies)} sent, {len(errors)} failed."
        )
    elif not errors and len(targets) == 1:
        reply = replies[0]
        said = f" Flower said: {reply}" if reply and spec.name != "retry" else ""
        target = f"{targets[0]} as {run.links[targets[0]]}" if run.links else targets[0]
        message = f"{spec.label}: {target}.{said}"
    elif not errors:
        message = f"{spec.label}: {len(targets)} done."
    elif not replies:
        message = f"{spec.label} failed. {errors[0]}"
    else:
        message = f"{spec.label}: {len(replies)} of {len(targets)} done; {len(errors)} failed: {errors[0]}"
    outcome = "sent" if replies and not (errors or run.not_sent or held) else "partial"
    outcome = outcome if replies else "failed"
    return outcome, f"{message} {held_text}".strip(), status


def _held_text(held: dict[str, str]) -> str:
    if not held:
        return ""
    first, why = next(iter(held.items()))
    more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
    return (
        f"{_tasks(len(held))} held back: task {first} was {why}{more}. To send another copy, "
        "tick 'Retry again anyway' and confirm."
    )


def _unrecorded(spec: ActionSpec, targets: list[str], run: _Run, exc: AuditError) -> str:
    """The message when the audit log failed after sending: what was sent, what was not."""
    sent = list(run.replies)
    shown = ", ".join(sent[:10]) + (f" and {len(sent) - 10} more" if len(sent) > 10 else "")
    message = (
        f"{spec.label}: sent {len(sent)} of {len(targets)}{f' ({shown})' if sent else ''}, but "
        f"the outcome could not be recorded: {exc} The audit row stays 'outcome unknown'."
    )
    if run.not_sent:
        message += f" {len(run.not_sent)} not sent."
    return message


def _acknowledged(value: object) -> set[int]:
    """The earlier retries' audit ids the operator confirmed retrying again."""
    if not isinstance(value, list | tuple | set):
        return set()
    return {int(v) for v in value if isinstance(v, int) or str(v).isdigit()}


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


def _sentence(why: str) -> str:
    """``why`` continuing a sentence: first letter lowered unless it starts a name; a full stop."""
    text = why.strip()
    if text and not text.startswith(PROPER_NOUNS):
        text = text[0].lower() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _from_row(row) -> ActionResult:
    """The answer to a repeated operation id: what the first click did; nothing is sent."""
    message = row.message or "This action is already under way."
    return ActionResult(row.action, row.outcome_text, message, row.id, row.links)
