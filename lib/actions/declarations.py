"""Every action the console can take, each declared once: adding one means adding one entry.

An ``ActionSpec`` says who may do it (the weakest role), what it acts on (``task``, ``worker``
or ``task_type``), how its targets are checked (parameter checks, and for task actions which
tasks qualify), how one target is sent (``send(cluster, target, params) -> Flower's reply``),
what the control form asks before the button (``form``, grouped in tabs by ``group``) and what
the confirmation dialog asks (``asks``). Purge acts on a ``queue`` through the broker
(``cluster.broker``), not Flower. Pause and resume act on a queue through each worker
consuming it: ``workers_of`` names those workers (the targets the desk sends to and audits, the
queue becomes ``params["queue"]``) and ``settle`` records the queue's new state in the store
after the audit's claim, before the first request (lib/actions/pausing.py). Silence, lift a silence and acknowledge act
on an ``alert`` (``<rule>/<subject>``) by writing the store (lib/actions/alerting.py). The desk (lib/actions/desk.py) and the ui read these
fields; neither names an action.

Invariants: ``ACTIONS`` keeps declaration order (the control tabs and their buttons follow it);
a check or eligibility rule never sends anything; ``send`` makes exactly one request (POSTs are
never retried: lib/flower.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lib.actions import alerting, checks, pausing
from lib.actions.checks import SIGNALS, Check, Cluster, Eligibility
from lib.actions.inputs import Choice, Input, Number, RetryAgain, Seconds, Text, TypeName
from lib.errors import ActionRefused
from lib.purge_marks import PurgedReply

__all__ = ["ACTIONS", "CONSUMERS", "ActionSpec", "Send", "Settle", "WorkersOf", "control_groups"]

#: The worker control tabs, in the order the declarations below first name them.
POOL, CONSUMERS, TASK_LIMITS, SHUTDOWN = "Pool", "Consumers", "Task limits", "Shut down"


class Send(Protocol):
    def __call__(self, cluster: Cluster, target: str, params: Mapping[str, Any]) -> str: ...


class WorkersOf(Protocol):
    """A queue action's workers: ``ActionRefused`` when there is none to act on."""

    def __call__(self, cluster: Any, queue: str, params: Mapping[str, Any]) -> list[str]: ...


class Settle(Protocol):
    """Record a queue action's new state (who, queue, workers, epoch s) before sending."""

    def __call__(
        self, cluster: Any, user: str, queue: str, workers: list[str], now: float
    ) -> None: ...


@dataclass(frozen=True)
class ActionSpec:
    """One action: who, on what, checked how, sent how, asking what."""

    name: str
    label: str  # the button; the dialog's title is "<label>?"
    role: str  # the weakest role allowed to do it
    #: "task", "worker", "task_type" (params["worker"] names the worker), "queue" or "alert"
    target: str
    send: Send
    checks: tuple[Check, ...] = ()
    why_not: Eligibility | None = None  # task actions: why a task is skipped, "" if it qualifies
    form: tuple[Input, ...] = ()  # asked on the control form, before the button
    asks: tuple[Input, ...] = ()  # asked in the confirmation dialog
    group: str = ""  # the control tab holding its button; "" when pages place it
    note: str = ""  # said above its button on the control form
    past: str = ""  # "None of the selected tasks can be <past>: ..."
    links_reply: bool = False  # the reply is a new task's id: audited as a link, not quoted
    reveals: bool = False  # on success the ui shows the task's unmasked values
    gone: str = ""  # task actions: what it can still do to a task Flower no longer holds
    replier: str = "Flower"  # who answers ``send``: the result quotes "<replier> said: ..."
    workers_of: WorkersOf | None = None  # queue actions sent to workers: which ones
    settle: Settle | None = None  # records the queue's new state before the first request
    unsent: str = ""  # settled actions: why recording it was all there was to do (no worker)
    in_store: bool = False  # it writes the console's own store only: no poll shows it

    def refusal(self, targets: list[str], params: Mapping[str, Any]) -> str:
        """Why these parameters can't be used, or ""."""
        return next((why for check in self.checks if (why := check(targets, params))), "")

    def skip_reason(self, cluster: Cluster, task: Mapping[str, Any]) -> str:
        """Why this task is skipped, or "" when the action applies to it."""
        return self.why_not(cluster, task) if self.why_not else ""

    @property
    def repeat_param(self) -> str:
        """The parameter carrying acknowledged earlier actions (``RetryAgain``), or ""."""
        return next((item.param for item in self.asks if isinstance(item, RetryAgain)), "")

    @property
    def asked(self) -> frozenset[str]:
        """The parameters the dialog fills: asked again for each new confirmation."""
        return frozenset(item.param for item in self.asks)


