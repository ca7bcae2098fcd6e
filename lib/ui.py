"""Shared Streamlit widgets and formatting: the one ``lib`` module that imports streamlit.

Pages get their settings, the shared ``ClusterMonitor``, readings with their error banners,
localized tables and ``Download CSV`` buttons from here, so every screen says the same things
the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from lib import frames
from lib.errors import ConsoleError, FlowerNotFound, SettingsError
from lib.export import csv_bytes
from lib.monitor import ClusterMonitor, Reading
from lib.settings import Settings, load_settings

__all__ = [
    "ago",
    "download_csv",
    "fmt_percent",
    "fmt_seconds",
    "get_monitor",
    "get_settings",
    "load_tasks",
    "local_frame",
    "page",
    "show_reading",
    "task_detail",
    "time_range",
    "viewer_tz",
]


def get_settings() -> Settings:
    """The configuration, or one clear error on screen and a stopped script."""
    try:
        secrets = dict(st.secrets) if _has_secrets() else {}
        return load_settings(os.environ, secrets)
    except SettingsError as exc:
        st.error(str(exc), icon="⚙️")
        st.stop()
        raise  # st.stop() raises; this line is for type checkers


def _has_secrets() -> bool:
    try:
        return len(st.secrets) >= 0
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_resource(show_spinner=False)
def _monitor_for(key: str, _settings: Settings) -> ClusterMonitor:
    return ClusterMonitor(_settings)


def get_monitor(settings: Settings) -> ClusterMonitor:
    """The one monitor per configuration, shared by every browser session."""
    return _monitor_for(repr(settings), settings)


def page(title: str) -> tuple[Settings, ClusterMonitor]:
    """Start a page: its title, the login-off banner when it applies, settings and monitor."""
    settings = get_settings()
    st.title(title)
    if not settings.auth_enabled:
        st.warning(
            "Login is off (OPS_AUTH=off): anyone who can reach this port uses the console.",
            icon="🔓",
        )
    return settings, get_monitor(settings)


def load_tasks(monitor: ClusterMonitor, force: bool = False) -> Reading[pd.DataFrame]:
    """The tasks reading; the first load of a large Flower shows a progress bar."""
    if monitor.sync.last_success is not None and not force:
        return monitor.tasks()
    bar = st.progress(0.0, text="Loading tasks from Flower…")

    def progress(done: int, total: int | None) -> None:
        share = min(done / total, 1.0) if total else 1 - 1 / (1 + done / 5000)
        of = f" of {total:,}" if total else ""
        bar.progress(share, text=f"Loading tasks from Flower… {done:,}{of}")

    try:
        return monitor.tasks(progress=progress, force=force)
    finally:
        bar.empty()


def show_reading(reading: Reading, what: str) -> bool:
    """Say what is wrong with a reading; True when there is a value to show."""
    if reading.error is not None and reading.value is None:
        st.error(f"No {what} to show yet. {reading.error}", icon="🚫")
        return False
    if reading.error is not None:
        st.warning(
            f"Showing the last good {what}, read {ago(_age(reading.at))}; the latest refresh "
            f"failed. {reading.error}",
            icon="⏳",
        )
    if reading.note:
        st.caption(reading.note)
    return reading.value is not None


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


def download_csv(frame: pd.DataFrame, file_stem: str, key: str) -> None:
    """The ``Download CSV`` button for exactly ``frame``'s rows and columns."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    st.download_button(
        "Download CSV",
        data=_csv_maker(frame),
        file_name=f"{file_stem}-{stamp}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def _csv_maker(frame: pd.DataFrame) -> Callable[[], bytes]:
    # Built on click, not on every rerun: a 100k-row CSV is too slow to make speculatively.
    return lambda: csv_bytes(frame)


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


def _age(at: float | None) -> float | None:
    return None if at is None else datetime.now(UTC).timestamp() - at


TIMES = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "timestamp")


def task_detail(monitor: ClusterMonitor, task_id: str, tz: ZoneInfo) -> None:
    """One task in full: identity, times, arguments, outcome and lineage links."""
    try:
        task = monitor.task(task_id)
    except FlowerNotFound:
        st.warning(f"Flower does not know task {task_id} (never seen, or evicted from its memory).")
        return
    except ConsoleError as exc:
        st.error(f"Could not load task {task_id}. {exc}", icon="🚫")
        return
    row = local_frame(frames.tasks_frame([task]), tz).iloc[0]
    st.subheader(f"Task {task_id}")
    cols = st.columns(5)
    for col, field in zip(cols, ("name", "state", "worker", "queue", "retries"), strict=True):
        col.metric(field.capitalize(), _text(row[field]))
    times = {f: row[f] for f in TIMES if pd.notna(row[f])}
    st.dataframe(pd.DataFrame([times]), hide_index=True) if times else st.caption("No timestamps.")
    st.caption(
        f"Duration {fmt_seconds(row['duration'])} · wait {fmt_seconds(row['wait'])} · times in {tz}"
    )
    # Task data is shown as code, never as markdown or HTML: it is whatever a producer sent.
    for field in ("args", "kwargs", "result", "exception", "traceback"):
        if pd.notna(row[field]) and row[field] != "":
            st.text(field)
            st.code(row[field], language=None, wrap_lines=True)
    _lineage_links(frames.task_lineage(frames.tasks_frame([task]), task_id))


def _lineage_links(lineage: dict[str, list[str]]) -> None:
    for label, ids in lineage.items():
        if not ids:
            continue
        st.text(label)
        for other in ids[:50]:
            st.button(other, key=f"link_{label}_{other}", on_click=_open_task, args=(other,))


def _open_task(task_id: str) -> None:
    st.query_params["task"] = task_id


def _text(value: object) -> str:
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


#: The analytics time ranges; "Custom" asks for two dates.
TIME_RANGES = {
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Custom": None,
}


def time_range(now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """The analytics range picker, one choice shared by every analytics page of a session.

    Returns ``(start, end, label)`` in UTC. Widget state is dropped on page change, so the
    choice is kept under a plain session key as well.
    """
    now = now or datetime.now(UTC)
    names = list(TIME_RANGES)
    chosen = st.session_state.get("analytics_range", "Last hour")
    label = st.selectbox("Time range", names, index=names.index(chosen), key="time_range_pick")
    st.session_state["analytics_range"] = label
    if TIME_RANGES[label] is not None:
        return now - TIME_RANGES[label], now, label
    tz = viewer_tz()
    today = now.astimezone(tz).date()
    default = st.session_state.get("analytics_dates", (today - timedelta(days=1), today))
    picked = st.date_input("Between", default, key="time_range_dates")
    if not (isinstance(picked, tuple) and len(picked) == 2):
        st.caption("Pick an end date.")
        st.stop()
    st.session_state["analytics_dates"] = picked
    start = datetime.combine(picked[0], datetime.min.time(), tz).astimezone(UTC)
    end = datetime.combine(picked[1], datetime.max.time(), tz).astimezone(UTC)
    return start, end, f"{picked[0]:%Y-%m-%d} – {picked[1]:%Y-%m-%d}"
