"""A queue's pause on the Queues page: "Paused since 09:14 by olga" (the viewer's timezone),
``Pause`` or ``Resume`` for operators and up, and what pause does not stop; the queues table's
``paused_since`` and ``paused_by`` columns; in the confirmation, the workers a pause or resume
goes to (none: it is only recorded, and the dialog says what follows); the queues table's
warning about messages no consumer will run, saying which of those queues are paused.

The paused state is read from the store (``lib.store.pauses``) at each run, so every console
on the store (``OPS_COLLECTOR=external`` too) shows the same. The buttons are a courtesy: the
desk checks the role and the state again (``ActionDesk.perform``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib.actions import ActionDesk
from lib.actions.declarations import ActionSpec
from lib.actions.pausing import PAUSE_NOTE
from lib.auth import Actor
from lib.errors import ConsoleError
from lib.frames.queues import idle_queues
from lib.store.pauses import QueuePause
from lib.ui.controls import action_button
from lib.ui.formatting import md_escape, viewer_tz

__all__ = ["fan_out_preview", "idle_warning", "pause_controls", "paused_line", "with_pauses"]


def pause_controls(desk: ActionDesk, actor: Actor, queue: str) -> bool:
    """The queue's paused state, its ``Pause``/``Resume`` button and what pause does not stop;
    whether it is paused (False when that can't be read)."""
    if desk.pauses is None:
        return False
    try:
        pause = desk.pauses.pause_of(queue)
    except ConsoleError as exc:  # the store is down: say so, offer nothing that needs it
        st.warning(f"Whether queue {md_escape(queue)} is paused is unknown: {md_escape(exc)}")
        return False
    if pause is not None:
        st.info(md_escape(paused_line(pause, viewer_tz())), icon="⏸️")
        action_button(actor, "resume", [queue], key="queue_resume")
    else:
        st.caption("Not paused: every worker with this queue consumes it.")
        action_button(actor, "pause", [queue], key="queue_pause")
    st.caption(md_escape(PAUSE_NOTE))
    return pause is not None


def paused_line(pause: QueuePause, tz: ZoneInfo, now: datetime | None = None) -> str:
    """``"Paused since 09:14 by olga (Europe/Berlin)."``; with the date when not today."""
    since = datetime.fromtimestamp(pause.since, UTC).astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    when = f"{since:%H:%M}" if since.date() == today else f"{since:%Y-%m-%d %H:%M}"
    return f"Paused since {when} by {pause.by} ({tz.key})."


def with_pauses(frame: pd.DataFrame, desk: ActionDesk) -> pd.DataFrame:
    """The queues frame with ``paused_since`` (UTC; blank when not paused) and ``paused_by``;
    unchanged when the store can't say (the panel says why)."""
    if desk.pauses is None or "queue" not in frame.columns:
        return frame
    try:
        pauses = desk.pauses.paused()
    except ConsoleError:
        return frame
    out = frame.copy()
    found = out["queue"].map(pauses.get)
    out["paused_since"] = pd.to_datetime(
        found.map(lambda p: p.since if p else None), unit="s", utc=True
    )
    out["paused_by"] = found.map(lambda p: p.by if p else None).astype("string")
    return out


def fan_out_preview(desk: ActionDesk, spec: ActionSpec, pending: dict) -> None:
    """Whom the pause or resume in the dialog goes to, asked once per dialog (a pause asks the
    workers afresh); with none, what recording it alone means. The desk asks again on Confirm."""
    queue = pending["targets"][0]
    if "workers" not in pending:
        try:
            pending["workers"] = spec.workers_of(desk, queue, {})
        except ConsoleError as exc:  # already paused, not paused, Flower down: the desk says too
            pending["workers"] = str(exc)
    workers = pending["workers"]
    if isinstance(workers, str):
        st.warning(md_escape(workers))
    elif workers:
        st.write(f"Sent to {len(workers)} worker(s): {md_escape(', '.join(workers))}.")
    else:
        st.warning(f"Queue {md_escape(queue)}: {md_escape(spec.unsent)}")


def idle_warning(frame: pd.DataFrame) -> None:
    """Queues where messages wait and no worker consumes, the paused ones said apart (a paused
    queue has no consumer on purpose). ``frame``: the queues frame ``with_pauses``."""
    idle = set(idle_queues(frame))
    paused = set(frame.loc[frame["paused_by"].notna(), "queue"]) if "paused_by" in frame else set()
    if unexplained := sorted(idle - paused):
        waiting = md_escape(", ".join(unexplained))
        st.warning(f"Messages wait with no consumer in: {waiting}.", icon="⚠️")
    if held := sorted(idle & paused):
        st.info(f"Messages wait in paused queues until Resume: {md_escape(', '.join(held))}.")
