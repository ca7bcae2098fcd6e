"""What waits on the workers, on screen: a queue's scheduled and reserved tasks (the
``Queues?queue=`` panel) and a worker's scheduled, reserved and revoked (``Workers?worker=``),
from the collector's per-worker inspect (``lib.collector.waiting``), with ``Revoke`` on the
selected rows through the action door (``lib.ui.controls.action_button`` → the dialog).

ETAs are shown in the viewer's timezone with how far off they are ("in 4 min"); the caption
says when the workers were read and which did not answer (their rows are the last good ones).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib.auth import Actor
from lib.collector.waiting import WAITING_EVERY_SECONDS
from lib.frames import waiting as frames
from lib.reading import Reading
from lib.ui.controls import action_button
from lib.ui.formatting import md_escape, read_at, viewer_tz
from lib.ui.readings import explain
from lib.ui.tables import keep_selection_valid, table
from lib.ui.wiring import Console

__all__ = ["task_eta", "waiting_for_queue", "waiting_for_worker"]

#: The ETA as a time (the viewer's zone, like every datetime) rather than a duration.
ETA = st.column_config.DatetimeColumn("ETA", format="YYYY-MM-DD HH:mm:ss")
#: What a page says before the collector's first inspect round of the workers.
NOT_READ = (
    "Not read from the workers yet: the collector inspects each online worker every "
    f"{WAITING_EVERY_SECONDS:g} s (or each poll, if polls are further apart)."
)


def waiting_for_queue(console: Console, actor: Actor, queue: str) -> None:
    """``queue``'s scheduled (ETA/countdown) and reserved (prefetched) tasks on the workers."""
    reading = _reading(console, f"Scheduled and reserved in {queue}")
    if reading is not None:
        _waiting(reading.value, actor, lambda f: frames.for_queue(f, queue), f"queue_{queue}")


def waiting_for_worker(console: Console, actor: Actor, worker: str) -> None:
    """``worker``'s scheduled, reserved and revoked tasks."""
    reading = _reading(console, f"Waiting on {worker}", only=worker)
    if reading is None:
        return
    _waiting(reading.value, actor, lambda f: frames.for_worker(f, worker), f"worker_{worker}")
    revoked = frames.for_worker(frames.revoked_frame(reading.value), worker)
    st.markdown(f"**Revoked ids this worker holds** ({len(revoked):,})")
    if revoked.empty:
        st.caption("None.")
    else:
        table(revoked, "revoked", csv_key=f"revoked_worker_{worker}_csv")
    _capped(reading.value, worker)


def _waiting(
    waiting: dict, actor: Actor, pick: Callable[[pd.DataFrame], pd.DataFrame], key: str
) -> None:
    """The scheduled and reserved tasks ``pick`` keeps (one queue's, one worker's)."""
    now = pd.Timestamp.now(tz="UTC")
    scheduled = pick(frames.scheduled_frame(waiting))
    scheduled.insert(3, "due", [frames.until_words(eta, now) for eta in scheduled["eta"]])
    _selectable("Scheduled (waiting for their ETA)", scheduled, actor, f"scheduled_{key}")
    reserved = pick(frames.reserved_frame(waiting))
    _selectable("Reserved (prefetched, not started)", reserved, actor, f"reserved_{key}")


def task_eta(eta: object, tz: ZoneInfo) -> None:
    """A task's ETA (Flower's ``eta``, an ISO time) in ``tz`` with how far off it is; nothing
    for a task sent without one."""
    when = frames.eta_time(eta)
    if when is None:
        return
    words = frames.until_words(when, pd.Timestamp.now(tz="UTC"))
    st.markdown(f"**ETA** {when.tz_convert(tz):%Y-%m-%d %H:%M:%S %Z} ({words})")


def _reading(console: Console, title: str, only: str | None = None) -> Reading[dict] | None:
    """The collector's latest round, its heading and caption (the workers that did not answer,
    or whether ``only`` did); None (said) when none yet."""
    st.markdown(f"#### {md_escape(title)}")
    reading = console.monitor.waiting()
    if reading.value is None:
        why = f" {explain(reading.error)}" if reading.error is not None else ""
        st.caption(md_escape(NOT_READ + why))
        return None
    tz = viewer_tz()
    said = f"Read from the workers' inspect at {read_at(reading.at, tz)}; times in {tz}."
    for worker, why in frames.unanswered(reading.value).items():
        if only is not None and worker != only:
            continue
        said += f" {worker} did not answer ({why}): its rows are from its last answer."
    st.caption(md_escape(said))
    return reading


def _selectable(title: str, frame: pd.DataFrame, actor: Actor, key: str) -> None:
    """``frame`` as a table whose selected rows ``Revoke`` acts on."""
    st.markdown(f"**{title}** ({len(frame):,})")
    if frame.empty:
        st.caption("None.")
        return
    keep_selection_valid(key, frame["uuid"])
    event = table(
        frame,
        "scheduled" if "eta" in frame else "reserved",
        key=key,
        csv_key=f"{key}_csv",
        columns={"eta": ETA},
        on_select="rerun",
        selection_mode="multi-row",
    )
    picked = frame.iloc[[r for r in event.selection.rows if r < len(frame)]]["uuid"]
    action_button(actor, "revoke", picked.dropna().tolist(), key=f"{key}_revoke")


def _capped(waiting: dict, worker: str) -> None:
    """Say when a list holds fewer rows than the worker reported (``MAX_LISTED``)."""
    record = (waiting.get("workers") or {}).get(worker) or {}
    for kind, total in (record.get("counts") or {}).items():
        listed = len(record.get(kind) or ())
        if isinstance(total, int) and total > listed:
            st.caption(f"{kind}: the worker holds {total:,}; the first {listed:,} are listed.")