def _purge(cluster: Cluster, queue: str, params: Mapping[str, Any]) -> str:
    # The desk refuses before the claim without a usable broker; this guards a direct call.
    if why := checks.broker_refusal(cluster.broker):
        raise ActionRefused(why)
    purged = cluster.broker.purge_tasks(queue)
    said = f"{_messages(purged.removed)} removed ({_messages(int(params['previewed']))} previewed)"
    return PurgedReply(said, purged.task_ids or ())  # the desk keeps the ids with the audit


def _messages(count: int) -> str:
    return f"{count:,} message" if count == 1 else f"{count:,} messages"


def _retry(cluster: Cluster, task_id: str, params: Mapping[str, Any]) -> str:
    call = checks.original_of(cluster, cluster.task(task_id) or {"uuid": task_id})
    return cluster.client.send_task(call.name, call.args, call.kwargs, queue=call.queue)


# What each task action can still do to a task Flower no longer holds (reference §8, §11):
# revoke is a broadcast to the workers by id, answered 200 for any id; retry re-sends the
# original call, which the store's masked, capped text may not hold.
GONE_REVOKE = (
    "Revoke still works: it is broadcast to the workers by id, so a worker that still holds "
    "the task drops it; if the task finished meanwhile, nothing happens. The console will "
    "not see the new state unless Flower sees the task again."
)
GONE_TERMINATE = (
    "Terminate still works: it is broadcast to the workers by id, so a worker still running "
    "the task stops it with the signal; if the task finished meanwhile, nothing happens. The "
    "console will not see the new state unless Flower sees the task again."
)
GONE_RETRY = (
    "Retry re-sends the task's original call: from the result backend (workers with "
    "result_extended=True and CELERY_RESULT_BACKEND set), else from the stored arguments "
    "only when the store kept them whole (not masked, not cut); otherwise it is refused."
)
GONE_REVEAL = (
    "Reveal is not possible: the store keeps only masked values and Flower no longer has the "
    "task to ask."
)

PURGE_NOTE = (
    "Purge deletes every message waiting in the queue; it cannot be undone. Tasks a worker "
    "has already reserved (prefetched) and ETA/countdown tasks it holds are not removed."
)

PROCESSES = Number("n", "Processes", minimum=1, default=1)
QUEUE = Text("queue", "Queue")

