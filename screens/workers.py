"""Workers: their figures over the chosen range, then one row per worker Flower has seen,
offline ones marked; worker controls for admins. ``?worker=<name>`` filters both to that worker
and adds its detail, with its controls."""

import streamlit as st

from lib import charts, ui
from lib.frames import over_time

console = ui.page("Workers")
monitor = console.monitor
actor = ui.current_actor(console.settings)
acted = ui.action_dialog(console, actor)
span = ui.time_range()
picked = ui.focus("worker", "worker")  # ?worker=<name> opens that worker
#: How a step's point is made of its samples (lib.store.samples.worker_figures_frame).
HOW = "online if online in any sample, active tasks and load the step's mean, peak RSS its highest"
#: The session key saying whether the worker controls' section is open.
CONTROLS = "workers_controls"
#: The per-worker figures, one tab each (``charts.WORKER_FIGURES``), and what each one is.
FIGURE_TABS = {
    "Active tasks": "active",
    "Host load": "load",
    "Main process peak RSS": "main_peak_rss_mib",
}
FIGURE_NOTES = {
    "active": "Active tasks: the tasks each worker was running, the step's mean.",
    "load": "Host load: the 1-minute load average of each worker's host, from its heartbeats.",
    "main_peak_rss_mib": (
        "Main process peak RSS: Celery's rusage maxrss, the peak memory of each worker's main "
        "process only; its prefork child processes are not included."
    ),
}


@st.fragment(run_every=console.settings.poll_seconds)
def workers_over_time() -> None:
    history = monitor.worker_figures(span.start, span.end, span.label)
    sampled = ui.sampled_range(history, "worker samples", span, console.settings.poll_seconds, HOW)
    if sampled is None:
        return
    tz, figures = ui.viewer_tz(), sampled.frame
    if picked:
        figures = figures[figures["worker"] == picked]
    cluster = over_time.workers_over_time_frame(figures)
    online, busy = st.columns(2)
    online.altair_chart(charts.workers_online_chart(cluster, tz), key="online", width="stretch")
    busy.altair_chart(
        charts.pool_utilization_chart(cluster, tz), key="utilization", width="stretch"
    )
    busy.caption("Pool utilization: busy slots ÷ slots (active tasks ÷ pool size, online workers).")
    # One figure per worker at a time: a first visit draws 3 charts, not 5 (issue 12's 2 s).
    for figure, tab in ui.lazy_tabs(list(FIGURE_TABS), key="worker_figure").items():
        with tab:
            column = FIGURE_TABS[figure]
            st.altair_chart(
                charts.worker_figure_chart(figures, tz, column), key=column, width="stretch"
            )
            st.caption(FIGURE_NOTES[column])


@st.fragment(run_every=console.settings.poll_seconds)
def workers_table() -> None:
    reading = monitor.workers(force=acted is not None)
    if not ui.show_reading(reading, "workers"):
        return
    frame = reading.value
    if picked:
        frame = frame[frame["worker"] == picked]
        if frame.empty:
            st.info(f"No worker named {ui.md_escape(picked)} is known.")
            return
    if frame.empty:
        st.info(
            "Flower knows no workers yet. Workers appear once they send events: start them "
            "with `-E` (or Flower's default --enable_events) and check they use the same broker."
        )
        return
    online = int(frame["online"].sum())
    st.caption(f"{online} of {len(frame)} workers online. Heartbeat ages as of the last refresh.")
    shown = frame.copy()
    shown.insert(1, "status", frame["online"].map({True: "🟢 online", False: "⚪ offline"}))
    shown.insert(3, "heartbeat", frame["heartbeat_age"].map(ui.ago))
    ui.table(shown.drop(columns=["online", "heartbeat_age"]), "workers")


@st.fragment(run_every=console.settings.poll_seconds)
def worker_detail() -> None:
    ui.worker_detail_panel(console, picked, span)


st.subheader("Over time")
workers_over_time()
st.subheader("Now")
workers_table()
if picked:
    worker_detail()
    ui.waiting_for_worker(console, actor, picked)
    ui.worker_detail_controls(console, actor, picked)
else:
    known = monitor.workers().value
    if known is not None and not known.empty and ui.allows_admin(actor):
        st.subheader("Controls")
        # Closed until asked: a visit to read the page builds no form (issue 12's 2 s).
        if section := ui.lazy_section("Worker controls", key=CONTROLS):
            with section:
                worker = st.selectbox("Worker", known["worker"].tolist(), key="control_worker")
                ui.worker_controls(actor, worker, task_types=ui.task_types(monitor))
