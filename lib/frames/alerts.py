"""The Alerts page's frames, the Overview's firing strip and the sidebar's count, from the rows
``lib.store.alert_views`` reads (plain dicts, times in UTC epoch seconds).

Frames: ``firing_frame`` (what fires now, with who acknowledged it and which silence holds
it), ``pending_frame``, ``silences_frame``, ``episodes_frame`` (the history: each time an alert
fired, until it resolved, with its duration; one still open says "still firing"),
``rules_frame`` (the rule book in force). Times are UTC ``datetime64`` columns (the table
helper shows them in the viewer's timezone); sentences that carry a time ("until 14:00 by
olga") are made in the ``tz`` passed in, which the page names.

Invariants: pure (``now`` and ``tz`` passed in); severity orders critical > warning > info,
then the oldest first (the longest burning on top); a silence covers its rule's alert with its
subject or every subject (``*``); an episode starts at a change to firing and ends at the next
change of that alert to resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from lib.alerts.model import Rule
from lib.queue_outlook import age_text

__all__ = [
    "CHANGE_COLUMNS",
    "EPISODE_COLUMNS",
    "FIRING_COLUMNS",
    "PENDING_COLUMNS",
    "RULE_COLUMNS",
    "SEVERITY_BADGES",
    "SILENCE_COLUMNS",
    "StripItem",
    "acknowledged_text",
    "changes_frame",
    "episodes_frame",
    "firing_count_text",
    "firing_frame",
    "link_target",
    "nothing_firing",
    "pending_frame",
    "rules_frame",
    "silence_choices",
    "silence_for",
    "silenced_text",
    "silences_frame",
    "strip_items",
]

#: Most urgent first.
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
#: The badge each severity wears on the strip and in sentences.
SEVERITY_BADGES = {"critical": "🔴", "warning": "🟠", "info": "🔵"}

FIRING_COLUMNS = ("severity", "rule", "subject", "summary", "since", "value", "threshold",
                  "acknowledged", "silenced", "link")  # fmt: skip
PENDING_COLUMNS = ("severity", "rule", "subject", "summary", "pending_since", "silenced", "link")
SILENCE_COLUMNS = ("id", "rule", "subject", "until", "by", "reason", "created_at")
EPISODE_COLUMNS = ("severity", "rule", "subject", "summary", "fired", "resolved", "lasted",
                   "seconds", "status")  # fmt: skip
RULE_COLUMNS = (
    "rule",
    "kind",
    "severity",
    "threshold",
    "for_seconds",
    "window_seconds",
    "min_count",
    "applies_to",
    "mutes",
    "cooldown_seconds",
    "options",
    "description",
)


def _utc(seconds: Iterable[float | None]) -> pd.Series:
    return pd.to_datetime(pd.Series(list(seconds), dtype="float64"), unit="s", utc=True)


def _ordered(rows: Iterable[Mapping], at: str) -> list[Mapping]:
    return sorted(rows, key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), r.get(at) or 0.0))


def clock(at: float, tz: tzinfo, now: float) -> str:
    """``"14:00"`` on the viewer's today, else ``"2026-11-30 14:00"``, in ``tz``."""
    moment = datetime.fromtimestamp(at, UTC).astimezone(tz)
    today = datetime.fromtimestamp(now, UTC).astimezone(tz).date()
    return f"{moment:%H:%M}" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M}"


def acknowledged_text(row: Mapping, tz: tzinfo, now: float) -> str:
    """``"olga at 09:20"``, or "" when nobody acknowledged the alert."""
    if not row.get("acked_by"):
        return ""
    return f"{row['acked_by']} at {clock(row['acked_at'], tz, now)}"


def silence_for(silences: Sequence[Mapping], rule: str, subject: str) -> Mapping | None:
    """The silence holding ``rule``/``subject`` the longest (its own or its rule's ``*``)."""
    held = [s for s in silences if s["rule"] == rule and s["subject"] in (subject, "*")]
    return max(held, key=lambda s: s["until"], default=None)


def silenced_text(silence: Mapping | None, tz: tzinfo, now: float) -> str:
    """``"until 14:00 by olga"``, or "" when no silence holds it."""
    if silence is None:
        return ""
    return f"until {clock(silence['until'], tz, now)} by {silence['by']}"


