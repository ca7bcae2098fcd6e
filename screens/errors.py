"""Errors: failures by category and by signature over a time range; a group opens its tasks."""

import streamlit as st

from lib import charts, failures, trends, ui

console = ui.page("Errors")
settings, monitor = console.settings, console.monitor
tz = ui.viewer_tz()
span = ui.time_range()
reading = ui.load_analytics(monitor, span)
rules = ui.error_rules(settings)
failed = ui.load_failures(monitor, span, rules).value
if not ui.show_reading(reading, "tasks") or failed is None:
    st.stop()
result = reading.value
start, end, label = result.plan.start, result.plan.end, span.label

size = trends.bucket_size(start, end)
totals = result.totals
own = f" and {ui.md_escape(settings.error_rules_file)}" if settings.error_rules_file else ""
st.caption(
    f"{label}, in the viewer's timezone ({tz}). A failure counts at its failure time. "
    f"Categories: the first matching rule of lib/error_categories.toml{own}, else other."
)
if failed.empty:
    st.info(
        f"No failures in this range ({label.lower()}): {totals['finished']:,} tasks finished."
        if totals["tasks"]
        else f"No tasks in this range ({label.lower()}). The store holds {monitor.tasks_held():,}."
    )
    st.stop()

groups = failures.error_groups_frame(failed)
categories = failures.category_frame(failed)
cols = st.columns(4)
cols[0].metric("Failures", f"{totals['failed']:,}")
cols[1].metric("Failure rate", ui.fmt_percent(totals["failure_rate"]))
cols[2].metric("Categories", len(categories))
cols[3].metric("Signatures", len(groups))

left, right = st.columns(2)
with left:
    st.subheader("By category")
    st.altair_chart(charts.category_chart(categories), width="stretch")
    ui.downloads(categories, "error-categories", key="categories_csv")
with right:
    st.subheader("Over time")
    trend = failures.category_trend_frame(failed, start, end, size)
    st.caption(f"Failures per {trends.bucket_label(size)}.")
    st.altair_chart(charts.category_trend_chart(trend, tz), width="stretch")

st.subheader("Signatures")
st.caption(
    "Failures grouped by exception type and message, with numbers, ids, quoted strings, paths "
    "and hosts replaced by placeholders. Select a row to see its tasks."
)
# A link per group to its newest failure on the Tasks page (relative: works under any base path).
LINKS = {
    "sample_task": st.column_config.LinkColumn("sample task", display_text=r"task=(.*)$"),
    "sample_message": st.column_config.TextColumn("sample message", width="large"),
}
linked = groups.assign(sample_task="tasks?task=" + groups["sample_task"])
event = ui.table(
    linked, "error-groups", csv_key="groups_csv", columns=LINKS, download=groups,
    key="error_groups", on_select="rerun", selection_mode="single-row",
)  # fmt: skip

rows = event.selection.rows if event else []
if rows and rows[0] < len(groups):
    group = groups.iloc[rows[0]]
    st.divider()
    # Exception text is untrusted: st.text and st.code never interpret it as markdown or HTML.
    st.text(f"{group['exception_type']} · {group['category']} · {group['count']:,} failures")
    st.code(group["sample_message"], language=None, wrap_lines=True)
    first, second = st.columns(2)
    if first.button("Show this group's tasks", icon=":material/filter_list:"):
        query = {"error_group": group["group_id"]}
        st.switch_page("screens/tasks.py", query_params=ui.scoped_query(query))
    if second.button("Open the newest one", icon=":material/open_in_new:"):
        query = {"task": group["sample_task"]}
        st.switch_page("screens/tasks.py", query_params=ui.scoped_query(query))
