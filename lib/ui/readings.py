"""Readings on screen: the tasks load with its progress bar, and what is wrong with a reading.

Every reading (``lib.monitor.Reading``) is shown the same way: nothing to show yet (error),
the last good value marked stale (warning, with its age), or a note about the data (caption).
The console's own stores say the same: the error-category file and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pandas as pd
import streamlit as st

from lib import failures
from lib.audit import AuditError
from lib.errors import ConsoleError
from lib.monitor import FIRST_READ, ClusterMonitor, CollectorFailing, Reading
from lib.settings import Settings
from lib.store.histogram import RELATIVE_ERROR
from lib.trends.history import RangeAnalytics
from lib.ui.formatting import age, ago, md_escape, read_at, viewer_tz
from lib.ui.time_picker import TimeRange, held_since_note
from lib.workflows import MAX_META_READS, MetaCache

__all__ = [
    "analytics_notes",
    "audit_guard",
    "await_first_read",
    "backend_records",
    "error_rules",
    "explain",
    "job_records",
    "load_analytics",
    "load_failures",
    "load_tasks",
    "metrics",
    "show_reading",
    "sync_status",
    "training_records",
    "with_current_health",
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


def load_analytics(monitor: ClusterMonitor, span: TimeRange) -> Reading[RangeAnalytics]:
    """The range's analytics from the store, built once per poll and range for every session
    (a preset is evaluated at the poll's time); says first when the store's data start later."""
    held_since_note(monitor.held_since(span.start), span)
    return monitor.analytics(span.start, span.end, span.label)


def load_failures(
    monitor: ClusterMonitor, span: TimeRange, rules: tuple[failures.Rule, ...]
) -> Reading[pd.DataFrame]:
    """The failures placed in the range, categorized with ``rules`` (``failures_frame``), read
    from the store by window once per poll for every session."""
    return monitor.failures(span.start, span.end, span.label, rules)


def analytics_notes(result: RangeAnalytics) -> None:
    """Say what a range's figures cover when part of it comes from the rollups."""
    p = result.plan
    if not p.rolled:
        return
    tz = viewer_tz()
    shown = (
        ""
        if p.start == p.asked
        else f" The range is shown from its whole minute, {p.start.astimezone(tz):%Y-%m-%d %H:%M}."
    )
    st.caption(
        f"Raw successes before {p.split.astimezone(tz):%Y-%m-%d %H:%M} ({tz}) are pruned: counts "
        "there come from the store's per-minute rollups (exact); runtime and wait statistics "
        f"are estimated from its histograms (within ±{RELATIVE_ERROR:.1%}).{shown}"
    )


def explain(error: ConsoleError) -> str:
    """An error in plain words for this viewer: the collector's health with its times in the
    viewer's timezone (named), any other error as it says itself."""
    if isinstance(error, CollectorFailing):
        return error.sentence(viewer_tz())
    return str(error)


def show_reading(reading: Reading, what: str) -> bool:
    """Say what is wrong with a reading; True when there is a value to show."""
    if reading.error is not None and reading.value is None:
        st.error(f"No {what} to show yet. {md_escape(explain(reading.error))}", icon="🚫")
        return False
    if reading.error is not None:
        st.warning(
            f"Showing the last good {what}, read {ago(age(reading.at))}; the latest refresh "
            f"failed. {md_escape(explain(reading.error))}",
            icon="⏳",
        )
    if reading.note:
        st.caption(md_escape(reading.note))
    return reading.value is not None


def with_current_health(held: Reading[pd.DataFrame], monitor: ClusterMonitor) -> Reading:
    """A tasks reading a page keeps (rows must not move under a selection) with the collector's
    health as it is now: a kept banner would stop counting, and stay after Flower is back."""
    return replace(held, error=monitor.status().last_error)


def error_rules(settings: Settings) -> tuple[failures.Rule, ...]:
    """The error categories: the user's file first, else (with the reason shown) the defaults."""
    rules, problem = failures.rules_or_defaults(settings.error_rules_file)
    if problem is not None:
        st.error(f"{md_escape(problem)} Using the default categories.", icon="⚙️")
    return rules


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
        failed = md_escape(explain(status.last_error))
        st.error(f"Stale: the last refresh failed. {failed}", icon="⏳")
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
