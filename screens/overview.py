"""Overview: the cluster at a glance — KPIs, what needs attention, the last hour's pulse, then
workers and queues in brief."""

from datetime import UTC, datetime

import streamlit as st

from lib import charts, frames, ui
from lib.frames import attention
from lib.time_range import OVERVIEW, SPANS

console = ui.page("Overview")
monitor = console.monitor


@st.fragment(run_every=console.settings.poll_seconds)
def overview() -> None:
    ui.firing_strip(monitor)  # what fires now, at the top; nothing when nothing does
    now = datetime.now(UTC)  # the preset is evaluated at the poll's time by the monitor
    tasks = monitor.analytics(now - SPANS[OVERVIEW], now, OVERVIEW)
    workers = monitor.workers()
    queues = monitor.queues()
    ui.show_reading(tasks, "tasks")
    ui.show_reading(workers, "workers")
    ui.show_reading(queues, "queue depths")
    if tasks.value is None or workers.value is None:
        return
    result = tasks.value
    kpi = frames.range_kpis(
        result.totals,
        result.runtime,
        workers.value,
        frames.backlog(queues.value),
        result.plan.start,
        monitor.held_since(result.plan.start),
    )

    cols = st.columns(7)
    cols[0].metric("Workers online", f"{kpi['workers_online']}/{kpi['workers_total']}")
    cols[1].metric("Processed", f"{kpi['processed']:,}")
    cols[2].metric("Failed", f"{kpi['failed']:,}")
    cols[3].metric("Error rate", ui.fmt_percent(kpi["error_rate"]))
    cols[4].metric("Avg runtime", ui.fmt_seconds(kpi["avg_runtime"]))
    cols[5].metric("p95 runtime", ui.fmt_seconds(kpi["p95_runtime"]))
    cols[6].metric("Queue backlog", "—" if kpi["backlog"] is None else f"{kpi['backlog']:,}")
    tz = ui.viewer_tz()
    if kpi["holds_less_than_window"]:
        since = kpi["oldest_task"].astimezone(tz)
        st.caption(
            f"Counts cover all the store holds: tasks finished since {since:%Y-%m-%d %H:%M %Z} "
            "(less than 24 h). Error rate = failed ÷ (succeeded + failed)."
        )
    else:
        st.caption(
            "Counts cover tasks finished in the last 24 h. Error rate = failed ÷ (succeeded + failed)."
        )
    ui.analytics_notes(result)
    ui.snapshot_download(console, kpi, (result.plan.start, result.plan.end))
    attention_and_pulse(tz)

    left, right = st.columns(2)
    with left:
        st.subheader("Workers")
        brief = workers.value[["worker", "online", "active", "processed", "queues"]]
        ui.table(brief, "workers-summary", csv_key="overview_workers_csv")
    with right:
        st.subheader("Queues")
        if queues.value is not None:
            brief = queues.value[["queue", "messages", "consumers", "running"]]
            ui.table(brief, "queues-summary", csv_key="overview_queues_csv")


def attention_and_pulse(tz) -> None:
    strip, pulse = st.columns([2, 3])
    with strip:
        st.subheader("Needs attention")
        ui.attention_strip(monitor.attention().value or [])
        st.caption(attention.RULES)
    with pulse:
        st.subheader("Last hour")
        reading = monitor.pulse()
        if reading.value is None or not reading.value["processed"].any():
            st.info("No task finished in the last hour.", icon="💤")
            return
        st.altair_chart(charts.pulse_chart(reading.value, tz), key="pulse", width="stretch")
        st.caption("Tasks processed (succeeded + failed) and failed per minute, at their finish.")


overview()
