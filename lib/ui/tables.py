"""Tables and their downloads: one column-format declaration for every screen.

``table`` shows a frame the console's way: datetimes in the viewer's timezone, every column
formatted by ``COLUMN_FORMATS`` (by column name, the same wherever the column appears), full
width, no index, and ``Download CSV`` with ``Download JSON`` beside it for exactly the rows and
columns shown (``downloads``: both files from the same frame, made on click by ``lib.export``).
Every link column's links name the chosen cluster (``lib.ui.clusters.scoped_link``), so one
place keeps a link column's new tab on the cluster it was opened from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from lib.export import csv_bytes, json_bytes
from lib.ui import keys
from lib.ui.clusters import scoped_link
from lib.ui.formatting import local_frame, viewer_tz

__all__ = [
    "COLUMN_FORMATS",
    "column_formats",
    "download_csv",
    "download_file",
    "download_json",
    "downloads",
    "json_key",
    "keep_selection_valid",
    "pick_row",
    "table",
]

_NUMBER = st.column_config.NumberColumn
#: Every datetime column: seconds, in the viewer's timezone (``local_frame``).
DATETIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
#: Rates and shares are percents with one decimal, the console's way (``fmt_percent``).
_PERCENT = (
    "failure_rate",
    "share",
    "utilization",
    "pool_utilization",
    "success_rate",
    "error_rate",
)
#: Durations are float seconds: the unit in the header, milliseconds shown.
_SECONDS = ("duration", "wait", "mean", "p50", "p95", "p99", "max", "avg_runtime", "p95_runtime",
            "busy_seconds", "runtime", "elapsed", "eta")  # fmt: skip

#: The one declaration of how a column looks, by its name (the CSV keeps the raw values).
COLUMN_FORMATS: dict[str, object] = {
    **{c: _NUMBER(format="%.1f%%") for c in _PERCENT},
    **{c: _NUMBER(f"{c} (s)", format="%.3f") for c in _SECONDS},
    **{c: _NUMBER(format="%.3f") for c in ("succeeded_per_s", "failed_per_s")},
    "progress": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.1f%%"),
    "last_heartbeat": st.column_config.DatetimeColumn(
        "last heartbeat", format="YYYY-MM-DD HH:mm:ss"
    ),
    "uptime": _NUMBER("uptime (s)", format="%d"),
    "up_since": st.column_config.DatetimeColumn(
        "up since",
        format="YYYY-MM-DD HH:mm:ss",
        help="When the worker's current process started (its inspect reply's time − uptime)",
    ),
    "flag": st.column_config.TextColumn(
        "flag",
        help="orphaned: running on a worker that is offline or restarted since; stuck: "
        "RECEIVED/STARTED over 3× its name's p99 (7 days, ≥ 20 runs, ≥ 5 min)",
    ),
    "messages": _NUMBER("waiting", help="Messages waiting in the broker"),
    "received_per_min": _NUMBER("received / min (10 min)", format="%.1f"),
    "avg_wait": _NUMBER("avg wait (s, 10 min)", format="%.2f"),
    "main_peak_rss_mib": _NUMBER(
        "main process peak RSS (MiB)",
        format="%.1f",
        help="Celery's rusage maxrss: the worker's main process only, not its prefork children",
    ),
}


def column_formats(frame: pd.DataFrame) -> dict[str, object]:
    """The declared formats of ``frame``'s columns; any other datetime column gets ``DATETIME``."""
    found = {c: COLUMN_FORMATS[c] for c in frame.columns if c in COLUMN_FORMATS}
    for col in frame.columns:
        if col not in found and pd.api.types.is_datetime64_any_dtype(frame[col]):
            found[col] = DATETIME
    return found


def table(
    frame: pd.DataFrame,
    stem: str,
    *,
    csv_key: str | None = None,
    columns: dict[str, object] | None = None,
    download: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    **select,
):
    """``frame`` as the console's table with its ``Download CSV`` and ``Download JSON`` (files
    ``<stem>-<time>.csv`` and ``.json``).

    ``columns`` adds a table's own column formats (a link column); ``download`` is what the
    files hold when not the table's rows (in the viewer's timezone too; a function is called on
    click only); ``select`` passes ``key``, ``on_select`` and ``selection_mode`` through.
    Returns the selection event.
    """
    tz = viewer_tz()
    config = {**column_formats(frame), **(columns or {})}
    shown = _scoped_links(local_frame(frame, tz), config)
    event = st.dataframe(shown, hide_index=True, width="stretch", column_config=config, **select)
    if download is None:
        rows = shown
    elif callable(download):
        rows = lambda: local_frame(download(), tz)  # noqa: E731
    else:
        rows = local_frame(download, tz)
    downloads(rows, stem, key=csv_key or f"{stem}_csv")
    return event


