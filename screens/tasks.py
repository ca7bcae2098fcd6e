"""Tasks: filter, sort and search the synced tasks; act on a selection; open one for detail."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from lib import failures, frames, ui

#: The table would lag in the browser past this; the caption says when rows were left out.
MAX_ROWS = 10_000
RANGES = {
    "Any time": None,
    "Last 15 minutes": 900,
    "Last hour": 3600,
    "Last 6 hours": 21600,
    "Last 24 hours": 86400,
    "Last 7 days": 604800,
    "Custom": -1,
}

settings, monitor = ui.page("Tasks")
tz = ui.viewer_tz()
desk = ui.get_desk(settings, monitor)
actor = ui.current_actor(settings)
acted = ui.action_dialog(desk, actor)

# The table is a snapshot held per browser session: rows must not move under a selection.
refresh = st.button("Refresh", icon=":material/refresh:")
held = st.session_state.get("tasks_reading")
if refresh or acted or held is None or held.value is None:
    st.session_state.tasks_reading = ui.load_tasks(monitor, force=bool(refresh or acted))
    st.session_state.tasks_version = monitor.sync.version
reading = st.session_state.tasks_reading
ui.follow_up(monitor, st.session_state.tasks_version)
if not ui.show_reading(reading, "tasks"):
    st.stop()
all_tasks = reading.value
as_of = datetime.fromtimestamp(reading.at, UTC).astimezone(tz)
st.caption(f"{len(all_tasks):,} tasks as of {as_of:%H:%M:%S %Z}. Press Refresh for newer data.")

wanted = frames.filter_params({k: st.query_params.get_all(k) for k in st.query_params})
for field in ("state", "name", "worker", "queue"):
    st.session_state.setdefault(f"filter_{field}", wanted[field])


def options(column: str) -> list[str]:
    seen = set(all_tasks[column].dropna().unique())
    return sorted(seen | set(st.session_state[f"filter_{column}"]))


c1, c2, c3, c4 = st.columns(4)
states = c1.multiselect("State", options("state"), key="filter_state")
names = c2.multiselect("Task name", options("name"), key="filter_name")
workers = c3.multiselect("Worker", options("worker"), key="filter_worker")
queues = c4.multiselect("Queue", options("queue"), key="filter_queue")
c5, c6 = st.columns([1, 3])
span = c5.selectbox("Received", list(RANGES), key="filter_range")
text = c6.text_input(
    "Search", placeholder="uuid, args, kwargs, result or exception", key="filter_text"
)
start = end = None
if RANGES[span] == -1:
    today = datetime.now(tz).date()
    picked = st.date_input(
        "Received between", (today - timedelta(days=1), today), key="filter_dates"
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        start = datetime.combine(picked[0], datetime.min.time(), tz)
        end = datetime.combine(picked[1], datetime.max.time(), tz)
elif RANGES[span]:
    start = datetime.now(UTC) - timedelta(seconds=RANGES[span])

matched = frames.filter_tasks(all_tasks, states, names, workers, queues, start, end, text)
if group := st.query_params.get("error_group"):
    rules = ui.error_rules(settings)
    in_group = failures.task_group_ids(matched, rules) == group
    matched = matched[in_group.fillna(False).astype(bool)]
    st.info(f"Showing the failures of error group {ui.md_escape(group)} (from the Errors page).")
    st.button("Show all tasks", on_click=lambda: st.query_params.pop("error_group", None))
matched = matched.sort_values("timestamp", ascending=False, na_position="last")
shown = ui.local_frame(matched.head(MAX_ROWS)[list(frames.TASK_TABLE_COLUMNS)], tz)
shown = shown.reset_index(drop=True)
more = f" (newest {MAX_ROWS:,} shown; narrow the filters)" if len(matched) > MAX_ROWS else ""
st.caption(f"{len(matched):,} matching tasks{more}.")
if shown.empty:
    st.info("No task matches these filters." if len(all_tasks) else "Flower holds no tasks yet.")
ui.keep_selection_valid("task_grid", shown["uuid"])
event = st.dataframe(
    shown,
    key="task_grid",
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    column_config={
        "received": st.column_config.DatetimeColumn("received", format="YYYY-MM-DD HH:mm:ss"),
        "started": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm:ss"),
        "duration": st.column_config.NumberColumn("duration (s)", format="%.3f"),
        "wait": st.column_config.NumberColumn("wait (s)", format="%.3f"),
    },
)
ui.download_csv(shown, "tasks", key="tasks_csv")

picked = shown.iloc[[r for r in event.selection.rows if r < len(shown)]]["uuid"].tolist()
every = st.checkbox(f"Act on all {len(matched):,} matching tasks", key="act_on_all")
targets = matched["uuid"].tolist() if every else picked
st.caption(f"{len(targets):,} task(s) selected for actions.")
b1, b2, b3, _ = st.columns([1, 1, 1, 5])
with b1:
    ui.action_button(actor, "revoke", targets, key="bulk_revoke")
with b2:
    ui.action_button(actor, "terminate", targets, key="bulk_terminate")
with b3:
    ui.action_button(actor, "retry", targets, key="bulk_retry")

if len(picked) == 1:
    st.query_params["task"] = picked[0]
if task_id := st.query_params.get("task"):
    st.divider()
    ui.task_detail(monitor, task_id, tz, desk, actor)
