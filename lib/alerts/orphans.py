"""Orphaned tasks (kind ``orphaned_tasks``): per worker, the tasks still running on it although
it is offline or restarted since they started (the contract's definition, ``frames.flags``).

One condition per worker with more than ``threshold`` (default 0: any) orphaned tasks whose
worker and task name the rule's ``match`` allows; value = how many. The tasks are the store's
flag candidates (every task RECEIVED, STARTED or in a custom state: one read by the state
index), judged against this poll's workers.

Invariants: when Flower did not answer this poll nothing is said (``CannotTell``): liveness is
unknown. An offline worker's condition names its offline alert as ``cause``
(``options.cause_rule``, set by the rule book to the worker_offline rule in force; ``""``: none),
so both arrive as one notification; a restarted worker's has no cause (it is back online).
"""

from __future__ import annotations

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.readings import condition_of, link, workers_now
from lib.frames.flags import orphaned_frame

__all__ = ["DEFAULT_CAUSE_RULE", "EVALUATORS", "cause_key", "orphaned_tasks"]

#: The rule whose alert explains this one when ``options`` do not say (the default rule book's).
DEFAULT_CAUSE_RULE = "worker_offline"


def cause_key(rule: Rule, worker: str) -> str | None:
    """The key of ``worker``'s offline alert, when the rule files its alerts under it."""
    cause_rule = rule.options.get("cause_rule", DEFAULT_CAUSE_RULE)
    return f"{cause_rule}/{worker}" if cause_rule else None


def orphaned_tasks(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per worker with more than ``threshold`` orphaned tasks in scope."""
    workers = workers_now(context)
    candidates = context.store.flag_candidates()
    orphaned = orphaned_frame(candidates, workers)
    if orphaned.empty:
        return []
    names = dict(zip(candidates["uuid"], candidates["name"], strict=True))
    allowed = [
        rule.match.allows(worker=str(w), task=None if names.get(u) is None else str(names[u]))
        for u, w in zip(orphaned["uuid"], orphaned["worker"], strict=True)
    ]
    orphaned = orphaned[allowed]
    limit = rule.threshold or 0
    found = []
    for worker, tasks in orphaned.groupby("worker", sort=True):
        if len(tasks) > limit:
            found.append(
                _orphans(rule, str(worker), len(tasks), (tasks["cause"] == "offline").all())
            )
    return found


def _orphans(rule: Rule, worker: str, count: int, offline: bool) -> Condition:
    why = "it is offline" if offline else "it restarted after they started"
    tasks = "task is" if count == 1 else "tasks are"
    return condition_of(
        rule,
        worker,
        f"{count} {tasks} orphaned on worker {worker} ({why}).",
        link("tasks", flag="orphaned", worker=worker),
        float(count),
        cause=cause_key(rule, worker) if offline else None,
    )


EVALUATORS = {"orphaned_tasks": orphaned_tasks}
