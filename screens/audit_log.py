"""Audit log: every action taken through the console, who took it, on which cluster, and what
Flower answered. One log for every cluster: the chosen cluster's rows unless All clusters."""

import streamlit as st

from lib import ui

#: Rows the page table holds: more slows every rerun in the browser. The CSV has every row.
TABLE_ROWS = 10_000
#: Actions offered in the targets picker: the newest, as a longer list is unusable to scroll.
PICKABLE = 1000


def entries(n: int) -> str:
    return f"{n:,} {'entry' if n == 1 else 'entries'}"


def why_empty(span: str, period: int, everything: int) -> str:
    """The empty state: nothing at all, nothing in this span, or nothing these filters match."""
    if everything == 0:
        return "No actions recorded yet: every action taken through the console is listed here."
    if period == 0:
        return f"No actions recorded in the {span.lower()}: choose a longer time span."
    return f"No entries match these filters; the {span.lower()} holds {entries(period)}."


console = ui.page("Audit log")
log = console.audit
tz = ui.viewer_tz()
if console.audit_notice:  # the old audit file was not taken into the store: say why
    st.warning(ui.md_escape(console.audit_notice), icon="🗄️")

# The audit log is the console's own store: if it is unusable, the page says why and stops.
with ui.audit_guard():
    scope = ui.audit_scope(console.settings)  # () = every cluster
    chosen = ui.time_range(ui.AUDIT)
    span, since = chosen.label, chosen.start.timestamp() if chosen.start else None
    # Choices from every row of the span; a pick the span no longer holds stays, matching nothing.
    choices = log.choices(since, scope)
    kept = {k: st.session_state.get(f"audit_{k}s", []) for k in ("user", "action")}
    c1, c2 = st.columns(2)
    users = c1.multiselect("User", sorted({*choices["user"], *kept["user"]}), key="audit_users")
    actions = c2.multiselect(
        "Action", sorted({*choices["action"], *kept["action"]}), key="audit_actions"
    )
    total = log.count(since, users, actions, scope)

    retention = console.settings.audit_retention_days
    pruned = f" Entries older than {retention} days are deleted (OPS_AUDIT_RETENTION_DAYS)."
    on = ui.md_escape(f"On {console.settings.cluster_label} only. ") if scope else ""
    st.caption(
        f"{entries(total)}. {on}Times in your timezone ({tz}). A row is written before the "
        "request is sent and completed after; 'outcome unknown' means the console stopped in "
        "between." + (pruned if retention else "")
    )
    if total == 0:
        st.info(why_empty(span, log.count(since, clusters=scope), log.count(clusters=scope)))
    rows = log.frame(since, users, actions, limit=TABLE_ROWS, clusters=scope)
    if total > len(rows):
        st.caption(
            f"The table shows the newest {len(rows):,} of {total:,} entries; "
            f"Download CSV and Download JSON have all {total:,}."
        )
    # When the table is capped, the downloads read every row in the filter, on click only.
    every_row = (
        (lambda: log.frame(since, users, actions, clusters=scope)) if total > len(rows) else None
    )
    ui.table(rows, "audit-log", csv_key="audit_csv", download=every_row)
    shown = ui.local_frame(rows, tz)

    # Which targets of one action were sent, failed (and why), not tried or skipped (issue 10).
    st.subheader("Targets of one action")
    if not shown.empty:
        label = {
            op: f"{at:%Y-%m-%d %H:%M:%S} · {cluster} · {user} · {action} · {count} target(s) · "
            f"{outcome}"
            for op, at, cluster, user, action, count, outcome in shown.head(PICKABLE)[
                ["op_id", "time", "cluster", "user", "action", "count", "outcome"]
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
        targets = log.targets_frame(op_id or "")
        if op_id is not None and targets.empty:
            st.caption("No per-target record: this action was logged before targets were recorded.")
        elif op_id is not None:
            counts = targets["outcome"].value_counts().items()
            st.caption(", ".join(f"{n:,} {outcome}" for outcome, n in counts))
            ui.table(targets, "audit-targets", csv_key="audit_targets_csv", key="audit_targets")
            ui.purged_tasks(log, op_id)  # a Redis purge: the removed tasks' ids
