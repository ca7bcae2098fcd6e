"""The shapes alerts share: a rule of the rule book, a condition one evaluation found, and the
readings an evaluation works on.

A ``Rule`` is one entry of the rule book (built-in defaults, or ``OPS_ALERTS_FILE``): a named
check of one ``kind`` with its threshold, how long a condition must hold before it fires
(``for_seconds``), the window it looks back over, what it applies to (``match``), when it is
quiet (``mutes``) and how long a resolved alert waits before it may fire again (``cooldown``).
A ``Condition`` is what an evaluator found true right now for one subject (a worker, a queue, a
task name, ``overall``); the state machine turns a condition held long enough into a firing
alert, and its absence into a resolved one.

Invariants: rules and conditions are immutable; an alert is identified by (cluster, rule name,
subject) — a condition carries the rule's *name*, never its kind, so two rules of one kind
(failure rate per task name and overall) are two alerts; ``link`` is relative to the console
(``workers?worker=w1``), ``OPS_PUBLIC_URL`` is prepended only when a notification is made;
summaries are plain sentences with nothing secret in them (evaluators read masked store text).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the model is imported by the store's readers; keep it light
    from lib.collector.health import CollectorHealth
    from lib.collector.snapshot import CollectorSnapshot
    from lib.failures import Rule as ErrorRule
    from lib.store import Store

__all__ = [
    "KINDS",
    "SEVERITIES",
    "AlertContext",
    "Condition",
    "Evaluation",
    "Match",
    "Mute",
    "Rule",
]

#: Least to most urgent.
SEVERITIES = ("info", "warning", "critical")

#: Every kind of rule an evaluator exists for (lib.alerts.evaluate); the rule book's ``kind``.
KINDS = (
    "worker_offline",
    "queue_depth",
    "queue_growing",
    "failure_rate",
    "runtime_regression",
    "events_stopped",
    "orphaned_tasks",
    "missed_runs",
    "new_error",
)


@dataclass(frozen=True)
class Match:
    """What a rule applies to: shell-style patterns (``fnmatch``) per dimension; empty = all."""

    queue: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    worker: tuple[str, ...] = ()

    def allows(
        self, *, queue: str | None = None, task: str | None = None, worker: str | None = None
    ) -> bool:
        """Whether a subject with these names is in the rule's scope (a name not given passes)."""
        pairs = ((self.queue, queue), (self.task, task), (self.worker, worker))
        return all(
            not patterns or name is None or any(fnmatch.fnmatchcase(name, p) for p in patterns)
            for patterns, name in pairs
        )


@dataclass(frozen=True)
class Mute:
    """A recurring quiet window, e.g. 22:00–06:00 on weekdays in Europe/Berlin. ``end`` before
    ``start`` wraps past midnight; ``days`` are ``mon``…``sun`` (empty = every day; for a
    wrapping window, the day it starts)."""

    start: time
    end: time
    days: tuple[str, ...] = ()
    timezone: str = "UTC"

    def covers(self, at: float) -> bool:
        """Whether the epoch moment ``at`` falls in this window."""
        local = datetime.fromtimestamp(at, ZoneInfo(self.timezone))
        now, day = local.time(), local.strftime("%a").lower()
        previous = (
            datetime.fromtimestamp(at - 86400, ZoneInfo(self.timezone)).strftime("%a").lower()
        )
        if self.start <= self.end:
            return self.start <= now < self.end and (not self.days or day in self.days)
        if now >= self.start:
            return not self.days or day in self.days
        return now < self.end and (not self.days or previous in self.days)


@dataclass(frozen=True)
class Rule:
    """One rule of the rule book. ``threshold`` means what its kind says (a count, a percent, a
    factor); ``options`` holds a kind's extra knobs (e.g. ``min_samples``), read-only."""

    name: str
    kind: str
    severity: str
    threshold: float | None = None
    for_seconds: float = 0.0
    window_seconds: float | None = None
    min_count: int | None = None
    match: Match = Match()
    mutes: tuple[Mute, ...] = ()
    cooldown_seconds: float = 300.0
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    def muted_at(self, at: float) -> bool:
        """Whether one of the rule's mute windows covers ``at`` (then it notifies nobody)."""
        return any(mute.covers(at) for mute in self.mutes)


@dataclass(frozen=True)
class Condition:
    """A rule's condition found true now for one subject.

    ``value`` and ``threshold`` in the rule's unit (None when it has none); ``summary`` one
    sentence a person understands ("Worker w1@host has sent no heartbeat for 45 s"); ``link``
    a deep link relative to the console; ``cause`` the key (``rule/subject``) of the alert that
    explains this one (a dead worker for its orphaned tasks and its queue's backlog), which
    groups them into one notification; ``severity`` the rule's unless the evaluator raised it.
    """

    rule: str
    subject: str
    severity: str
    summary: str
    link: str
    value: float | None = None
    threshold: float | None = None
    cause: str | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.subject}"


@dataclass(frozen=True)
class AlertContext:
    """What one evaluation reads: the moment, the cluster, its store, the collector's latest
    snapshot and health. ``memory`` is a per-rule scratch dict the watcher keeps between polls
    (for a rule that compares this poll with earlier ones), empty on a fresh start: a rule must
    also work from the store alone, so a restart changes nothing it reports. ``error_rules``:
    the error categories in force (``lib.failures.rules_or_defaults`` of
    ``OPS_ERROR_RULES_FILE``), so error group ids match the Errors page's; empty: the built-in
    ones."""

    now: float
    cluster: str
    store: Store
    snapshot: CollectorSnapshot
    health: CollectorHealth
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    error_rules: tuple[ErrorRule, ...] = ()

    def scratch(self, rule: Rule) -> dict[str, Any]:
        return self.memory.setdefault(rule.name, {})


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation found: the conditions, and the rules it could not evaluate (name →
    why, plain words) — their alerts stay as they were."""

    conditions: list[Condition] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)
