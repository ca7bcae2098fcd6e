"""Failure rates (kind ``failure_rate``): FAILURE ÷ (SUCCESS + FAILURE) of the tasks finished in
the last ``window`` (the contract's error rate, a percent with one decimal), per task name, or
over all tasks with ``options.per = "overall"``.

Read from the per-minute rollup counts, not the task rows: one grouped read by the rollups'
minute index whatever the store holds (the rows of a busy 10 minutes can be tens of thousands),
and the very counts the Trends and Errors pages show, so an alert and its page agree. The cost:
counts are whole minutes — those that began in the window (``minute ≥ now − window``) and the
current one — so a task that finished in the minute the window opens in is left out unless the
window opens on a whole minute.

Invariants: judged only with at least ``min_count`` finished (fewer say nothing); a rate
exactly at ``threshold`` is not above it (compared at one decimal, as shown); the rule's
``match`` filters by task name, queue and worker before counting.
"""

from __future__ import annotations

import pandas as pd

from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.readings import condition_of, link, span_words

__all__ = ["EVALUATORS", "OVERALL", "failure_rate", "finished_counts"]

OVERALL = "overall"
MINUTE = 60


def finished_counts(rule: Rule, context: AlertContext) -> pd.DataFrame:
    """SUCCESS and FAILURE per task name over the window, in the rule's scope.
    Columns: name, SUCCESS, FAILURE (ints)."""
    window = float(rule.window_seconds or 0)
    end = (context.now // MINUTE + 1) * MINUTE  # the current minute, whole
    by = ["name", "state"]
    by += [k for k in ("queue", "worker") if getattr(rule.match, k)]
    counts = context.store.rollup_counts(context.now - window, end, by=by)
    counts = counts[counts["state"].isin(("SUCCESS", "FAILURE"))]
    keep = [
        rule.match.allows(task=r.get("name") or None, queue=r.get("queue"), worker=r.get("worker"))
        for r in counts.to_dict("records")
    ]
    counts = counts[keep] if keep else counts
    if counts.empty:
        return pd.DataFrame({"name": [], "SUCCESS": [], "FAILURE": []}).astype(
            {"SUCCESS": "int64", "FAILURE": "int64"}
        )
    table = counts.pivot_table(index="name", columns="state", values="tasks", aggfunc="sum")
    table = table.reindex(columns=["SUCCESS", "FAILURE"]).fillna(0).astype("int64")
    return table.reset_index().rename_axis(columns=None)


def failure_rate(rule: Rule, context: AlertContext) -> list[Condition]:
    """A condition per task name (or one ``overall``) failing above ``threshold`` percent."""
    counts = finished_counts(rule, context)
    if rule.options.get("per") == OVERALL:
        subjects = [(OVERALL, int(counts["SUCCESS"].sum()), int(counts["FAILURE"].sum()))]
    else:
        subjects = list(zip(counts["name"], counts["SUCCESS"], counts["FAILURE"], strict=True))
    found = []
    for subject, succeeded, failed in subjects:
        finished = int(succeeded) + int(failed)
        if finished == 0 or finished < (rule.min_count or 0):
            continue
        percent = round(100.0 * int(failed) / finished, 1)
        if percent > (rule.threshold or 0):
            found.append(_failing(rule, str(subject), percent, (int(failed), finished)))
    return found


def _failing(rule: Rule, subject: str, percent: float, counts: tuple[int, int]) -> Condition:
    failed, finished = counts
    window = span_words(float(rule.window_seconds or 0))
    limit = f"above {rule.threshold or 0:g} %"
    if subject == OVERALL:
        summary = f"{percent:.1f} % of the {finished:,} tasks finished in the last {window} failed ({failed:,}; {limit})."
        where = link("tasks", state="FAILURE")
    else:
        summary = f"Task {subject} failed {percent:.1f} % of {finished:,} runs in the last {window} ({failed:,}; {limit})."
        where = link("tasks", name=subject, state="FAILURE")
    return condition_of(rule, subject, summary, where, percent)


EVALUATORS = {"failure_rate": failure_rate}
