"""One queue's panel on the Queues page (``Queues?queue=<name>``): what waits in it now, read
from the broker, and the actions on it.

Parts so far: the waiting messages and ``Purge`` (admin); the pause and ``Pause``/``Resume``
(operator, lib/ui/queue_pause.py). The panel's other parts (the drain estimate, scheduled
tasks) join here as their own sections. The button is a
courtesy: the desk checks the role, the typed name and the broker again
(``ActionDesk.perform``); a broker that can't be used disables it and says why.
"""

from __future__ import annotations

import streamlit as st

from lib.actions import ACTIONS, ActionDesk
from lib.auth import Actor, allows
from lib.errors import ConsoleError
from lib.ui.controls import action_button
from lib.ui.formatting import md_escape
from lib.ui.queue_pause import pause_controls
from lib.ui.waiting import waiting_for_queue
from lib.ui.wiring import console, get_settings

__all__ = ["queue_panel"]


def queue_panel(desk: ActionDesk, actor: Actor, queue: str) -> None:
    """The panel of ``queue``: waiting messages now and, for admins, ``Purge``."""
    st.subheader(f"Queue {md_escape(queue)}")
    why_not = _waiting_now(desk, queue)
    waiting_for_queue(console(get_settings()), actor, queue)  # the desk holds no monitor
    if allows(actor.role, ACTIONS["purge"].role):
        action_button(actor, "purge", [queue], key="queue_purge", why_not=why_not)
    pause_controls(desk, actor, queue)


def _waiting_now(desk: ActionDesk, queue: str) -> str:
    """Say how many messages wait, read from the broker now; why it can't be read, or ""."""
    try:
        waiting = desk.queue_depth(queue)
    except ConsoleError as exc:  # no usable broker, or it is down: purge can't be sent either
        return str(exc)
    st.metric("Waiting now (broker)", f"{waiting:,}")
    return ""