def firing_frame(
    alerts: Iterable[Mapping], silences: Sequence[Mapping], tz: tzinfo, now: float
) -> pd.DataFrame:
    """The firing alerts: ``FIRING_COLUMNS`` (``since``: when it fired, UTC)."""
    frame, rows = _in_state("firing", alerts, silences, tz, now)
    frame["acknowledged"] = [acknowledged_text(r, tz, now) for r in rows]
    return frame


def pending_frame(
    alerts: Iterable[Mapping], silences: Sequence[Mapping], tz: tzinfo, now: float
) -> pd.DataFrame:
    """Alerts whose condition holds but not yet for the rule's ``for``: ``PENDING_COLUMNS``."""
    return _in_state("pending", alerts, silences, tz, now)[0]


#: Per state listed: its columns, its time column and the stored time it shows.
_LISTED = {
    "firing": (FIRING_COLUMNS, "since", "fired_at"),
    "pending": (PENDING_COLUMNS, "pending_since", "pending_since"),
}


def _in_state(
    state: str, alerts: Iterable[Mapping], silences: Sequence[Mapping], tz: tzinfo, now: float
) -> tuple[pd.DataFrame, list[Mapping]]:
    """The alerts in ``state``, ordered, as that state's frame; and their rows, in order."""
    columns, time_column, stored = _LISTED[state]
    rows = _ordered((a for a in alerts if a["state"] == state), stored)
    frame = _listed(rows, silences, tz, now, columns)
    frame[time_column] = _utc(r.get(stored) or r["since"] for r in rows)
    return frame, rows


