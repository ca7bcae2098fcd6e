"""The one time-range picker: Tasks, the Audit log and the analytics pages.

Which ranges a page offers and how they resolve is ``lib.time_range`` (pure, tested); this
module only asks. A ``Picker`` names the widgets; the analytics picker remembers its choice
across pages of a session (widget state is dropped on page change, a plain key is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from lib import time_range as ranges
from lib.ui import keys
from lib.ui.formatting import md_escape, viewer_tz

__all__ = ["ANALYTICS", "AUDIT", "TASKS", "Picker", "TimeRange", "held_since_note", "time_range"]


@dataclass(frozen=True)
class Picker:
    """How a page asks for its range: menu, labels, widget keys."""

    menu: ranges.RangeMenu
    label: str
    key: str
    dates_key: str = ""  # the custom dates' widget (menus with Custom)
    dates_label: str = "Between"
    shared: bool = False  # one choice for every page using this picker (session keys)
    needs_dates: bool = False  # Custom without two dates stops the page (else: no bounds)


ANALYTICS = Picker(
    ranges.ANALYTICS,
    "Time range",
    "time_range_pick",
    "time_range_dates",
    shared=True,
    needs_dates=True,
)
TASKS = Picker(ranges.TASKS, "Received", "filter_range", "filter_dates", "Received between")
AUDIT = Picker(ranges.AUDIT, "Time", "audit_span")


@dataclass(frozen=True)
class TimeRange:
    """The chosen range in UTC (``None``: no bound) and its label for captions."""

    start: datetime | None
    end: datetime | None
    label: str


def time_range(picker: Picker = ANALYTICS, now: datetime | None = None, place=st) -> TimeRange:
    """Ask for a range with ``picker`` (the select box in ``place``), resolved in the
    viewer's timezone."""
    now, tz, choices = now or datetime.now(UTC), viewer_tz(), list(picker.menu.choices)
    chosen = st.session_state.get(keys.ANALYTICS_RANGE) if picker.shared else None
    index = choices.index(chosen if chosen in choices else picker.menu.default)
    label = place.selectbox(picker.label, choices, index=index, key=picker.key)
    if picker.shared:
        st.session_state[keys.ANALYTICS_RANGE] = label
    dates = _custom_dates(picker, now) if label == ranges.CUSTOM else ()
    start, end = ranges.resolve(picker.menu, label, now, tz, dates)
    return TimeRange(start, end, ranges.custom_label(dates) if dates else label)


def _custom_dates(picker: Picker, now: datetime) -> tuple:
    """The two custom dates, or () until both are picked (or a stop, when the page needs them)."""
    default = ranges.default_dates(now, viewer_tz())
    if picker.shared:
        default = st.session_state.get(keys.ANALYTICS_DATES, default)
    picked = st.date_input(picker.dates_label, default, key=picker.dates_key)
    if not (isinstance(picked, tuple) and len(picked) == 2):
        if picker.needs_dates:
            st.caption("Pick an end date.")
            st.stop()
        return ()
    if picker.shared:
        st.session_state[keys.ANALYTICS_DATES] = picked
    return picked


def held_since_note(since: datetime | None, span: TimeRange) -> None:
    """A caption when the store's data reach back less far than the range
    (``ClusterMonitor.held_since``; None: the range is covered, nothing to say).

    "The store holds tasks since 09:05 (Europe/Berlin); the last 7 days can't be shown before
    that." — in the viewer's timezone, with the date when it is not today there.
    """
    if since is None:
        return
    tz = viewer_tz()
    local = since.astimezone(tz)
    today = datetime.now(UTC).astimezone(tz).date()
    when = f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"
    scope = ranges.scope(span.label)
    st.caption(
        md_escape(f"The store holds tasks since {when} ({tz}); {scope} can't be shown before that.")
    )
