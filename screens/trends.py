"""Trends: tasks, throughput and failure rate per bucket; latency, queue wait, workers."""

import streamlit as st

from lib import charts, trends, ui
from lib.trends.history import TOP as TOP_N

monitor = ui.page("Trends").monitor
tz = ui.viewer_tz()
span = ui.time_range()
reading = ui.load_analytics(monitor, span)
if not ui.show_reading(reading, "tasks"):
    st.stop()
result = reading.value
start, end, label = result.plan.start, result.plan.end, span.label
table = ui.table

size = trends.bucket_size(start, end)
totals = result.totals
st.caption(
    f"{label}: {start.astimezone(tz):%Y-%m-%d %H:%M} – {end.astimezone(tz):%Y-%m-%d %H:%M} "
    f"({tz}), in {trends.bucket_label(size)} buckets. A finished task counts at its finish "
    "time (succeeded, failed, revoked); any other task at the time it was received."
)
ui.analytics_notes(result)
if not totals["tasks"]:
    held = monitor.tasks_held()
    st.info(f"No tasks in this range ({label.lower()}). The store holds {held:,}.")
    st.stop()

cols = st.columns(4)
cols[0].metric("Tasks", f"{totals['tasks']:,}")
cols[1].metric("Succeeded", f"{totals['succeeded']:,}")
cols[2].metric("Failed", f"{totals['failed']:,}")
cols[3].metric("Failure rate", ui.fmt_percent(totals["failure_rate"]))


def throughput() -> None:
    trend = result.trend
    st.subheader("Tasks per bucket, by state")
    st.altair_chart(charts.state_trend_chart(result.state_trend, tz), width="stretch")
    st.subheader("Throughput")
    st.altair_chart(charts.throughput_chart(trend, tz), width="stretch")
    st.subheader("Failure rate")
    st.caption("Failed ÷ (succeeded + failed) per bucket; no point where nothing finished.")
    st.altair_chart(charts.failure_rate_chart(trend, tz), width="stretch")
    table(trend, "trend")


def breakdown(by: str, grouped) -> None:
    st.caption(f"The {TOP_N} {by}s with most tasks in the range; the rest as (other).")
    st.altair_chart(charts.breakdown_chart(grouped, tz, by), key=f"{by}_tasks", width="stretch")
    st.altair_chart(charts.failure_rate_chart(grouped, tz, by), key=f"{by}_rate", width="stretch")
    table(grouped, f"trend-by-{by}")


def latency() -> None:
    names = result.names
    st.subheader("Runtime per task name")
    st.caption(
        "Runtime: Flower's runtime for successes, failed − started for failures. Percentiles "
        "interpolate linearly between the nearest ranks"
        + (" (estimated from histograms: see above)." if result.estimated else ".")
    )
    table(names, "runtime-percentiles")
    busiest, slowest = st.columns(2)
    with busiest:
        st.subheader("Busiest")
        table(trends.top_names_frame(names, "tasks")[["name", "tasks", "failure_rate"]], "busiest")
    with slowest:
        st.subheader("Slowest (p95)")
        table(trends.top_names_frame(names, "p95")[["name", "runs", "p95", "max"]], "slowest")
    st.subheader("Runtime p95 over time")
    p95 = result.runtime_trend
    if p95.empty:
        st.info("No task finished in this range with a runtime.")
    else:
        st.altair_chart(charts.runtime_trend_chart(p95, tz), width="stretch")
    st.subheader("Queue wait")
    st.caption("Wait: started − sent (started − received when the sent event is missing).")
    waits = result.waits
    if waits.empty:
        st.info("No task in this range has both a start and a sent or received time.")
    else:
        st.altair_chart(charts.queue_wait_chart(waits), width="stretch")
        table(waits, "queue-wait")


def workers() -> None:
    st.caption(
        "Processed: succeeded + failed in the range. Utilization: busy time ÷ the range's wall "
        "time (400% = four pool processes busy throughout); pool utilization divides by the pool size."
    )
    if result.busy_from > result.plan.start:
        st.caption(
            f"Busy time, utilization and avg runtime cover {result.busy_from.astimezone(tz):%Y-%m-%d %H:%M} "
            "on (the store's usage rollups begin then: older raw successes were pruned before); "
            "processed and failed the whole range."
        )
    table(result.usage, "worker-usage")


TABS = {
    "Throughput": throughput,
    "By task name": lambda: breakdown("name", result.by_name),
    "By queue": lambda: breakdown("queue", result.by_queue),
    "Latency": latency,
    "Workers": workers,
}
# Only the open tab is built and sent: a first visit draws 3 charts, not 9 (issue 12's 2 s).
for label, tab in ui.lazy_tabs(list(TABS), key="trends_tab").items():
    with tab:
        TABS[label]()
