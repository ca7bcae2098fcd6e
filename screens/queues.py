"""Queues: waiting messages per queue from the broker, who consumes them, and recent traffic."""

from datetime import UTC, datetime

import streamlit as st

from lib import ui

settings, monitor = ui.page("Queues")


@st.fragment(run_every=settings.poll_seconds)
def queues_table() -> None:
    reading = monitor.queues()
    # Consumers come from the workers and traffic from the tasks: say what is wrong with them.
    ui.show_reading(monitor.workers(), "workers")
    ui.show_reading(monitor.tasks(), "tasks")
    if not ui.show_reading(reading, "queue depths"):
        return
    frame = reading.value
    read_at = datetime.fromtimestamp(reading.at, UTC).astimezone(ui.viewer_tz())
    age = datetime.now(UTC).timestamp() - reading.at
    st.caption(f"Data read at {read_at:%H:%M:%S %Z} ({ui.ago(age)}).")
    if frame.empty:
        st.info("No queues known yet: no worker consumes from one and no task was routed to one.")
        return
    idle = frame[(frame["consumers"] == 0) & (frame["messages"].fillna(0) > 0)]
    if len(idle):
        waiting = ui.md_escape(", ".join(idle["queue"]))
        st.warning(f"Messages wait with no consumer in: {waiting}.", icon="⚠️")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "messages": st.column_config.NumberColumn(
                "waiting", help="Messages waiting in the broker"
            ),
            "received_per_min": st.column_config.NumberColumn(
                "received / min (10 min)", format="%.1f"
            ),
            "avg_wait": st.column_config.NumberColumn("avg wait (s, 10 min)", format="%.2f"),
        },
    )
    ui.download_csv(frame, "queues", key="queues_csv")


queues_table()

desk = ui.get_desk(settings, monitor)
actor = ui.current_actor(settings)
ui.action_dialog(desk, actor)
workers = monitor.workers().value
if workers is not None and not workers.empty and ui.allows_admin(actor):
    st.subheader("Consumers")
    online = workers.loc[workers["online"], "worker"].tolist()
    worker = st.selectbox("Worker", online, key="queue_worker")
    ui.consumer_controls(actor, [worker] if worker else [], key="queue_ctl")