# fmt: off
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "revoke", "Revoke", "operator", "task",
            send=lambda c, t, p: c.client.revoke(t),
            why_not=checks.unfinished, past="revoked", gone=GONE_REVOKE,
        ),
        ActionSpec(
            "terminate", "Terminate", "operator", "task",
            send=lambda c, t, p: c.client.revoke(
                t, terminate=True, signal=p.get("signal", "SIGTERM")
            ),
            checks=(checks.signal_known,), why_not=checks.unfinished, past="terminated",
            asks=(Choice("signal", "Signal", SIGNALS),), gone=GONE_TERMINATE,
        ),
        ActionSpec(
            "retry", "Retry", "operator", "task", send=_retry,
            why_not=checks.rebuildable, past="retried", links_reply=True,
            asks=(RetryAgain("retry_again", "Retry again anyway"),), gone=GONE_RETRY,
        ),
        ActionSpec(
            "pool_grow", "Grow pool", "admin", "worker",
            send=lambda c, t, p: c.client.pool_grow(t, int(p.get("n", 1))),
            checks=(checks.positive_processes,), form=(PROCESSES,), group=POOL,
        ),
        ActionSpec(
            "pool_shrink", "Shrink pool", "admin", "worker",
            send=lambda c, t, p: c.client.pool_shrink(t, int(p.get("n", 1))),
            checks=(checks.positive_processes,), form=(PROCESSES,), group=POOL,
        ),
        ActionSpec(
            "pool_restart", "Restart pool", "admin", "worker",
            send=lambda c, t, p: c.client.pool_restart(t), group=POOL,
        ),
        ActionSpec(
            "pool_autoscale", "Autoscale", "admin", "worker",
            send=lambda c, t, p: c.client.pool_autoscale(t, int(p["min"]), int(p["max"])),
            checks=(checks.autoscale_bounds,), group=POOL,
            form=(Number("min", "Autoscale min", 0, 1), Number("max", "Autoscale max", 1, 4)),
        ),
        ActionSpec(
            "add_consumer", "Add consumer", "admin", "worker",
            send=lambda c, t, p: c.client.add_consumer(t, p["queue"]),
            checks=(checks.named_queue,), form=(QUEUE,), group=CONSUMERS,
        ),
        ActionSpec(
            "cancel_consumer", "Cancel consumer", "admin", "worker",
            send=lambda c, t, p: c.client.cancel_consumer(t, p["queue"]),
            checks=(checks.named_queue,), form=(QUEUE,), group=CONSUMERS,
        ),
        ActionSpec(
            "rate_limit", "Set rate limit", "admin", "task_type",
            send=lambda c, t, p: c.client.rate_limit(t, p["worker"], p["rate"]),
            checks=(checks.rate_for_a_worker,), group=TASK_LIMITS,
            form=(Text("rate", "Rate limit", placeholder="10/m"),),
        ),
        ActionSpec(
            "time_limit", "Set time limits", "admin", "task_type",
            send=lambda c, t, p: c.client.time_limit(t, p["worker"], p.get("soft"), p.get("hard")),
            checks=(checks.limits_for_a_worker,), group=TASK_LIMITS,
            form=(Seconds("soft", "Soft time limit (s)"), Seconds("hard", "Hard time limit (s)")),
        ),
        ActionSpec(
            "shutdown", "Shut down", "admin", "worker",
            send=lambda c, t, p: c.client.shutdown(t),
            checks=(checks.typed_name,), group=SHUTDOWN,
            note="The worker finishes its running tasks, then exits; nothing restarts it.",
            asks=(TypeName("confirm_name", "Type the worker's name to confirm"),),
        ),
        # Sent to the broker, not Flower: one purge of the queue's waiting messages.
        ActionSpec(
            "purge", "Purge", "admin", "queue", send=_purge, replier="The broker",
            checks=(checks.typed_queue_name, checks.previewed_count),
            note=PURGE_NOTE, asks=(TypeName("confirm_name", "Type the queue's name to confirm"),),
        ),
        # Sent to each worker consuming the queue (Flower's cancel/add-consumer), the paused
        # state kept in the store for the collector to enforce (lib/collector/pauses.py).
        ActionSpec(
            "pause", "Pause", "operator", "queue",
            send=lambda c, t, p: c.client.cancel_consumer(t, p["queue"]),
            workers_of=pausing.workers_to_pause, settle=pausing.record_pause,
            note=pausing.PAUSE_NOTE, unsent=pausing.NO_CONSUMER_NOTE,
        ),
        ActionSpec(
            "resume", "Resume", "operator", "queue",
            send=lambda c, t, p: c.client.add_consumer(t, p["queue"]),
            workers_of=pausing.workers_to_resume, settle=pausing.record_resume,
            note=pausing.RESUME_NOTE, unsent=pausing.NO_WORKER_TO_RESUME,
        ),
        # Not sent to Flower: the Alerts page's writes to the store (lib/actions/alerting.py).
        ActionSpec(
            "silence", "Silence", "operator", "alert", send=alerting.silence,
            checks=(alerting.silence_terms,), replier="The console", in_store=True,
            note=alerting.SILENCE_NOTE,
        ),
        ActionSpec(
            "lift_silence", "Lift silence", "operator", "alert", send=alerting.lift,
            checks=(alerting.lift_terms,), replier="The console", in_store=True,
        ),
        ActionSpec(
            "acknowledge", "Acknowledge", "operator", "alert", send=alerting.acknowledge,
            checks=(alerting.one_alert,), replier="The console", in_store=True,
        ),
        # Not sent to Flower: shows one task's unmasked values; audited like any action.
        ActionSpec(
            "reveal", "Reveal values", "admin", "task",
            send=lambda c, t, p: "unmasked values shown", reveals=True,
            why_not=checks.held_by_flower, past="revealed", gone=GONE_REVEAL,
        ),
    )
}
# fmt: on


def control_groups() -> dict[str, list[ActionSpec]]:
    """The worker controls by tab, tabs and buttons in declaration order."""
    groups: dict[str, list[ActionSpec]] = {}
    for spec in ACTIONS.values():
        if spec.group:
            groups.setdefault(spec.group, []).append(spec)
    return groups
