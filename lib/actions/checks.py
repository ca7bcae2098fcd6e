"""How an action's targets and parameters are checked before anything is sent.

A parameter check is ``check(targets, params) -> str``: the refusal sentence, or "" when the
parameters are usable. An eligibility rule is ``why_not(cluster, task) -> str``: why one task
is skipped (shown in the dry run and audited per target), or "" when it qualifies. Both are
pure apart from what ``cluster`` reads (the task's result-backend meta for Retry).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from celery import states

from lib.broker import BrokerProbe
from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.frames.flags import ORPHANED
from lib.original_call import OriginalCall, RetryRefused, original_call
from lib.redact import MASK
from lib.store.rows import CUT_MARK

__all__ = [
    "SIGNALS",
    "Check",
    "Cluster",
    "Eligibility",
    "autoscale_bounds",
    "broker_refusal",
    "held_by_flower",
    "in_flower",
    "limits_for_a_worker",
    "name_typed",
    "named_queue",
    "original_of",
    "orphaned",
    "positive_processes",
    "previewed_count",
    "rate_for_a_worker",
    "rebuildable",
    "signal_known",
    "typed_name",
    "typed_queue_name",
    "unfinished",
]

SIGNALS = ("SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT", "SIGUSR1")
#: Celery's rate-limit syntax: a number of tasks, optionally per second, minute or hour.
RATE = re.compile(r"^\d+(\.\d+)?(/[smh])?$")


class Cluster(Protocol):
    """What a declaration may use to check and send: the action desk gives itself."""

    client: FlowerClient
    broker: BrokerProbe | None  # None without CELERY_BROKER_URL

    def task(self, task_id: str) -> dict | None: ...

    def meta(self, task_id: str) -> dict | None: ...


#: ``check(targets, params)``: the refusal sentence, or "".
Check = Callable[[list[str], Mapping[str, Any]], str]
#: ``why_not(cluster, task)``: why this task is skipped, or "".
Eligibility = Callable[[Cluster, Mapping[str, Any]], str]


# -- eligibility -----------------------------------------------------------------------------


def unfinished(cluster: Cluster, task: Mapping[str, Any]) -> str:
    """Only a task still queued or running can be revoked or terminated."""
    if task.get("state") in states.READY_STATES:
        return f"already finished ({task.get('state')})"
    return ""


def in_flower(task: Mapping[str, Any]) -> bool:
    """False for a task the store keeps but Flower no longer holds (evicted, or restarted)."""
    return task.get("in_flower", True) is not False


def orphaned(task: Mapping[str, Any]) -> bool:
    """True for a task the console flags orphaned (``lib.frames.flags``, set on the task by
    ``ClusterMonitor.task``): Flower still says STARTED (or PROGRESS), but its worker went
    offline or restarted since it started, so no process runs it and none will finish it.
    Retry accepts such a task (re-sending its call is how it gets done at all); any other
    running one is refused, as a re-send would run it twice. (A worker cut off from the
    broker rather than dead may still run it: the flag's sentence says which worker, and
    when, so the operator judges before confirming.)"""
    flag = task.get("flag")
    return isinstance(flag, Mapping) and flag.get("flag") == ORPHANED


def rebuildable(cluster: Cluster, task: Mapping[str, Any]) -> str:
    """Only a task whose original call is known exactly can be retried, and only once it is
    finished or orphaned (``orphaned``: it still looks running, but nothing runs it)."""
    try:
        original_of(cluster, task)
    except RetryRefused as exc:
        return str(exc)
    return ""


def original_of(cluster: Cluster, task: Mapping[str, Any]) -> OriginalCall:
    """The call Retry re-sends (``RetryRefused`` when unsure): from the result backend, else
    the task's argument text. The store keeps that text masked and capped: for a task Flower
    still holds, Flower's own (unmasked) text is asked for then; for one it no longer holds,
    only the backend or stored text kept whole can rebuild it."""
    meta = cluster.meta(task["uuid"])
    gone = orphaned(task)
    try:
        return original_call(task, meta, gone)
    except RetryRefused as exc:
        if not in_flower(task):
            raise RetryRefused(
                f"{GONE} and the result backend does not hold its original call. {exc}"
            ) from None
        if not _stored_text(task):
            raise
        try:
            live = cluster.client.task_info(task["uuid"])
        except ConsoleError:
            raise exc from None  # Flower could not say: the stored text's reason stands
        return original_call(live, meta, gone)


def _stored_text(task: Mapping[str, Any]) -> bool:
    """True when the argument text is the store's (masked or cut), not Flower's own."""
    texts = [str(task.get(field) or "") for field in ("args", "kwargs")]
    return any(MASK in text or CUT_MARK in text for text in texts)


def held_by_flower(cluster: Cluster, task: Mapping[str, Any]) -> str:
    """Only a task Flower still holds has unmasked values to show: the store keeps masked ones."""
    if in_flower(task):
        return ""
    return f"{GONE} and the store keeps only masked values"


#: The start of every sentence about a task the store keeps but Flower no longer holds.
GONE = "Flower no longer holds this task (evicted or restarted)"


def broker_refusal(broker: BrokerProbe | None) -> str:
    """Why queue actions can't reach this broker (no I/O: a broker down shows when read), or ""."""
    if broker is None:
        return "CELERY_BROKER_URL is not set: the console cannot reach the broker's queues."
    if not broker.supported:
        return (
            f"The broker at {broker.display_url} is not Redis or RabbitMQ: the console acts "
            "on queues only there."
        )
    return ""


