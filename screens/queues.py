"""Queues: depth per queue over the chosen range, then waiting messages per queue from the
broker, who consumes them, and recent traffic; ``?queue=<name>`` adds that queue's panel."""

import streamlit as st

from lib import charts, ui

console = ui.page("Queues")
monitor = console.monitor
span = ui.time_range()
picked = ui.focus("queue", "queue")  # ?queue=<name> opens that queue
#: How a step's point is made of its samples (lib.store.samples.queue_depth_frame).
HOW = "each queue's highest depth in the step"


@st.fragment(run_every=console.settings.poll_seconds)
def queues_table() -> None:
    reading = monitor.queues()
    # Consumers come from the workers and traffic from the tasks: say what is wrong with them.
    ui.show_reading(monitor.workers(), "workers")
    ui.show_reading(monitor.tasks(), "tasks")
    st.subheader("Depth over time")
    history = monitor.queue_depths(span.start, span.end, span.label)
    sampled = ui.sampled_range(history, "queue samples", span, console.settings.poll_seconds, HOW)
    if sampled is not None:
        depths = sampled.frame[sampled.frame["queue"] == picked] if picked else sampled.frame
        st.altair_chart(
            charts.queue_depth_chart(depths, ui.viewer_tz()), key="depths", width="stretch"
        )
    st.subheader("Now")
    if not ui.show_reading(reading, "queue depths"):
        return
    frame = reading.value[reading.value["queue"] == picked] if picked else reading.value
    st.caption(f"Data read at {ui.read_at(reading.at, ui.viewer_tz())}.")
    if frame.empty and picked:
        st.info(f"No queue named {ui.md_escape(picked)} is known.")
        return
    if frame.empty:
        st.info("No queues known yet: no worker consumes from one and no task was routed to one.")
        return
    frame = ui.with_pauses(frame, console.desk)
    ui.idle_warning(frame)
    ui.table(frame, "queues")


queues_table()

actor = ui.current_actor(console.settings)
if picked:
    ui.queue_panel(console, actor, picked)
ui.action_dialog(console, actor)
workers = monitor.workers().value
if workers is not None and not workers.empty and ui.allows_admin(actor):
    st.subheader("Consumers")
    # Closed until asked: a visit to read the page builds no form (issue 12's 2 s).
    if section := ui.lazy_section("Add or cancel a consumer", key="queues_consumers"):
        with section:
            online = workers.loc[workers["online"], "worker"].tolist()
            worker = st.selectbox("Worker", online, key="queue_worker")
            ui.consumer_controls(actor, [worker] if worker else [], key="queue_ctl")
