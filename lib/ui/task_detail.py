"""One task in full: identity, times, arguments, outcome, lineage and retry links.

Task data is shown as code or plain text, never as markdown or HTML: it is whatever a producer
sent. Sensitive values stay masked unless an admin revealed this task (``keys.REVEALED``,
recorded in the audit log).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib import frames
from lib.actions import ACTIONS, in_flower
from lib.audit import AuditError
from lib.auth import Actor, allows
from lib.errors import ConsoleError, FlowerNotFound
from lib.redact import SCRUBBER, mask_frame
from lib.ui import keys
from lib.ui.clusters import role_here
from lib.ui.controls import action_button
from lib.ui.flags import flag_note
from lib.ui.formatting import fmt_seconds, local_frame, md_escape, text
from lib.ui.purge_notes import purge_note
from lib.ui.waiting import task_eta
from lib.ui.wiring import Console

__all__ = ["task_detail"]

#: The task's times, in this order, where Flower has them.
TIMES = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "timestamp")
#: The actions offered on one task.
TASK_ACTIONS = ("revoke", "terminate", "retry", "reveal")


def task_detail(console: Console, task_id: str, tz: ZoneInfo, actor: Actor | None = None) -> None:
    """One task in full, with its action buttons when ``actor`` is given."""
    revealed = st.session_state.get(keys.REVEALED) == task_id
    one = _task_frame(console, task_id, live=revealed)  # the store keeps masked text only
    if one is None:
        return
    if not revealed:
        one = mask_frame(one, console.settings.sensitive_keys)
    row = local_frame(one, tz).iloc[0]
    st.subheader(f"Task {md_escape(task_id)}")
    if actor is not None:
        for col, action in zip(st.columns([1, 1, 1, 1, 4]), TASK_ACTIONS, strict=False):
            with col:
                action_button(actor, action, [task_id], key=f"one_{action}")
    flag_note(console.monitor, task_id, tz)
    if not row["in_flower"]:
        _gone_note(row, actor)
    purge_note(console.monitor.store, task_id, text(row["state"]), tz)
    if revealed:
        st.caption("Sensitive values are shown unmasked for this task (recorded in the audit log).")
    _identity(row)
    _times(row, tz)
    task_eta(row["eta"], tz)
    for field in ("args", "kwargs", "result", "exception", "traceback"):
        if pd.notna(row[field]) and row[field] != "":
            st.text(field)
            st.code(SCRUBBER(row[field]), language=None, wrap_lines=True)
    _lineage_links(_lineage(console, one, task_id))


def _task_frame(console: Console, task_id: str, live: bool = False) -> pd.DataFrame | None:
    """The task as a one-row tasks frame (``live``: asked of Flower, not the store); None (with
    the reason on screen) when unknown."""
    try:
        task = console.monitor.task(task_id, live=live)
    except FlowerNotFound:
        st.warning(
            f"Flower does not know task {md_escape(task_id)} (never seen, or evicted from its "
            "memory)."
        )
        return None
    except ConsoleError as exc:
        st.error(f"Could not load task {md_escape(task_id)}. {md_escape(exc)}", icon="🚫")
        return None
    one = frames.tasks_frame([task])
    one["in_flower"] = in_flower(task)
    return one


def _gone_note(row: pd.Series, actor: Actor | None) -> None:
    """A task Flower no longer holds: its state is the store's last look, and each action the
    viewer may use says, before the click, what it can still do."""
    lines = [
        f"Flower no longer holds this task (evicted, or Flower restarted); the store keeps the "
        f"last state it saw, {md_escape(text(row['state']))}."
    ]
    if actor is not None:
        role = role_here(actor)
        specs = [ACTIONS[a] for a in TASK_ACTIONS if allows(role, ACTIONS[a].role)]
        lines += [f"- **{spec.label}**: {md_escape(spec.gone)}" for spec in specs if spec.gone]
    st.info("\n".join(lines), icon="🗄️")


def _identity(row: pd.Series) -> None:
    for col, field in zip(
        st.columns(5), ("name", "state", "worker", "queue", "retries"), strict=True
    ):
        col.metric(field.capitalize(), text(row[field]))
    if text(row["flower_state"]) != text(row["state"]):
        st.caption(
            f"Flower's state: {md_escape(text(row['flower_state']))}, with a revoked time. "
            "Celery ranks custom states above REVOKED, so Flower keeps the state the task was "
            "in when it was stopped; the console counts it as REVOKED."
        )


def _times(row: pd.Series, tz: ZoneInfo) -> None:
    times = {f: row[f] for f in TIMES if pd.notna(row[f])}
    st.dataframe(pd.DataFrame([times]), hide_index=True) if times else st.caption("No timestamps.")
    st.caption(
        f"Duration {fmt_seconds(row['duration'])} · wait {fmt_seconds(row['wait'])} · times in {tz}"
    )


def _lineage(console: Console, one: pd.DataFrame, task_id: str) -> dict[str, list[str]]:
    """Parent, children, ... and the retry links the audit log recorded."""
    lineage = frames.task_lineage(one, task_id)  # ids only: masking leaves them as they are
    try:
        retries = console.audit.retry_links(task_id)
        lineage["retried as"], lineage["retry of"] = retries["retried_as"], retries["retry_of"]
    except AuditError as exc:
        st.caption(f"Retry links unknown: {md_escape(exc)}")
    return lineage


def _lineage_links(lineage: dict[str, list[str]]) -> None:
    for label, ids in lineage.items():
        if not ids:
            continue
        st.text(label)
        for other in ids[:50]:
            key = f"link_{label.replace(' ', '_')}_{other}"
            st.button(md_escape(other), key=key, on_click=_open_task, args=(other,))


def _open_task(task_id: str) -> None:
    st.query_params["task"] = task_id
