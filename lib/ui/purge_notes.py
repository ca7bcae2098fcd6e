"""Purge marks on screen: the Tasks table's ``purged`` column and a task detail's note, each
"purged from <queue> at <time> by <actor>" (``lib.purge_marks``) on a PENDING task a purge
removed; on the Audit log, the ids a purge removed. Read from the store per page (only its PENDING tasks' ids); a store that can't be read
leaves the column empty and says why, the table still shows.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

import pandas as pd
import streamlit as st

from lib.audit import AuditLog
from lib.errors import ConsoleError
from lib.purge_marks import pending_ids, with_purged
from lib.store import Store
from lib.ui.formatting import md_escape
from lib.ui.tables import table

__all__ = ["purge_marked", "purge_note", "purged_tasks"]

log = logging.getLogger(__name__)


def purge_marked(tasks: pd.DataFrame, store: Store, tz: tzinfo) -> pd.DataFrame:
    """``tasks`` with the ``purged`` column filled from the store's purge marks."""
    try:
        marks = store.purge_marks(pending_ids(tasks))
    except ConsoleError as exc:  # the table matters more than its marks
        log.warning("purge marks unreadable: %s", exc)
        st.caption(f"Purge marks can't be read now: {md_escape(str(exc))}")
        marks = {}
    return with_purged(tasks, marks, tz)


def purge_note(store: Store, task_id: str, state: str, tz: tzinfo) -> None:
    """Say on a task's detail that a purge removed it, when it is PENDING and was."""
    if state != "PENDING":
        return
    try:
        mark = store.purge_marks([task_id]).get(task_id)
    except ConsoleError as exc:
        log.warning("purge marks unreadable: %s", exc)
        return
    if mark is not None:
        st.warning(
            f"This task was {md_escape(mark.sentence(tz))}: its message is gone, so no worker "
            "will run it and Flower keeps showing it as PENDING.",
            icon="🧹",
        )


def purged_tasks(log: AuditLog, op_id: str) -> None:
    """The tasks one purge removed, listed under its targets on the Audit log (none: nothing)."""
    try:
        removed = log.purged_frame(op_id)
    except ConsoleError as exc:
        st.caption(f"The purge's task ids can't be read now: {md_escape(str(exc))}")
        return
    if removed.empty:
        return
    st.caption(f"{len(removed):,} task(s) removed by this purge, by the id their message carried.")
    table(removed, "purged-tasks", csv_key="purged_tasks_csv", key="purged_tasks")