def _scoped_links(frame: pd.DataFrame, config: dict[str, object]) -> pd.DataFrame:
    """Every link column's links naming the chosen cluster (``scoped_link``): a link opens a
    new tab, a new session, which knows the cluster only from the address."""
    for column, how in config.items():
        kind = how.get("type_config", {}).get("type") if isinstance(how, dict) else None
        if kind == "link" and column in frame.columns:
            frame[column] = frame[column].map(scoped_link, na_action="ignore")
    return frame


def pick_row(frame: pd.DataFrame, column: str, stem: str, *, key: str) -> str | None:
    """``frame`` as a single-row-select ``table``; the picked row's ``column`` value, if any.

    The selection is cleared when the rows change: a selection holds row positions, not ids.
    """
    keep_selection_valid(key, frame[column])
    event = table(frame, stem, key=key, on_select="rerun", selection_mode="single-row")
    rows = [r for r in event.selection.rows if r < len(frame)]
    return frame[column].iloc[rows[0]] if rows else None


def downloads(frame: pd.DataFrame | Callable[[], pd.DataFrame], file_stem: str, key: str) -> None:
    """``Download CSV`` and, beside it, ``Download JSON``: the same rows and columns.

    ``key`` is the CSV button's; the JSON button's is ``json_key(key)``.
    """
    with st.container(horizontal=True, gap="small"):
        download_csv(frame, file_stem, key=key)
        download_json(frame, file_stem, key=json_key(key))


def json_key(csv_key: str) -> str:
    """The ``Download JSON`` button's key beside the CSV button ``csv_key``."""
    return f"{csv_key.removesuffix('_csv')}_json"


def download_csv(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], file_stem: str, key: str
) -> None:
    """The ``Download CSV`` button for exactly ``frame``'s rows and columns.

    ``frame`` may be a function that makes it, called only on click: for a table with more rows
    than the page shows (the Audit log), built in full only when someone downloads it.
    """
    _download_table(frame, file_stem, key, "csv")


def download_json(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], file_stem: str, key: str
) -> None:
    """The ``Download JSON`` button: ``frame``'s rows as records (``lib.export.json_bytes``)."""
    _download_table(frame, file_stem, key, "json")


#: Each format a table leaves in: its button's label, the file's MIME type, the icon, the maker.
_FORMATS: dict[str, tuple[str, str, str, Callable[[pd.DataFrame], bytes]]] = {
    "csv": ("Download CSV", "text/csv", ":material/download:", csv_bytes),
    "json": ("Download JSON", "application/json", ":material/data_object:", json_bytes),
}


def _download_table(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], file_stem: str, key: str, kind: str
) -> None:
    label, mime, icon, to_bytes = _FORMATS[kind]
    # Built on click, not on every rerun: a 100k-row CSV is too slow to make speculatively.
    make = lambda: to_bytes(frame() if callable(frame) else frame)  # noqa: E731
    download_file(label, make, f"{file_stem}.{kind}", mime, key=key, icon=icon)


def download_file(
    label: str, make: Callable[[], bytes], file_name: str, mime: str, *, key: str, icon: str
) -> None:
    """A download button whose file ``make()`` builds on click (in Streamlit's thread, without
    a rerun); the file is ``file_name`` with the UTC time before its extension."""
    stem, _, ext = file_name.rpartition(".")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    st.download_button(
        label,
        data=make,
        file_name=f"{stem}-{stamp}.{ext}",
        mime=mime,
        key=key,
        on_click="ignore",
        icon=icon,
    )


def keep_selection_valid(key: str, ids: pd.Series) -> None:
    """Clear a table's row selection when its rows changed: selections are row positions."""
    fingerprint = hash(tuple(ids))
    if st.session_state.get(keys.selection_fingerprint(key)) != fingerprint:
        st.session_state[keys.selection_fingerprint(key)] = fingerprint
        st.session_state[key] = {"selection": {"rows": [], "columns": []}}
