"""Streamlit for the console: the one part of ``lib`` that imports streamlit, by concern.

Pages write ``from lib import ui`` and call the names below (``ui.page``, ``ui.table``...);
each lives in the module of its concern:

- ``wiring``: settings and the shared objects built once (``Console``), a page's start;
- ``keys``: every session-state key, named once;
- ``login``: the login gate and the signed-in session (tokens: ``lib.session``);
- ``formatting``: ages, durations, percents, "read at", datetimes in the viewer's zone;
- ``readings``: readings with their banners, the sidebar status, the audit-log guard;
- ``tables``: the table helper, its one column-format declaration, ``Download CSV``/``JSON``;
- ``time_picker``: the one time-range picker (ranges: ``lib.time_range``);
- ``task_detail``: one task in full;
- ``past``: a sampled range's caption and empty state, the needs-attention strip;
- ``controls``: action buttons and the control forms; ``dialog``: confirm, perform, follow;
- ``queue_panel``: one queue's panel (``Queues?queue=``): waiting now, ``Purge``;
  ``queue_pause``: its pause, ``Pause``/``Resume``, the queues table's paused columns;
  ``queue_outlook``: its consumers, oldest waiting age and drain estimate;
- ``waiting``: scheduled, reserved and revoked tasks per queue and per worker, ``Revoke``.
- ``purge_notes``: "purged from <queue> at <time> by <actor>" on the Tasks table and a task.
- ``flags``: orphaned and stuck tasks: the ``?flag=`` filter, counts, column, sentence;
- ``worker_detail``: one worker's detail (``Workers?worker=``).
- ``on_demand``: tabs and a closed section that build only while open (fewer charts, forms).
- ``setup_check``: the doctor's findings on the Setup check page, run on open and on demand.
- ``snapshot_button``: the Overview's ``Download snapshot`` (the document: ``lib.snapshot_export``).
- ``alerts``: the Alerts page's reads and controls, the Overview's firing strip, the sidebar count.
- ``clusters``: the chosen cluster (``?cluster=``, the sidebar switcher), links naming it, the
  role on it; ``all_clusters``: the All clusters page's rows.
"""

from lib.ui.alerts import (
    ALERT_HISTORY,
    ALERT_LINK,
    acknowledge_control,
    alert_detail,
    alerts_status,
    firing_count,
    firing_strip,
    lift_control,
    read_board,
    rules_in_force,
    silence_control,
)
from lib.ui.all_clusters import clusters_overview, clusters_table
from lib.ui.audit_scope import audit_scope
from lib.ui.clusters import (
    choose_cluster,
    cluster_switcher,
    here,
    role_here,
    scoped_link,
    scoped_query,
)
from lib.ui.controls import (
    action_button,
    allows_admin,
    consumer_controls,
    task_types,
    worker_controls,
)
from lib.ui.dialog import action_dialog, follow_up
from lib.ui.flags import flag_counts_line, flag_filter, flag_note, flagged, with_flag_column
from lib.ui.formatting import (
    ago,
    fmt_percent,
    fmt_seconds,
    local_frame,
    md_escape,
    read_at,
    short_search_note,
    viewer_tz,
)
from lib.ui.login import (
    current_actor,
    end_idle_session,
    sidebar_user,
    sign_in_form,
    signed_in,
)
from lib.ui.on_demand import lazy_section, lazy_tabs
from lib.ui.past import attention_strip, focus, sampled_range
from lib.ui.purge_notes import purge_marked, purge_note, purged_tasks
from lib.ui.queue_panel import queue_panel
from lib.ui.queue_pause import idle_warning, with_pauses
from lib.ui.readings import (
    analytics_notes,
    audit_guard,
    await_first_read,
    backend_records,
    error_rules,
    job_records,
    load_analytics,
    load_failures,
    load_tasks,
    metrics,
    show_reading,
    sync_status,
    training_records,
    with_current_health,
)
from lib.ui.setup_check import RUN_CHECKS, setup_findings, show_findings
from lib.ui.snapshot_button import snapshot_download
from lib.ui.tables import download_csv, downloads, keep_selection_valid, pick_row, table
from lib.ui.task_detail import task_detail
from lib.ui.time_picker import ANALYTICS, AUDIT, TASKS, TimeRange, held_since_note, time_range
from lib.ui.waiting import waiting_for_queue, waiting_for_worker
from lib.ui.wiring import Console, cluster_book, console, get_settings, page, page_start
from lib.ui.worker_detail import worker_detail_controls, worker_detail_panel

__all__ = [
    "ALERT_HISTORY",
    "ALERT_LINK",
    "ANALYTICS",
    "AUDIT",
    "RUN_CHECKS",
    "TASKS",
    "Console",
    "TimeRange",
    "acknowledge_control",
    "action_button",
    "action_dialog",
    "ago",
    "alert_detail",
    "alerts_status",
    "allows_admin",
    "analytics_notes",
    "attention_strip",
    "audit_guard",
    "audit_scope",
    "await_first_read",
    "backend_records",
    "choose_cluster",
    "cluster_book",
    "cluster_switcher",
    "clusters_overview",
    "clusters_table",
    "console",
    "consumer_controls",
    "current_actor",
    "download_csv",
    "downloads",
    "end_idle_session",
    "error_rules",
    "firing_count",
    "firing_strip",
    "flag_counts_line",
    "flag_filter",
    "flag_note",
    "flagged",
    "fmt_percent",
    "fmt_seconds",
    "focus",
    "follow_up",
    "get_settings",
    "held_since_note",
    "here",
    "idle_warning",
    "job_records",
    "keep_selection_valid",
    "lazy_section",
    "lazy_tabs",
    "lift_control",
    "load_analytics",
    "load_failures",
    "load_tasks",
    "local_frame",
    "md_escape",
    "metrics",
    "page",
    "page_start",
    "pick_row",
    "purge_marked",
    "purge_note",
    "purged_tasks",
    "queue_panel",
    "read_at",
    "read_board",
    "role_here",
    "rules_in_force",
    "sampled_range",
    "scoped_link",
    "scoped_query",
    "setup_findings",
    "short_search_note",
    "show_findings",
    "show_reading",
    "sidebar_user",
    "sign_in_form",
    "signed_in",
    "silence_control",
    "snapshot_download",
    "sync_status",
    "table",
    "task_detail",
    "task_types",
    "time_range",
    "training_records",
    "viewer_tz",
    "waiting_for_queue",
    "waiting_for_worker",
    "with_current_health",
    "with_flag_column",
    "with_pauses",
    "worker_controls",
    "worker_detail_controls",
    "worker_detail_panel",
]
