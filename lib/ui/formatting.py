"""How the console writes times, durations, rates and untrusted text on screen.

Every screen formats the same things the same way through here: ages (``ago``), durations,
percents, "read at … (ago)", datetimes in the viewer's timezone, and markdown-safe text with
the console's secrets scrubbed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from lib.redact import SCRUBBER
from lib.store import text_search

__all__ = [
    "age",
    "ago",
    "fmt_percent",
    "fmt_seconds",
    "local_frame",
    "md_escape",
    "read_at",
    "short_search_note",
    "text",
    "viewer_tz",
]


#: Characters Markdown reads as markup.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$])")
#: A URL as messages write it (no space, bracket or backtick inside).
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s()<>`]+", re.IGNORECASE)


def md_escape(text: str) -> str:
    """``text`` safe inside markdown: task data and Flower's words are never markup.

    Every message built from an exception goes through here, so the console's secrets are
    scrubbed here too.
    """
    text = SCRUBBER(str(text))
    # A URL becomes code: Markdown would autolink it and show every escape inside the link.
    parts, last = [], 0
    for found in URL.finditer(text):
        url = found.group(0).rstrip(".,;:!?")
        parts += [_MARKUP.sub(r"\\\1", text[last : found.start()]), f"`{url}`"]
        last = found.start() + len(url)
    parts.append(_MARKUP.sub(r"\\\1", text[last:]))
    return "".join(parts)


def viewer_tz() -> ZoneInfo:
    """The browser's timezone (UTC when the browser does not say)."""
    name = getattr(st.context, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_frame(frame: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """A copy of ``frame`` with every UTC datetime column shown in ``tz``."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert(tz)
    return out


def ago(seconds: float | None) -> str:
    """``"just now"``, ``"42 s ago"``, ``"2 m ago"``, ``"3 h ago"``, ``"5 d ago"``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "never"
    if seconds < 2:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def fmt_seconds(seconds: float | None) -> str:
    """A duration for a KPI: ``"0.25 s"``, ``"12.3 s"``, ``"4 m 05 s"``; ``"—"`` when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} m {rest:02d} s"


def fmt_percent(value: float | None) -> str:
    """A percent with one decimal, the console's way of showing rates (``"0.9%"``)."""
    return "—" if value is None else f"{value:.1f}%"


def age(at: float | None) -> float | None:
    return None if at is None else datetime.now(UTC).timestamp() - at


def text(value: object) -> str:
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def short_search_note(since: float, tz: ZoneInfo) -> str:
    """What a Tasks page read for a text search too short for the index, on a big store."""
    when = datetime.fromtimestamp(since, UTC).astimezone(tz)
    return (
        f"A search of 1 or 2 characters reads only the newest {text_search.SHORT_WINDOW:,} tasks (since "
        f"{when:%Y-%m-%d %H:%M:%S %Z}); type 3 or more characters to search every stored task."
    )


def read_at(at: float, tz: ZoneInfo, with_age: bool = True) -> str:
    """When a reading was taken, in ``tz``: ``"12:00:05 CET (42 s ago)"``."""
    when = f"{datetime.fromtimestamp(at, UTC).astimezone(tz):%H:%M:%S %Z}"
    return f"{when} ({ago(age(at))})" if with_age else when
