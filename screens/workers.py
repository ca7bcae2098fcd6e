"""Workers: one row per worker Flower has seen, offline ones marked; worker controls for admins."""

import streamlit as st

from lib import ui

console = ui.page("Workers")
monitor = console.monitor
actor = ui.current_actor(console.settings)
acted = ui.action_dialog(console, actor)


@st.fragment(run_every=console.settings.poll_seconds)
def workers_table() -> None:
    reading = monitor.workers(force=acted is not None)
    if not ui.show_reading(reading, "workers"):
        return
    frame = reading.value
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


workers_table()

known = monitor.workers().value
if known is not None and not known.empty and ui.allows_admin(actor):
    st.subheader("Controls")
    worker = st.selectbox("Worker", known["worker"].tolist(), key="control_worker")
    ui.worker_controls(actor, worker, task_types=ui.task_types(monitor))
