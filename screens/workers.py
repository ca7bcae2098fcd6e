"""Workers: one row per worker Flower has seen, offline ones marked; worker controls for admins."""

import streamlit as st

from lib import ui

settings, monitor = ui.page("Workers")
desk = ui.get_desk(settings, monitor)
actor = ui.current_actor(settings)
acted = ui.action_dialog(desk, actor)


@st.fragment(run_every=settings.poll_seconds)
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
    shown = ui.local_frame(frame, ui.viewer_tz())
    shown.insert(1, "status", frame["online"].map({True: "🟢 online", False: "⚪ offline"}))
    shown.insert(3, "heartbeat", frame["heartbeat_age"].map(ui.ago))
    shown = shown.drop(columns=["online", "heartbeat_age"])
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "last_heartbeat": st.column_config.DatetimeColumn(
                "last heartbeat", format="YYYY-MM-DD HH:mm:ss"
            ),
            "uptime": st.column_config.NumberColumn("uptime (s)", format="%d"),
        },
    )
    ui.download_csv(shown, "workers", key="workers_csv")


workers_table()

known = monitor.workers().value
if known is not None and not known.empty and ui.allows_admin(actor):
    st.subheader("Controls")
    worker = st.selectbox("Worker", known["worker"].tolist(), key="control_worker")
    ui.worker_controls(actor, worker, task_types=ui.task_types(monitor))
