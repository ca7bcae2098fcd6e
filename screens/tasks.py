"""Tasks: filter, sort and search the synced tasks; act on a selection; open one for detail."""

import streamlit as st

from lib import failures, frames, ui

#: The table would lag in the browser past this; the caption says when rows were left out.
MAX_ROWS = 10_000
#: This page's snapshot (a Reading) and the sync version it was read at: rows must not move
#: under a selection, so the table is re-read only on Refresh or after an action.
SNAPSHOT, SNAPSHOT_VERSION = "tasks_reading", "tasks_version"

console = ui.page("Tasks")
monitor = console.monitor
tz = ui.viewer_tz()
actor = ui.current_actor(console.settings)
acted = ui.action_dialog(console, actor)

refresh = st.button("Refresh", icon=":material/refresh:")
held = st.session_state.get(SNAPSHOT)
if refresh or acted or held is None or held.value is None:
    st.session_state[SNAPSHOT] = ui.load_tasks(monitor, force=bool(refresh or acted))
    st.session_state[SNAPSHOT_VERSION] = monitor.version
# The rows stay as read; what is wrong is the collector's health now (it counts, and goes).
reading = ui.with_current_health(st.session_state[SNAPSHOT], monitor)
ui.follow_up(monitor, st.session_state[SNAPSHOT_VERSION], SNAPSHOT)
if not ui.show_reading(reading, "tasks"):
    st.stop()
all_tasks = reading.value
as_of = ui.read_at(reading.at, tz, with_age=False)
st.caption(f"{len(all_tasks):,} tasks as of {as_of}. Press Refresh for newer data.")

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
received = ui.time_range(ui.TASKS, place=c5)
text = c6.text_input(
    "Search", placeholder="uuid, args, kwargs, result or exception", key="filter_text"
)
matched = frames.filter_tasks(
    all_tasks, states, names, workers, queues, received.start, received.end, text
)
if group := st.query_params.get("error_group"):
    matched = failures.in_error_group(matched, ui.error_rules(console.settings), group)
    st.info(f"Showing the failures of error group {ui.md_escape(group)} (from the Errors page).")
    st.button("Show all tasks", on_click=lambda: st.query_params.pop("error_group", None))
matched = matched.sort_values("timestamp", ascending=False, na_position="last")
shown = matched.head(MAX_ROWS)[list(frames.TASK_TABLE_COLUMNS)].reset_index(drop=True)
more = f" (newest {MAX_ROWS:,} shown; narrow the filters)" if len(matched) > MAX_ROWS else ""
st.caption(f"{len(matched):,} matching tasks{more}.")
if shown.empty:
    st.info("No task matches these filters." if len(all_tasks) else "Flower holds no tasks yet.")
ui.keep_selection_valid("task_grid", shown["uuid"])
event = ui.table(shown, "tasks", key="task_grid", on_select="rerun", selection_mode="multi-row")

picked = shown.iloc[[r for r in event.selection.rows if r < len(shown)]]["uuid"].tolist()
every = st.checkbox(f"Act on all {len(matched):,} matching tasks", key="act_on_all")
targets = matched["uuid"].tolist() if every else picked
st.caption(f"{len(targets):,} task(s) selected for actions.")
for place, action in zip(st.columns([1, 1, 1, 5]), ("revoke", "terminate", "retry"), strict=False):
    with place:
        ui.action_button(actor, action, targets, key=f"bulk_{action}")

if len(picked) == 1:
    st.query_params["task"] = picked[0]
if task_id := st.query_params.get("task"):
    st.divider()
    ui.task_detail(console, task_id, tz, actor)
