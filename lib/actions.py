"""The one door through which the console changes the cluster.

Every action, whatever page asks for it, runs the same steps in ``ActionDesk.perform``:

    role check → targets exist and qualify → audit intent → one request per target to Flower
    → audit outcome → a one-line result

A refusal (role, bad parameters, nothing eligible, over the bulk limit) is audited too. An
operation id makes each click one action: a rerun or a double confirm with the same id finds
the audit row already written and sends nothing. POSTs are never retried (lib/flower.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import states

from lib.audit import AuditLog, DuplicateOperation
from lib.auth import Actor, allows
from lib.broker import ResultBackend
from lib.errors import ConsoleError, FlowerError, FlowerNotFound
from lib.flower import FlowerClient
from lib.retry import RetryRefused, original_call

__all__ = ["ACTIONS", "SIGNALS", "ActionDesk", "ActionResult", "ActionSpec", "Preview"]

log = logging.getLogger(__name__)

SIGNALS = ("SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT", "SIGUSR1")
#: Celery's rate-limit syntax: a number of tasks, optionally per second, minute or hour.
RATE = re.compile(r"^\d+(\.\d+)?(/[smh])?$")
SAMPLE_SIZE = 10


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


class Refused(ConsoleError):
    """The action is not allowed or not possible; nothing was sent."""


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


@dataclass(frozen=True)
class ActionResult:
    action: str
    outcome: str  # sent, failed, refused, partial
    message: str
    audit_id: int | None
    links: dict[str, str] = field(default_factory=dict)

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
    ):
        self.client = client
        self.audit = audit
        self.lookup_task = lookup_task
        self.backend = backend
        self.bulk_limit = bulk_limit

    # -- dry run -----------------------------------------------------------------------------

    def preview(self, action: str, task_ids: Iterable[str]) -> Preview:
        """Which of ``task_ids`` the task action would act on, and why the others are skipped."""
        eligible: list[str] = []
        skipped: list[tuple[str, str]] = []
        sample: list[dict] = []
        for task_id in dict.fromkeys(task_ids):
            task = self._task(task_id)
            reason = "unknown to Flower" if task is None else self._why_not(action, task)
            if reason:
                skipped.append((task_id, reason))
                continue
            eligible.append(task_id)
            if len(sample) < SAMPLE_SIZE:
                sample.append({k: task.get(k) for k in ("uuid", "name", "state", "worker")})
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
    ) -> ActionResult:
        """Do ``action`` on ``targets`` once per ``op_id``, audited; never raises for Flower."""
        targets, params = list(dict.fromkeys(targets)), dict(params or {})
        try:
            spec, preview = self._admit(actor, action, targets, params)
        except Refused as exc:
            return self._refuse(actor, action, targets, params, op_id, str(exc))
        except ConsoleError as exc:  # Flower could not be asked whether the target exists
            return self._refuse(actor, action, targets, params, op_id, str(exc), "failed")
        chosen = list(preview.eligible) if preview else targets
        try:
            row = self.audit.record_intent(
                op_id, actor.user, actor.role, action, chosen, params, len(chosen)
            )
        except DuplicateOperation as dup:
            return _from_row(dup.row)
        outcome, message, status, links = self._send(spec, chosen, params)
        self.audit.record_outcome(row, outcome, message, status, links)
        log.info("%s by %s (%s): %s — %s", action, actor.user, actor.role, outcome, message)
        return ActionResult(action, outcome, message, row, links)

    def _admit(
        self, actor: Actor, action: str, targets: list[str], params: dict
    ) -> tuple[ActionSpec, Preview | None]:
        spec = ACTIONS.get(action)
        if spec is None:
            raise Refused(f"There is no action called {action!r}.")
        if not allows(actor.role, spec.role):
            raise Refused(
                f"{actor.user} ({actor.role}) may not {spec.label.lower()}: it needs the "
                f"{spec.role} role."
            )
        if not targets:
            raise Refused("Nothing was selected.")
        _check_params(action, targets, params)
        if spec.target == "worker":
            self._check_worker(targets[0])
            return spec, None
        if spec.target == "task_type":
            self._check_worker(params["worker"])
            return spec, None
        if len(targets) > self.bulk_limit:
            raise Refused(
                f"{len(targets)} tasks is over the bulk limit of {self.bulk_limit} per action "
                "(OPS_BULK_LIMIT); narrow the selection."
            )
        preview = self.preview(action, targets)
        if not preview.eligible:
            reasons = "; ".join(sorted({why for _, why in preview.skipped}))
            raise Refused(f"None of the selected tasks can be {_past(action)}: {reasons}")
        return spec, preview

    def _check_worker(self, worker: str) -> None:
        # Flower's inspect cache misses workers started after it: refresh before acting.
        try:
            self.client.list_workers(refresh=True, workername=worker)
        except FlowerNotFound:
            raise Refused(f"Flower does not know worker {worker!r}.") from None

    def _refuse(self, actor, action, targets, params, op_id, why, outcome="refused"):
        try:
            row = self.audit.record_intent(op_id, actor.user, actor.role, action, targets, params)
        except DuplicateOperation as dup:
            return _from_row(dup.row)
        self.audit.record_outcome(row, outcome, why)
        log.warning("%s by %s (%s) %s: %s", action, actor.user, actor.role, outcome, why)
        return ActionResult(action, outcome, why, row)

    # -- sending -----------------------------------------------------------------------------

    def _send(self, spec: ActionSpec, targets: list[str], params: dict):
        """One request per target; returns (outcome, message, http status, links)."""
        links: dict[str, str] = {}
        replies: list[str] = []
        errors: list[FlowerError | ConsoleError] = []
        for target in targets:
            try:
                reply = self._send_one(spec.name, target, params)
            except ConsoleError as exc:
                errors.append(exc)
                continue
            if spec.name == "retry":
                links[target] = reply
            replies.append(reply)
        return _summary(spec, targets, replies, errors, links)

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
        raise Refused(f"Signal must be one of {', '.join(SIGNALS)}.")
    if action in ("pool_grow", "pool_shrink") and not _positive_int(params.get("n", 1)):
        raise Refused("The number of processes must be a whole number ≥ 1.")
    if action == "pool_autoscale":
        low, high = params.get("min"), params.get("max")
        if not (_positive_int(low, 0) and _positive_int(high) and int(low) <= int(high)):
            raise Refused("Autoscale needs whole numbers with 0 ≤ min ≤ max and max ≥ 1.")
    if action in ("add_consumer", "cancel_consumer") and not str(params.get("queue", "")).strip():
        raise Refused("Name the queue.")
    if action == "shutdown" and params.get("confirm_name") != targets[0]:
        raise Refused("To shut a worker down, type its exact name to confirm.")
    if action in ("rate_limit", "time_limit") and not params.get("worker"):
        raise Refused("Choose the worker the limit applies to.")
    if action == "rate_limit" and not RATE.match(str(params.get("rate", "")).strip()):
        raise Refused("A rate limit looks like 10/m, 2/s, 100/h or 5 (per second).")
    if action == "time_limit" and not _limits_ok(params.get("soft"), params.get("hard")):
        raise Refused("Time limits are seconds > 0, and the soft limit is below the hard one.")


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


def _past(action: str) -> str:
    return {"revoke": "revoked", "terminate": "terminated", "retry": "retried"}.get(action, action)


def _summary(spec, targets, replies, errors, links):
    status = errors[-1].status if errors and isinstance(errors[-1], FlowerError) else 200
    if not errors:
        if len(targets) == 1:
            said = f" Flower said: {replies[0]}" if replies[0] and spec.name != "retry" else ""
            target = f"{targets[0]} as {links[targets[0]]}" if links else targets[0]
            return "sent", f"{spec.label}: {target}.{said}", 200, links
        return "sent", f"{spec.label}: {len(targets)} done.", 200, links
    if not replies:
        return "failed", f"{spec.label} failed. {errors[0]}", status, links
    message = (
        f"{spec.label}: {len(replies)} of {len(targets)} done; {len(errors)} failed: {errors[0]}"
    )
    return "partial", message, status, links


def _from_row(row) -> ActionResult:
    """The answer to a repeated operation id: what the first click did; nothing is sent."""
    message = row.message or "This action is already under way."
    return ActionResult(row.action, row.outcome_text, message, row.id, row.links)
