"""Time ranges a page offers: named presets, "Custom" dates, or no bound, resolved to UTC.

A page declares its ``RangeMenu`` (which choices, which is the default, whether a preset ends
now); ``resolve`` turns a choice into ``(start, end)``. Invariants:

* Bounds are timezone-aware UTC datetimes, or ``None`` for no bound.
* A preset covers the span up to ``now``; with ``ends_now=False`` it has no end (a task
  received a moment after ``now`` by a clock ahead of ours still shows).
* "Custom" covers whole days in the viewer's timezone, the first day's midnight to the last
  day's end; until both dates are picked it has no bounds.
* "Any time" and "Everything" have no bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

__all__ = [
    "ANALYTICS",
    "AUDIT",
    "CUSTOM",
    "OVERVIEW",
    "SPANS",
    "TASKS",
    "RangeMenu",
    "custom_label",
    "default_dates",
    "resolve",
    "scope",
]

#: Presets and how far back each reaches.
SPANS = {
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
#: The choice that asks for two dates.
CUSTOM = "Custom"
#: Choices with no bound at all.
UNBOUNDED = ("Any time", "Everything")


@dataclass(frozen=True)
class RangeMenu:
    """The ranges one page offers, in order, and the one chosen first."""

    choices: tuple[str, ...]
    default: str
    ends_now: bool = True  # False: a preset has a start only


_PRESETS = ("Last 15 minutes", "Last hour", "Last 6 hours", "Last 24 hours", "Last 7 days")
#: Trends, Errors, Workflows: one choice shared by every analytics page of a session.
ANALYTICS = RangeMenu((*_PRESETS, CUSTOM), "Last hour")
#: The Overview's fixed range.
OVERVIEW = "Last 24 hours"
#: The Tasks filter on the received time.
TASKS = RangeMenu(("Any time", *_PRESETS, CUSTOM), "Any time", ends_now=False)
#: The Audit log.
AUDIT = RangeMenu(
    ("Last 24 hours", "Last 7 days", "Last 30 days", "Everything"), "Last 24 hours", ends_now=False
)


def resolve(
    menu: RangeMenu,
    choice: str,
    now: datetime,
    tz: tzinfo,
    dates: tuple[date, ...] = (),
) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` in UTC for ``choice``; ``dates`` are the custom days picked so far."""
    if choice == CUSTOM:
        if len(dates) != 2:
            return None, None
        start = datetime.combine(dates[0], datetime.min.time(), tz)
        end = datetime.combine(dates[1], datetime.max.time(), tz)
        return start.astimezone(UTC), end.astimezone(UTC)
    if choice in UNBOUNDED:
        return None, None
    now = now.astimezone(UTC)
    return now - SPANS[choice], (now if menu.ends_now else None)


def default_dates(now: datetime, tz: tzinfo) -> tuple[date, date]:
    """The custom range offered first: yesterday and today in the viewer's timezone."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=1), today


def custom_label(dates: tuple[date, date]) -> str:
    """``"2026-01-01 – 2026-01-07"``."""
    return f"{dates[0]:%Y-%m-%d} – {dates[1]:%Y-%m-%d}"


def scope(label: str) -> str:
    """A range as a phrase: a preset reads "the last 7 days", custom dates "the range …"."""
    return f"the {label.lower()}" if label in SPANS else f"the range {label}"
