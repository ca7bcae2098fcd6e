"""Tasks: filter, sort and search the stored tasks (a page read by query); act on a selection;
open one for detail."""

from dataclasses import replace

import streamlit as st

from lib import frames, ui

#: The table would lag in the browser past this; the caption says when rows were left out.
#: The store reads only these (``monitor.task_page``), filtered, sorted and counted in SQL.
MAX_ROWS = 10_000
#: This page's snapshot (a Reading), the sync version and the filters it was read at: rows must
#: not move under a selection, so the table is re-read only on Refresh, after an action, or for
#: other filters.
SNAPSHOT, SNAPSHOT_VERSION, QUERY = "tasks_reading", "tasks_version", "tasks_query"

console = ui.page("Tasks")
monitor = console.monitor
tz = ui.viewer_tz()
actor = ui.current_actor(console.settings)
acted = ui.action_dialog(console, actor)

refresh = st.button("Refresh", icon=":material/refresh:")
wanted = frames.filter_params({k: st.query_params.get_all(k) for k in st.query_params})
for field in ("state", "name", "worker", "queue"):
    st.session_state.setdefault(f"filter_{field}", wanted[field])
held_values = monitor.task_values()  # every stored task's, once per poll


def options(column: str) -> list[str]:
    return sorted(set(held_values[column]) | set(st.session_state[f"filter_{column}"]))


c1, c2, c3, c4 = st.columns(4)
states = c1.multiselect("State", options("state"), key="filter_state")
names = c2.multiselect("Task name", options("name"), key="filter_name")
workers = c3.multiselect("Worker", options("worker"), key="filter_worker")
queues = c4.multiselect("Queue", options("queue"), key="filter_queue")
c5, c6, c7 = st.columns([1, 1, 2])
received = ui.time_range(ui.TASKS, place=c5)
flag = ui.flag_filter(place=c6)  # ?flag=orphaned | stuck
text = c7.text_input(
    "Search", placeholder="uuid, args, kwargs, result or exception", key="filter_text"
)
chosen = frames.TaskFilter(
    tuple(states), tuple(names), tuple(workers), tuple(queues), received.start, received.end, text
)
chosen = ui.flagged(chosen, flag, monitor)  # the flag's tasks as of the latest poll
group = st.query_params.get("error_group") or ""
# The rows stay as read for these filters (they must not move under a selection): re-read on
# Refresh, after an action, or when the filters change (a preset range by its name: its start
# moves with the clock at every rerun).
query = (
    replace(chosen, received_from=None, received_to=None, uuids=None),
    received.label,
    group,
    flag,
)
held = st.session_state.get(SNAPSHOT)
if refresh or acted or held is None or held.value is None or st.session_state.get(QUERY) != query:
    rules = ui.error_rules(console.settings) if group else ()
    force = bool(refresh or acted)  # ask the collector to poll now; follow_up shows the change
    st.session_state[SNAPSHOT] = monitor.task_page(chosen, MAX_ROWS, group, rules, force)
    st.session_state[SNAPSHOT_VERSION], st.session_state[QUERY] = monitor.version, query
# What is wrong is the collector's health now (it counts, and goes).
reading = ui.with_current_health(st.session_state[SNAPSHOT], monitor)
ui.follow_up(monitor, st.session_state[SNAPSHOT_VERSION], SNAPSHOT)
if not ui.show_reading(reading, "tasks"):
    st.stop()
page = reading.value
as_of = ui.read_at(reading.at, tz, with_age=False)
st.caption(f"{monitor.tasks_held():,} tasks as of {as_of}. Press Refresh for newer data.")
ui.flag_counts_line(monitor)
if group:
    st.info(f"Showing the failures of error group {ui.md_escape(group)} (from the Errors page).")
    st.button("Show all tasks", on_click=lambda: st.query_params.pop("error_group", None))
shown = page.rows.head(MAX_ROWS)[list(frames.TASK_TABLE_COLUMNS)].reset_index(drop=True)
shown = ui.purge_marked(shown, monitor.store, tz)  # "purged from <queue> at <time> by <actor>"
shown = ui.with_flag_column(shown, monitor)
if page.more or len(shown) < page.matching:  # more: a text search counted past the page only
    st.caption(
        f"Showing the newest {len(shown):,} of {page.matching_text} matching tasks; "
        "narrow the filters."
    )
else:
    st.caption(f"{page.matching:,} matching tasks.")
if page.since is not None:
    st.caption(ui.short_search_note(page.since, tz))
if shown.empty:
    st.info(
        "No task matches these filters." if held_values["state"] else "Flower holds no tasks yet."
    )
ui.keep_selection_valid("task_grid", shown["uuid"])
event = ui.table(shown, "tasks", key="task_grid", on_select="rerun", selection_mode="multi-row")

picked = shown.iloc[[r for r in event.selection.rows if r < len(shown)]]["uuid"].tolist()
every = st.checkbox(f"Act on all {page.matching_text} matching tasks", key="act_on_all")
if every:
    targets = page.rows["uuid"].tolist() if page.complete else monitor.matching_uuids(chosen)
else:
    targets = picked
st.caption(f"{len(targets):,} task(s) selected for actions.")
for place, action in zip(st.columns([1, 1, 1, 5]), ("revoke", "terminate", "retry"), strict=False):
    with place:
        ui.action_button(actor, action, targets, key=f"bulk_{action}")

if len(picked) == 1:
    st.query_params["task"] = picked[0]
if task_id := st.query_params.get("task"):
    st.divider()
    ui.task_detail(console, task_id, tz, actor)
