"""What evaluators read from one poll, and when they cannot tell: this poll's workers and queue
depths, a queue's consumers, deep links and spans of time in words.

A reading is *this poll's* when it was made since the collector's last poll began
(``health.last_attempt``) and no longer ago than one poll interval: a Flower that did not answer
leaves the snapshot's last good workers in place, and judging those as "now" would resolve a
dead worker's alert or invent a live one's. Such a rule raises ``CannotTell`` (a
``ConsoleError``): the evaluation reports it unknown and its alerts stay as they were.

Invariants: pure reads of the context (nothing is written); links are relative to the console,
their values URL-quoted (``@`` and ``:`` kept: worker names stay readable).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pandas as pd

from lib.alerts.model import AlertContext, Condition, Rule
from lib.errors import ConsoleError

__all__ = [
    "CannotTell",
    "condition_of",
    "consumers_of",
    "depths_now",
    "link",
    "span_words",
    "workers_now",
]


class CannotTell(ConsoleError):
    """A rule cannot be judged this poll (its reading is missing or not this poll's)."""


def _this_polls(context: AlertContext, at: float | None) -> bool:
    health = context.health
    if at is None:
        return False
    if health.last_attempt is not None and at < health.last_attempt:
        return False  # the last poll began after it: that poll did not read it
    return context.now - at <= health.poll_seconds


def workers_now(context: AlertContext) -> pd.DataFrame:
    """This poll's workers frame (``frames.workers_frame``); ``CannotTell`` when Flower did not
    answer this poll (whether a worker is online is then unknown, not "offline")."""
    snapshot = context.snapshot
    if snapshot.workers is None:
        raise CannotTell("the workers have not been read from Flower yet")
    if not _this_polls(context, snapshot.workers_at):
        raise CannotTell(
            "Flower did not answer this poll, so whether workers are online is unknown"
            f"{_age(context, snapshot.workers_at)}"
        )
    return snapshot.workers


def depths_now(context: AlertContext) -> dict[str, int | None]:
    """This poll's waiting messages per queue (None: that queue's depth is unknown);
    ``CannotTell`` when the queues were not read this poll."""
    snapshot = context.snapshot
    if snapshot.depths is None:
        raise CannotTell("the queue depths have not been read yet")
    if not _this_polls(context, snapshot.depths_at):
        raise CannotTell(
            f"the queue depths were not read this poll{_age(context, snapshot.depths_at)}"
        )
    return snapshot.depths


def _age(context: AlertContext, at: float | None) -> str:
    return "" if at is None else f" (last read {span_words(context.now - at)} ago)"


def consumers_of(workers: pd.DataFrame | None) -> dict[str, dict[str, bool]]:
    """Each queue's consuming workers, online or not (queue → worker → online), from a workers
    frame's comma-joined ``queues`` (Flower's last inspect of each worker)."""
    found: dict[str, dict[str, bool]] = {}
    if workers is None:
        return found
    for worker, online, queues in zip(
        workers["worker"], workers["online"], workers["queues"], strict=True
    ):
        if isinstance(queues, str):
            for queue in queues.split(", "):
                found.setdefault(queue, {})[str(worker)] = bool(online)
    return found


#: ``condition_of``'s threshold when none is given: the rule's own.
RULES = object()


def condition_of(
    rule: Rule,
    subject: str,
    summary: str,
    where: str,
    value: float | None,
    *,
    threshold: float | object | None = RULES,
    cause: str | None = None,
) -> Condition:
    """The rule's condition for ``subject`` at the rule's severity (``where``: its deep link;
    ``threshold``: what ``value`` was compared with, the rule's threshold unless given)."""
    return Condition(
        rule=rule.name,
        subject=subject,
        severity=rule.severity,
        summary=summary,
        link=where,
        value=value,
        threshold=rule.threshold if threshold is RULES else threshold,
        cause=cause,
    )


def link(page: str, **params: str) -> str:
    """A deep link relative to the console: ``link("workers", worker="w1@h")``."""
    if not params:
        return page
    return f"{page}?{urlencode(params, quote_via=quote, safe='@:*')}"


def span_words(seconds: float) -> str:
    """A span as people say it: "45 s", "12 min", "3 h", "2 d" (rounded down)."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