def _listed(
    rows: list[Mapping], silences: Sequence[Mapping], tz: tzinfo, now: float, columns: tuple
) -> pd.DataFrame:
    """``rows``' stored columns among ``columns`` and the silence holding each; the rest blank."""
    frame = pd.DataFrame(
        [{k: row.get(k) for k in columns} for row in rows], columns=list(columns), dtype=object
    )
    held = [silence_for(silences, r["rule"], r["subject"]) for r in rows]
    frame["silenced"] = [silenced_text(s, tz, now) for s in held]
    for col in ("value", "threshold"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def silences_frame(silences: Sequence[Mapping]) -> pd.DataFrame:
    """The silences in force: ``SILENCE_COLUMNS`` (``subject`` ``*``: every subject)."""
    frame = pd.DataFrame(
        [{k: s.get(k) for k in SILENCE_COLUMNS} for s in silences], columns=list(SILENCE_COLUMNS)
    )
    for col in ("until", "created_at"):
        frame[col] = _utc(frame[col])
    return frame


def episodes_frame(
    opened: Iterable[Mapping], changes: Iterable[Mapping], now: float
) -> pd.DataFrame:
    """Each time an alert fired and resolved: ``EPISODE_COLUMNS``, the newest first.

    ``opened``: the changes to firing still open at the range's start; ``changes``: the
    range's changes, oldest first. ``seconds`` is how long it fired (until ``now`` while
    still firing); a resolution whose firing is older than the store's history is left out."""
    open_now: dict[tuple[str, str], Mapping] = {(r["rule"], r["subject"]): r for r in opened}
    done: list[tuple[Mapping, float | None]] = []
    for change in changes:
        key = (change["rule"], change["subject"])
        if change["state"] == "firing" and key not in open_now:
            open_now[key] = change
        elif change["state"] == "resolved" and key in open_now:
            done.append((open_now.pop(key), change["at"]))
    done += [(fired, None) for fired in open_now.values()]
    done.sort(key=lambda pair: pair[0]["at"], reverse=True)
    return _episode_rows(done, now)


def _episode_rows(done: list[tuple[Mapping, float | None]], now: float) -> pd.DataFrame:
    seconds = [(end if end is not None else now) - fired["at"] for fired, end in done]
    frame = pd.DataFrame(
        {
            **{k: [f[k] for f, _ in done] for k in ("severity", "rule", "subject", "summary")},
            "fired": _utc(f["at"] for f, _ in done),
            "resolved": _utc(end for _, end in done),
            "lasted": [
                age_text(s) if end is not None else f"still firing ({age_text(s)} so far)"
                for s, (_, end) in zip(seconds, done, strict=True)
            ],
            "seconds": pd.Series(seconds, dtype="float64"),
            "status": ["resolved" if end is not None else "still firing" for _, end in done],
        },
        columns=list(EPISODE_COLUMNS),
    )
    return frame


#: One alert's changes, as its detail lists them.
CHANGE_COLUMNS = ("at", "state", "severity", "summary", "value", "threshold")


def changes_frame(changes: Iterable[Mapping], key: str) -> pd.DataFrame:
    """The changes of the alert ``<rule>/<subject>``: ``CHANGE_COLUMNS``, the newest first."""
    rule, _, subject = key.partition("/")
    mine = [c for c in changes if c["rule"] == rule and c["subject"] == subject]
    mine.sort(key=lambda c: (c["at"], c.get("id") or 0), reverse=True)  # ids order one moment
    frame = pd.DataFrame(
        [{k: c.get(k) for k in CHANGE_COLUMNS} for c in mine],
        columns=list(CHANGE_COLUMNS),
        dtype=object,
    )
    frame["at"] = _utc(frame["at"])
    return frame


def _patterns(rule: Rule) -> str:
    parts = [
        f"{dim} {', '.join(p)}"
        for dim in ("queue", "task", "worker")
        if (p := getattr(rule.match, dim))
    ]
    return "; ".join(parts) or "everything"


def _mutes(rule: Rule) -> str:
    return "; ".join(
        f"{m.start:%H:%M}–{m.end:%H:%M} {m.timezone}"
        + (f" ({', '.join(m.days)})" if m.days else "")
        for m in rule.mutes
    )


def rules_frame(rules: Iterable[Rule]) -> pd.DataFrame:
    """The rules in force as the rule book holds them: ``RULE_COLUMNS``."""
    rows = [
        {
            "rule": r.name,
            "kind": r.kind,
            "severity": r.severity,
            "threshold": r.threshold,
            "for_seconds": r.for_seconds,
            "window_seconds": r.window_seconds,
            "min_count": r.min_count,
            "applies_to": _patterns(r),
            "mutes": _mutes(r),
            "cooldown_seconds": r.cooldown_seconds,
            "options": ", ".join(f"{k} = {v}" for k, v in r.options.items()),
            "description": r.description,
        }
        for r in rules
    ]
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


@dataclass(frozen=True)
class StripItem:
    """One firing alert on the Overview's strip: its badge, sentence and page."""

    severity: str
    badge: str
    summary: str
    page: str  # the page's url path (``workers``), "" when the link names none
    query: dict[str, str]


def link_target(link: str) -> tuple[str, dict[str, str]]:
    """An alert's relative link (``workers?worker=w1``) as its page's url path and query."""
    parts = urlsplit(link or "")
    return parts.path.strip("/"), dict(parse_qsl(parts.query))


def strip_items(firing: Iterable[Mapping], shown: int) -> tuple[list[StripItem], int]:
    """The ``shown`` most urgent firing alerts as strip items, and how many more fire."""
    rows = _ordered(firing, "fired_at")
    items = [
        StripItem(
            r["severity"],
            SEVERITY_BADGES.get(r["severity"], "⚪"),
            r["summary"],
            *link_target(r["link"]),
        )
        for r in rows[:shown]
    ]
    return items, max(len(rows) - shown, 0)


def _badge(severity: str) -> str:
    return SEVERITY_BADGES.get(severity, "⚪")


def nothing_firing(rules: int) -> str:
    """The Alerts page's empty state."""
    said = "1 rule" if rules == 1 else f"{rules:,} rules"
    return f"Nothing is firing. The collector evaluates {said} every poll."


def silence_choices(current: Iterable[Mapping], rules: Iterable[Rule]) -> list[str]:
    """What can be silenced: each current alert (firing, then pending, then resolved), then
    every subject of each rule (``<rule>/*``), the rule book's and the alerts' own."""
    order = {"firing": 0, "pending": 1, "resolved": 2}
    rows = sorted(current, key=lambda r: (order.get(r["state"], 3), r["rule"], r["subject"]))
    names = [r.name for r in rules] + [r["rule"] for r in rows]
    keys = [f"{r['rule']}/{r['subject']}" for r in rows] + [f"{n}/*" for n in names]
    return list(dict.fromkeys(keys))


def firing_count_text(count: int) -> str:
    """The sidebar's line: ``"🔔 3 firing"``."""
    return f"🔔 {count:,} firing"
