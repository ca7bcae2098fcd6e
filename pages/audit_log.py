"""Audit log: every action taken through the console, who took it, and what Flower answered."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from lib import ui

SPANS = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30, "Everything": None}

settings, monitor = ui.page("Audit log")
desk = ui.get_desk(settings, monitor)

span = st.selectbox("Time", list(SPANS), key="audit_span")
days = SPANS[span]
since = (datetime.now(UTC) - timedelta(days=days)).timestamp() if days else None
log = desk.audit.frame(since)
c1, c2 = st.columns(2)
users = c1.multiselect("User", sorted(log["user"].unique()), key="audit_users")
actions = c2.multiselect("Action", sorted(log["action"].unique()), key="audit_actions")
if users:
    log = log[log["user"].isin(users)]
if actions:
    log = log[log["action"].isin(actions)]

st.caption(
    f"{len(log):,} entries. A row is written before the request is sent and completed after; "
    "'outcome unknown' means the console stopped in between."
)
if log.empty:
    st.info("No actions recorded in this period.")
shown = ui.local_frame(log, ui.viewer_tz())
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "time": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
        "finished": st.column_config.DatetimeColumn("finished", format="YYYY-MM-DD HH:mm:ss"),
    },
)
ui.download_csv(shown, "audit-log", key="audit_csv")

# Which targets of one action were sent, failed (and why), not tried or skipped (issue 10).
st.subheader("Targets of one action")
if not shown.empty:
    label = {
        op: f"{at:%Y-%m-%d %H:%M:%S} · {user} · {action} · {count} target(s) · {outcome}"
        for op, at, user, action, count, outcome in shown[
            ["op_id", "time", "user", "action", "count", "outcome"]
        ].itertuples(index=False)
    }
    op_id = st.selectbox(
        "Action",
        list(label),
        index=None,
        format_func=label.get,
        placeholder="Choose an action to see what happened to each target",
        key="audit_pick",
    )
    targets = ui.local_frame(desk.audit.targets_frame(op_id or ""), ui.viewer_tz())
    if op_id is not None and targets.empty:
        st.caption("No per-target record: this action was logged before targets were recorded.")
    elif op_id is not None:
        counts = targets["outcome"].value_counts().items()
        st.caption(", ".join(f"{n:,} {outcome}" for outcome, n in counts))
        st.dataframe(targets, hide_index=True, width="stretch", key="audit_targets")
        ui.download_csv(targets, "audit-targets", key="audit_targets_csv")
