"""Alert states: one poll's conditions turn the current alerts into the next ones (pure).

An alert is one (cluster, rule name, subject). Its states and their moves:

- no alert (or a resolved one whose ``cooldown_seconds`` has passed) + a condition → ``pending``
  (``pending_since`` = now), or straight to ``firing`` when the rule's ``for_seconds`` is 0;
- ``pending`` held for ``for_seconds`` → ``firing`` (``fired_at``); ``pending`` whose condition went
  away → dropped (the row goes, no change row: pending never notified anyone);
- ``firing`` + condition gone → ``resolved`` (``resolved_at``, acknowledgement cleared);
  ``firing`` + condition still there → its figures (summary, value, severity …) follow the
  condition, no change row;
- ``resolved`` + condition back within the cooldown → stays resolved (no flapping), after it →
  pending again;
- a rule in ``Evaluation.unknown`` (its reading failed) leaves its alerts exactly as they were;
  a rule no longer in the rule book resolves its firing alerts and drops its pending ones.

Grouping: a condition whose ``cause`` names an alert that is pending waits (stays pending) until
that cause fires, then fires in the same poll. The changes of one poll are grouped by their root
cause (following ``cause`` / ``group_key``) and state into one ``Notification``: the root's change
leads it and the rest are listed. A change whose root was already firing before this poll and
still is gets its change row but no notification of its own (it is *folded*: the page lists it
under its cause). Silences and the rule's mute windows suppress notifications only: the change
row is still written.

Invariants: the result does not depend on the order of the conditions or the current rows; a
change row is made only for a move to ``firing`` or ``resolved``; ``since`` is when the alert
entered its current state and ``pending_since`` when the problem began (kept through firing and
resolved: a notification's ``since``); at most one alert per (rule, subject).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from lib.alerts.model import SEVERITIES, Condition, Evaluation, Rule

__all__ = ["Advance", "Alert", "Change", "Notification", "Silence", "advance", "removed_summary"]


@dataclass(frozen=True)
class Alert:
    """One row of the ``alerts`` table (times epoch s, UTC)."""

    rule: str
    subject: str
    state: str
    severity: str
    summary: str
    link: str
    since: float
    updated_at: float
    value: float | None = None
    threshold: float | None = None
    group_key: str | None = None
    pending_since: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    acked_by: str | None = None
    acked_at: float | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.subject}"


@dataclass(frozen=True)
class Silence:
    """An operator's silence of a rule, for one subject or every one (``*``), until a moment."""

    rule: str
    subject: str
    until: float

    def covers(self, alert: Alert, now: float) -> bool:
        return self.rule == alert.rule and self.subject in ("*", alert.subject) and now < self.until


@dataclass(frozen=True)
class Change:
    """A move of one alert to ``firing`` or ``resolved`` at ``at`` (an ``alert_changes`` row);
    ``quiet`` says why it notifies nobody of its own ("silenced", "muted", "folded"), or "")."""

    alert: Alert
    at: float
    quiet: str = ""

    @property
    def state(self) -> str:
        return self.alert.state


@dataclass(frozen=True)
class Notification:
    """One webhook message: its leading change and the related ones of the same root cause."""

    head: Change
    related: tuple[Change, ...] = ()


@dataclass
class Advance:
    """What one poll does to the alerts: rows to write (whole), keys to drop, change rows (in
    order) and the notifications they make."""

    rows: list[Alert] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def removed_summary(rule: str) -> str:
    return f"The rule {rule} is no longer in the rule book, so its alert is resolved."


def advance(
    current: Iterable[Alert],
    evaluation: Evaluation,
    rules: Iterable[Rule],
    silences: Iterable[Silence],
    now: float,
) -> Advance:
    """The next alerts from the ``current`` ones and this poll's ``evaluation`` at ``now``."""
    book = {rule.name: rule for rule in rules}
    before = {(a.rule, a.subject): a for a in current}
    conditions = _one_per_alert(c for c in evaluation.conditions if c.rule in book)
    after: dict[tuple[str, str], Alert] = {}
    due: set[tuple[str, str]] = set()
    for key, cond in conditions.items():
        moved, ready = _with_condition(before.get(key), cond, book[cond.rule], now)
        after[key] = moved
        if ready:
            due.add(key)
    for key, alert in before.items():
        if key not in conditions:
            kept = _without_condition(alert, evaluation, book, now)
            if kept is not None:
                after[key] = kept
    _fire(after, due, conditions, now)
    return _result(before, after, book, list(silences), now)


def _one_per_alert(conditions: Iterable[Condition]) -> dict[tuple[str, str], Condition]:
    """One condition per (rule, subject): the most severe (then the largest value, then the
    summary), whatever order the evaluators gave them in."""
    chosen: dict[tuple[str, str], Condition] = {}
    for cond in conditions:
        key = (cond.rule, cond.subject)
        if key not in chosen or _rank(cond) > _rank(chosen[key]):
            chosen[key] = cond
    return chosen


def _severity(name: str) -> int:
    return SEVERITIES.index(name) if name in SEVERITIES else -1


def _rank(cond: Condition) -> tuple:
    severity = _severity(cond.severity)
    value = cond.value if cond.value is not None else float("-inf")
    return severity, value, cond.summary, cond.link, cond.cause or ""


def _figures(alert: Alert, cond: Condition, rule: Rule, now: float) -> Alert:
    """``alert`` showing the condition's latest figures (a severity outside ``SEVERITIES``
    becomes the rule's: the table refuses any other)."""
    severity = cond.severity if cond.severity in SEVERITIES else rule.severity
    return replace(
        alert,
        severity=severity,
        summary=cond.summary,
        link=cond.link,
        value=cond.value,
        threshold=cond.threshold,
        group_key=cond.cause,
        updated_at=now,
    )