# -- parameters ------------------------------------------------------------------------------


def signal_known(targets: list[str], params: Mapping[str, Any]) -> str:
    if params.get("signal", "SIGTERM") not in SIGNALS:
        return f"Signal must be one of {', '.join(SIGNALS)}."
    return ""


def positive_processes(targets: list[str], params: Mapping[str, Any]) -> str:
    if not _whole(params.get("n", 1)):
        return "The number of processes must be a whole number ≥ 1."
    return ""


def autoscale_bounds(targets: list[str], params: Mapping[str, Any]) -> str:
    low, high = params.get("min"), params.get("max")
    if not (_whole(low, 0) and _whole(high) and int(low) <= int(high)):
        return "Autoscale needs whole numbers with 0 ≤ min ≤ max and max ≥ 1."
    return ""


def named_queue(targets: list[str], params: Mapping[str, Any]) -> str:
    return "" if str(params.get("queue", "")).strip() else "Name the queue."


def name_typed(refusal: str) -> Check:
    """A check that one target was chosen and its exact name typed again (``confirm_name``):
    an action this hard to undo acts on one named thing, whatever the request holds."""

    def check(targets: list[str], params: Mapping[str, Any]) -> str:
        if len(targets) != 1 or params.get("confirm_name") != targets[0]:
            return refusal
        return ""

    return check


typed_name = name_typed("To shut a worker down, type its exact name to confirm.")
typed_queue_name = name_typed("To purge a queue, type its exact name to confirm.")


def previewed_count(targets: list[str], params: Mapping[str, Any]) -> str:
    """Purge is audited with the count the dialog showed: a request without it was not previewed."""
    if not _whole(params.get("previewed"), 0):
        return "Purge needs the number of waiting messages the dialog showed; open it again."
    return ""


def rate_for_a_worker(targets: list[str], params: Mapping[str, Any]) -> str:
    if not params.get("worker"):
        return _NO_WORKER
    if not RATE.match(str(params.get("rate", "")).strip()):
        return "A rate limit looks like 10/m, 2/s, 100/h or 5 (per second)."
    return ""


def limits_for_a_worker(targets: list[str], params: Mapping[str, Any]) -> str:
    if not params.get("worker"):
        return _NO_WORKER
    if not _limits_ok(params.get("soft"), params.get("hard")):
        return "Time limits are seconds > 0, and the soft limit is below the hard one."
    return ""


_NO_WORKER = "Choose the worker the limit applies to."


def _whole(value: object, minimum: int = 1) -> bool:
    try:
        return int(value) == float(value) and int(value) >= minimum
    except (TypeError, ValueError):
        return False


def _limits_ok(soft: object, hard: object) -> bool:
    given = [v for v in (soft, hard) if v is not None]
    if not given or any(not isinstance(v, int | float) or v <= 0 for v in given):
        return False
    return soft is None or hard is None or soft < hard
