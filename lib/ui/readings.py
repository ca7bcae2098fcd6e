"""Readings on screen: the tasks load with its progress bar, and what is wrong with a reading.

Every reading (``lib.monitor.Reading``) is shown the same way: nothing to show yet (error),
the last good value marked stale (warning, with its age), or a note about the data (caption).
The console's own stores say the same: the error-category file and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from lib import failures
from lib.audit import AuditError
from lib.errors import ConsoleError
from lib.monitor import FIRST_READ, ClusterMonitor, Reading
from lib.settings import Settings
from lib.ui.formatting import age, ago, md_escape, read_at, viewer_tz
from lib.workflows import MAX_META_READS, MetaCache

__all__ = [
    "audit_guard",
    "await_first_read",
    "backend_records",
    "error_rules",
    "job_records",
    "load_tasks",
    "metrics",
    "show_reading",
    "sync_status",
    "training_records",
]


#: A fresh server's first page waits at most this long for the collector's first poll.
FIRST_READ_WAIT = 5.0


def await_first_read(monitor: ClusterMonitor, settings: Settings) -> None:
    """On a fresh server, wait a bounded short time for the collector's first poll (with a
    spinner), then go on with what there is and say so, rather than block the page."""
    if monitor.synced:
        return
    with st.spinner("Reading the cluster for the first time…"):
        done = monitor.wait_first_read(min(settings.flower_timeout, FIRST_READ_WAIT))
    if not done:
        st.info(FIRST_READ, icon="⏳")


def load_tasks(monitor: ClusterMonitor, force: bool = False) -> Reading[pd.DataFrame]:
    """The tasks reading: the store's tasks as of the collector's latest poll (``force`` asks
    the collector to poll now; the page shows the change when that poll has ended)."""
    return monitor.tasks(force=force)


def show_reading(reading: Reading, what: str) -> bool:
    """Say what is wrong with a reading; True when there is a value to show."""
    if reading.error is not None and reading.value is None:
        st.error(f"No {what} to show yet. {md_escape(reading.error)}", icon="🚫")
        return False
    if reading.error is not None:
        st.warning(
            f"Showing the last good {what}, read {ago(age(reading.at))}; the latest refresh "
            f"failed. {md_escape(reading.error)}",
            icon="⏳",
        )
    if reading.note:
        st.caption(md_escape(reading.note))
    return reading.value is not None


def error_rules(settings: Settings) -> tuple[failures.Rule, ...]:
    """The error categories: the user's file first, else (with the reason shown) the defaults."""
    try:
        return failures.load_rules(settings.error_rules_file)
    except ConsoleError as exc:
        st.error(f"{md_escape(exc)} Using the default categories.", icon="⚙️")
        return failures.load_rules()


@contextmanager
def audit_guard() -> Iterator[None]:
    """Reads of the audit log: when it is unusable, say why in plain words and stop the run."""
    try:
        yield
    except AuditError as exc:
        st.error(
            f"{md_escape(exc)} Check the store (OPS_STORE_URL; by default a file in OPS_DATA_DIR: "
            "is it writable, with free space?); "
            "actions are refused until the audit log works again.",
            icon="🗄️",
        )
        st.stop()


def sync_status(monitor: ClusterMonitor) -> None:
    """The sidebar's status, from the collector's health: where it reads, when data last came
    in, what failed (never a page's own try)."""
    status = monitor.status()
    st.caption(f"Watching Flower at `{status.flower_url}`")
    if status.last_success is None and not status.catching_up:
        st.caption("No data from Flower yet.")
    elif status.last_success is None:  # a first load under way: its pages are on screen
        st.caption(f"{status.tasks_held:,} tasks loaded so far")
    else:
        held = f"{status.tasks_held:,} tasks"
        st.caption(f"Last good refresh {read_at(status.last_success, viewer_tz())} · {held}")
    if status.last_error is not None:
        st.error(f"Stale: the last refresh failed. {md_escape(status.last_error)}", icon="⏳")
    if status.catching_up:  # a full load runs in the collector: the tasks so far are shown
        st.caption(f"{status.catching_up} Pages show the newest tasks loaded so far.")


def backend_records(metas: MetaCache | None, ids: list[str]) -> dict[str, dict]:
    """Result-backend records (bounded, cached per poll); the last known ones when it fails.

    None without CELERY_RESULT_BACKEND: no records.
    """
    if metas is None:
        return {}
    got = metas.read(ids)
    if got.error:
        st.warning(f"Showing the last known progress. {md_escape(got.error)}", icon="⏳")
    if got.skipped:
        st.caption(f"{got.skipped} task(s) over the limit of {MAX_META_READS} reads were not read.")
    return {**metas.known(), **got.metas}


def training_records(
    monitor: ClusterMonitor, metas: MetaCache | None, ids: list[str]
) -> dict[str, dict]:
    """Training jobs' backend records as the collector read them this poll (the page reads
    nothing); read here (``job_records``) only when the collector does not read them."""
    got = monitor.training_metas()
    if got is None:
        return job_records(metas, ids)
    if got.error is not None:
        st.warning(f"Showing the last known progress. {md_escape(got.error)}", icon="⏳")
    if got.note:
        st.caption(got.note)
    return got.value or {}


def job_records(metas: MetaCache | None, ids: list[str]) -> dict[str, dict]:
    """``backend_records`` plus each job's last progress record: a failed job keeps the numbers
    it reported before its failure overwrote them in the backend."""
    return backend_records(metas, ids) | (metas.progress() if metas else {})


def metrics(values: dict[str, object]) -> None:
    """A row of KPIs, one column each; an unknown value shows as "—"."""
    for col, (label, value) in zip(st.columns(len(values)), values.items(), strict=True):
        col.metric(label, "—" if value is None else value)
