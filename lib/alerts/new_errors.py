"""Rule kind ``new_error``: an error signature the store had never seen before.

An error group (``lib.failures``: category, exception type and signature; its ``group_id``
is the Errors page's and the Tasks page's ``?error_group=``) is *new* while its first failure
in the store is within the last ``window`` (default 1 h): the alert resolves once the window
has passed. A fresh console would find every error new, so a group counts only when the store
held more than ``options.history`` (default 1 h) of history before its first failure (from
``Store.oldest_at``). Severity as the rule says (info by default); subject the group id.

Cost: the first poll groups every stored failure once, in the database, by its text and name
(``lib.store.alert_reads.failure_kinds``); each later poll reads only the failures placed since
the one before, less ``LATE`` (a failure reaches the store up to a poll, or an outage, after it
happened), and keeps each group's first failure in the rule's memory. A restart rebuilds the
same from the store. A group whose every failure retention has since pruned stays known to a
running console; a restarted one would call it new again, as the store alone says.

Invariants: masked text only (the store's; a signature hides the variable parts besides);
reads only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from lib import failures
from lib.alerts.model import AlertContext, Condition, Rule
from lib.alerts.telling import number_option
from lib.alerts.wording import clock, error_group_link
from lib.store import alert_reads
from lib.store.engine import reading

__all__ = ["LATE", "FirstSeen", "first_failures", "new_errors"]

HOUR = 3600.0
#: How far back each poll re-reads failures, for those that reached the store late.
LATE = HOUR


@dataclass(frozen=True)
class FirstSeen:
    """An error group's first stored failure: when (epoch s), of which task name, and what."""

    at: float
    name: str
    exception_type: str
    signature: str


def new_errors(rule: Rule, context: AlertContext) -> list[Condition]:
    """One condition per error group first seen within the window (module docstring)."""
    window = rule.window_seconds or HOUR
    history = number_option(rule, "history", HOUR)
    firsts = _known_groups(rule, context, window)
    oldest = context.store.oldest_at()
    now, found = context.now, []
    for group, first in sorted(firsts.items()):
        new = first.at >= now - window and oldest is not None and first.at - oldest > history
        if not new or not rule.match.allows(task=first.name):
            continue
        quoted = f"'{first.signature}'" if first.signature else ""
        what = " ".join(part for part in (first.exception_type, quoted) if part) or "a failure"
        where = first.name or "a task without a name"
        summary = f"New error: {what} in {where} (first seen {clock(first.at, now)})."
        found.append(Condition(rule.name, group, rule.severity, summary, error_group_link(group)))
    return found


def first_failures(kinds: pd.DataFrame, rules: tuple[failures.Rule, ...]) -> dict[str, FirstSeen]:
    """Each error group's first failure among ``kinds`` (``alert_reads.failure_kinds``)."""
    if kinds.empty:
        return {}
    tasks = kinds.assign(uuid=None, queue=None, worker=None, state="FAILURE")
    grouped = failures.failures_frame(tasks, rules).sort_values("at", kind="stable")
    firsts = grouped.drop_duplicates("group_id")
    return {
        str(row.group_id): FirstSeen(
            float(row.at), _text(row.name), _text(row.exception_type), _text(row.signature)
        )
        for row in firsts.itertuples(index=False)
    }


def _known_groups(rule: Rule, context: AlertContext, window: float) -> dict[str, FirstSeen]:
    """Every group's first failure: from the whole store on the first poll (or when the store
    or the categories changed), then updated from the failures since the last poll."""
    memory = context.scratch(rule)
    rules = context.error_rules or _built_in_rules()
    source = (context.store.url, rules)
    fresh = memory.get("source") != source
    start = None if fresh else memory["through"] - max(window, LATE)
    with reading(context.store.engine) as conn:
        kinds = alert_reads.failure_kinds(conn, start)
    known = {} if fresh else dict(memory["first_seen"])
    for group, seen in first_failures(kinds, rules).items():
        if group not in known or seen.at < known[group].at:
            known[group] = seen
    memory.update(source=source, through=context.now, first_seen=known)
    return known


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


@functools.cache
def _built_in_rules() -> tuple[failures.Rule, ...]:
    """The shipped error categories (read once: the file does not change under a process)."""
    return failures.load_rules()
