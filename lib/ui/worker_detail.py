"""One worker's detail on the Workers page (``Workers?worker=<name>``): status and heartbeat,
pool, prefetch and queues, the tasks it is busy with, registered task types and their limits,
utilization over the chosen range, and the worker controls for admins.

Everything is read from the collector's latest poll and the store (``lib.frames.worker_detail``
builds it); nothing here asks Flower. The page's charts below it (host load, the main process's
peak memory) are filtered to the worker already. Empty states say why: an unknown name, an
offline worker, inspect facts not read yet.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import pandas as pd
import streamlit as st

from lib import frames
from lib.auth import Actor
from lib.frames.worker_detail import RangeUsage, WorkerDetail, running_filter, worker_detail
from lib.frames.worker_facts import WorkerFacts
from lib.monitor import ClusterMonitor
from lib.ui.controls import allows_admin, task_types, worker_controls
from lib.ui.formatting import ago, fmt_percent, fmt_seconds, md_escape, viewer_tz
from lib.ui.tables import table
from lib.ui.time_picker import TimeRange
from lib.ui.wiring import Console

__all__ = ["RUNNING_SHOWN", "worker_detail_controls", "worker_detail_panel"]

#: The active tasks listed at most (a worker runs its pool's size; more means lost finishes).
RUNNING_SHOWN = 200
#: The active tasks table's link to each task (relative: works under any base path) and age.
ACTIVE_FORMATS = {
    "task": st.column_config.LinkColumn("task", display_text=r"task=(.*)$"),
    "busy_for": st.column_config.NumberColumn("busy for (s)", format="%.0f"),
}
NO_FACTS = (
    "Pool, prefetch, queues and task types come from Flower's inspect of the workers, which "
    "the collector has not read yet (it asks once a minute)."
)


def worker_detail_panel(console: Console, worker: str, span: TimeRange) -> None:
    """The detail of ``worker`` (its controls: ``worker_detail_controls``, outside a
    fragment); nothing for a name no reading knows (the workers table says it is unknown)."""
    monitor = console.monitor
    workers = monitor.workers()  # its banner and note: the workers table's, above
    facts = monitor.worker_facts()
    detail = worker_detail(
        worker,
        workers.value,
        facts.value,
        _running(monitor, worker),
        _usage(monitor, span),
        time.time(),
    )
    if not detail.known:
        if workers.value is None and facts.value is None:  # else the table said it
            st.info(f"Nothing is known of worker {md_escape(worker)} yet: no workers read yet.")
        return
    st.subheader(f"Worker {md_escape(worker)}")
    _status(detail)
    _pool(detail.facts)
    _active(detail)
    _task_types(detail.facts)
    _utilization(detail, span)


def worker_detail_controls(console: Console, actor: Actor, worker: str) -> None:
    """The worker controls of ``worker`` for admins, when a worker of that name is known."""
    monitor = console.monitor
    workers, facts = monitor.workers().value, monitor.worker_facts().value
    named = workers is not None and worker in set(workers["worker"])
    if allows_admin(actor) and (named or worker in (facts or {})):
        st.subheader("Controls")
        worker_controls(actor, worker, task_types=task_types(monitor))


def _running(monitor: ClusterMonitor, worker: str) -> pd.DataFrame:
    wanted = running_filter(worker, monitor.task_values()["state"])
    if wanted is None:
        return frames.tasks_frame([])
    page = monitor.task_page(wanted, RUNNING_SHOWN)
    return page.value.rows if page.value is not None else frames.tasks_frame([])


def _usage(monitor: ClusterMonitor, span: TimeRange) -> RangeUsage | None:
    result = monitor.analytics(span.start, span.end, span.label).value
    if result is None:
        return None
    return RangeUsage(result.usage, result.plan.start, result.busy_from, result.plan.end)


def _status(detail: WorkerDetail) -> None:
    tz = viewer_tz()
    status, since, beat = st.columns(3)
    if detail.online is None:
        status.metric("Status", "unknown")
        status.caption("Not in the latest workers reading; its facts are from an earlier inspect.")
    else:
        status.metric("Status", "🟢 online" if detail.online else "⚪ offline")
    when = "—" if detail.since is None else f"{detail.since.astimezone(tz):%Y-%m-%d %H:%M:%S}"
    since.metric("Since", when)
    since.caption(
        f"Online: since its current process started ({tz}). Offline: since its last heartbeat."
    )
    beat.metric(
        "Last heartbeat", ago(detail.heartbeat_age) if detail.heartbeat_age is not None else "—"
    )
    load, rss = st.columns(2)
    load.metric("Host load (1 m)", "—" if detail.load_1m is None else f"{detail.load_1m:.2f}")
    load.caption("The 1-minute load average of the worker's host: every process on it.")
    peak = detail.main_peak_rss_mib
    rss.metric("Main process peak RSS", "—" if peak is None else f"{peak:.1f} MiB")
    rss.caption(
        "Celery's rusage maxrss: the worker's main process only, not its prefork children. "
        "Both over time: the charts below."
    )
    if detail.online is False:
        st.warning(
            "This worker is offline: it runs nothing now, and tasks still shown running on it "
            "may never finish.",
            icon="⚪",
        )


def _pool(facts: WorkerFacts | None) -> None:
    if facts is None:
        st.info(NO_FACTS)
        return
    pool, size, prefetch = st.columns(3)
    pool.metric("Pool", facts.pool or "—")
    size.metric("Concurrency", "—" if facts.concurrency is None else str(facts.concurrency))
    if facts.autoscale:
        size.caption(f"Autoscale {md_escape(facts.autoscale)}.")
    prefetch.metric(
        "Prefetch count", "—" if facts.prefetch_count is None else str(facts.prefetch_count)
    )
    if facts.prefetch_multiplier is not None:
        prefetch.caption(f"worker_prefetch_multiplier {facts.prefetch_multiplier}.")
    queues = ", ".join(f"`{md_escape(q)}`" for q in facts.queues) or "none"
    st.markdown(f"**Queues consumed:** {queues}")
    if facts.inspected_at is not None:
        st.caption(f"From Flower's inspect, {ago(time.time() - facts.inspected_at)}.")


def _active(detail: WorkerDetail) -> None:
    st.markdown("**Active tasks**")
    active = detail.active
    if active is None or active.empty:
        st.caption("No task is running on this worker, as far as the store knows.")
        return
    st.caption(
        "Tasks running on this worker (STARTED or a custom state), the longest busy first; "
        "busy since their start (their receipt when the start event was missed: since_what)."
    )
    download = active.drop(columns="task")  # the uuid says which task; a relative link won't
    table(
        active,
        "worker-active-tasks",
        columns=ACTIVE_FORMATS,
        download=download,
        key="worker_active",
    )


def _task_types(facts: WorkerFacts | None) -> None:
    if facts is None:
        return
    st.markdown("**Registered task types**")
    st.caption(", ".join(f"`{md_escape(t)}`" for t in facts.registered) or "None registered.")
    st.markdown("**Rate and time limits**")
    if not facts.limits:
        st.caption("No rate or time limit in the worker's configuration or its pool's timeouts.")
    else:
        limits = pd.DataFrame([asdict(lim) for lim in facts.limits])
        table(limits, "worker-limits", key="worker_limits")
    st.caption(
        "Limits as the inspect data says them (task_annotations, task_*time_limit, the pool's "
        "timeouts); a limit set only in a task's decorator, or changed at run time with the "
        "controls, is not in what Flower keeps. Time limits in seconds."
    )


def _utilization(detail: WorkerDetail, span: TimeRange) -> None:
    st.markdown(f"**Utilization — {md_escape(span.label)}**")
    usage = detail.usage
    if usage is None:
        st.caption("No busy time on this worker in the range.")
        return
    busy, whole, slot = st.columns(3)
    busy.metric("Busy time", fmt_seconds(usage["busy_seconds"]))
    whole.metric("Busy ÷ wall time", fmt_percent(usage["utilization"]))
    slot.metric("Per slot", fmt_percent(usage["pool_utilization"]))
    st.caption(
        "Busy time: the part of each task's run inside the range. Per slot: busy time ÷ "
        "(wall time × pool size); a pool of 4 fully busy reads 400% busy ÷ wall, 100% per slot."
    )