def _with_condition(
    alert: Alert | None, cond: Condition, rule: Rule, now: float
) -> tuple[Alert, bool]:
    """The alert a present condition makes, and whether it is due to fire this poll."""
    if alert is not None and alert.state == "resolved":
        if now - (alert.resolved_at or alert.since) < rule.cooldown_seconds:
            return alert, False  # cooling down: no flapping notifications
        alert = None
    if alert is None:
        fresh = Alert(cond.rule, cond.subject, "pending", rule.severity, "", "", now, now)
        alert = replace(fresh, pending_since=now)
    alert = _figures(alert, cond, rule, now)
    if alert.state == "firing":
        return alert, False
    return alert, now - (alert.pending_since or alert.since) >= rule.for_seconds


def _without_condition(
    alert: Alert, evaluation: Evaluation, book: Mapping[str, Rule], now: float
) -> Alert | None:
    """The alert whose condition was not found this poll; None when it is dropped."""
    if alert.rule in evaluation.unknown and alert.rule in book:
        return alert  # the reading failed: neither fired nor resolved by it
    if alert.state == "pending":
        return None  # never fired, so nobody hears of it going
    if alert.state != "firing":
        return alert
    resolved = replace(
        alert,
        state="resolved",
        since=now,
        resolved_at=now,
        acked_by=None,
        acked_at=None,
        updated_at=now,
    )
    if alert.rule not in book:
        resolved = replace(resolved, summary=removed_summary(alert.rule))
    return resolved


def _fire(
    after: dict[tuple[str, str], Alert],
    due: set[tuple[str, str]],
    conditions: Mapping[tuple[str, str], Condition],
    now: float,
) -> None:
    """Fire the due alerts, except those whose cause is pending and not firing this poll: they
    wait for it. A cause that fires frees what waits on it, in the same poll; alerts that wait
    on each other in a circle fire together rather than never."""
    waiting = set(due)
    while waiting:
        free = {key for key in waiting if not _waits(key, after, conditions)}
        if not free:  # only a circle of causes is left, every one of them due
            free = {key for key in waiting if _split(conditions[key].cause) in waiting}
        if not free:
            return
        for key in free:
            after[key] = replace(after[key], state="firing", since=now, fired_at=now)
        waiting -= free


def _waits(
    key: tuple[str, str],
    after: Mapping[tuple[str, str], Alert],
    conditions: Mapping[tuple[str, str], Condition],
) -> bool:
    cause = _split(conditions[key].cause)
    found = after.get(cause) if cause is not None and cause != key else None
    return found is not None and found.state == "pending"


def _split(key: str | None) -> tuple[str, str] | None:
    if not key or "/" not in key:
        return None
    rule, subject = key.split("/", 1)
    return rule, subject


def _result(
    before: Mapping[tuple[str, str], Alert],
    after: Mapping[tuple[str, str], Alert],
    book: Mapping[str, Rule],
    silences: list[Silence],
    now: float,
) -> Advance:
    done = Advance()
    for key in sorted(after):
        if after[key] != before.get(key):
            done.rows.append(after[key])
    done.dropped = sorted(key for key in before if key not in after)
    moved = [
        after[key]
        for key in sorted(after)
        if after[key].state in ("firing", "resolved")
        and (key not in before or before[key].state != after[key].state)
    ]
    poll = _Poll(before, after, book, silences, now)
    roots = {alert.key: poll.root(alert) for alert in moved}
    done.changes = [Change(a, now, poll.quiet(a, roots[a.key])) for a in moved]
    done.notifications = _notifications(done.changes, roots)
    return done


@dataclass(frozen=True)
class _Poll:
    """The alerts before and after one poll's moves, and what decides who hears of them."""

    before: Mapping[tuple[str, str], Alert]
    after: Mapping[tuple[str, str], Alert]
    book: Mapping[str, Rule]
    silences: list[Silence]
    now: float

    def root(self, alert: Alert) -> Alert:
        """The alert at the end of ``alert``'s chain of causes (itself when it has none); in a
        circle of causes, its first alert by key, so every member has the same root."""
        path = [alert]
        while (cause := _split(alert.group_key)) is not None:
            found = self.after.get(cause) or self.before.get(cause)
            if found is None:
                break
            keys = [a.key for a in path]
            if found.key in keys:
                return min(path[keys.index(found.key) :], key=lambda a: a.key)
            path.append(found)
            alert = found
        return alert

    def quiet(self, alert: Alert, root: Alert) -> str:
        """Why a change notifies nobody of its own: silenced, muted, folded under its firing
        cause (a resolve only when it fired with or after its cause), or "" when it notifies."""
        if any(s.covers(alert, self.now) for s in self.silences):
            return "silenced"
        rule = self.book.get(alert.rule)
        if rule is not None and rule.muted_at(self.now):
            return "muted"
        key = (root.rule, root.subject)
        was, still = self.before.get(key), self.after.get(key)
        steady = (
            root.key != alert.key
            and was is not None
            and still is not None
            and was.state == still.state == "firing"
        )
        if steady and (alert.state == "firing" or (alert.fired_at or 0) >= (was.fired_at or 0)):
            return "folded"
        return ""


def _notifications(changes: list[Change], roots: Mapping[str, Alert]) -> list[Notification]:
    """The loud changes grouped by (root cause, state): the root's change leads when it is
    among them, else the most severe."""
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if not change.quiet:
            group = (roots[change.alert.key].key, change.state)
            groups.setdefault(group, []).append(change)
    made = []
    for (root, _state), members in sorted(groups.items()):
        members.sort(key=lambda c: (c.alert.key != root, -_severity(c.alert.severity)))
        made.append(Notification(members[0], tuple(members[1:])))
    return made
