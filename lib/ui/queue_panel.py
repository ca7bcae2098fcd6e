"""One queue's panel on the Queues page (``Queues?queue=<name>``): what waits in it now, read
from the broker, and the actions on it.

Sections, in order: the waiting messages; the pause and ``Pause``/``Resume`` (operator,
``lib.ui.queue_pause``); the outlook (consumers, oldest waiting, drain estimate:
``lib.ui.queue_outlook``); the scheduled and reserved tasks the workers hold for it
(``lib.ui.waiting``); ``Purge`` (admin). The buttons are a courtesy: the desk checks the role,
the typed name and the broker again (``ActionDesk.perform``); a broker that can't be used
disables purge and says why.
"""

from __future__ import annotations

import streamlit as st

from lib.actions import ACTIONS, ActionDesk
from lib.auth import Actor, allows
from lib.errors import ConsoleError
from lib.ui.clusters import role_here
from lib.ui.controls import action_button
from lib.ui.formatting import md_escape
from lib.ui.queue_outlook import queue_outlook
from lib.ui.queue_pause import pause_controls
from lib.ui.waiting import waiting_for_queue
from lib.ui.wiring import Console

__all__ = ["queue_panel"]


def queue_panel(console: Console, actor: Actor, queue: str) -> None:
    """The panel of ``queue``: waiting now, its outlook, its pause, what workers hold for it
    and, for admins, ``Purge``."""
    st.subheader(f"Queue {md_escape(queue)}")
    depth, why_not = _waiting_now(console.desk, queue)
    paused = pause_controls(console.desk, actor, queue)
    queue_outlook(console.monitor, queue, depth, paused)
    waiting_for_queue(console, actor, queue)
    if allows(role_here(actor), ACTIONS["purge"].role):
        action_button(actor, "purge", [queue], key="queue_purge", why_not=why_not)


def _waiting_now(desk: ActionDesk, queue: str) -> tuple[int | None, str]:
    """Say how many messages wait, read from the broker now: that count (None when it can't be
    read) and why it can't, or ""."""
    try:
        waiting = desk.queue_depth(queue)
    except ConsoleError as exc:  # no usable broker, or it is down: purge can't be sent either
        return None, str(exc)
    st.metric("Waiting now (broker)", f"{waiting:,}")
    return waiting, ""
