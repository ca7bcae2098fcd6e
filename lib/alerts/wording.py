"""How the history rules' summaries say moments and spans, and their deep links.

Summaries are read in a notification, away from the console: moments are in UTC and say so
("09:14 UTC", with the date when it is not the day of ``now``); spans are rounded as people say
them ("5 min", "1.5 h"). Links are relative to the console (``OPS_PUBLIC_URL`` is prepended
when a notification is made) and follow the contract's deep links, their values URL-quoted.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib.alerts.readings import link

__all__ = ["SETUP_CHECK", "clock", "error_group_link", "span", "task_name_link"]

#: The Setup check page's url path (Streamlit's default from screens/setup_check.py).
SETUP_CHECK = "setup_check"


def clock(at: float, now: float) -> str:
    """``at`` as "09:14 UTC", or "2026-11-29 09:14 UTC" when not on ``now``'s UTC day."""
    moment, today = datetime.fromtimestamp(at, UTC), datetime.fromtimestamp(now, UTC)
    shown = moment.strftime("%H:%M" if moment.date() == today.date() else "%Y-%m-%d %H:%M")
    return f"{shown} UTC"


def span(seconds: float) -> str:
    """A span as people say it: "40 s", "5 min", "1.5 h", "2 d" (one decimal at most)."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 3600), ("h", 3600, 172800)):
        if seconds < below:
            return f"{round(seconds / size, 1 if size > 1 else 0):g} {unit}"
    return f"{round(seconds / 86400, 1):g} d"


def task_name_link(name: str) -> str:
    """The Tasks page filtered to one task name."""
    return link("tasks", name=name)


def error_group_link(group_id: str) -> str:
    """The Tasks page filtered to one error group."""
    return link("tasks", error_group=group_id)
