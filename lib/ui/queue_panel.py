"""One queue's panel on the Queues page (``Queues?queue=<name>``): what waits in it now, read
from the broker, and the actions on it.

Parts so far, in order: the waiting messages, the outlook (consumers, oldest waiting, drain
estimate: ``lib.ui.queue_outlook``) and ``Purge`` (admin). The panel's other parts (pause and
resume, scheduled tasks) join here as their own sections, before ``Purge``. The button is a
courtesy: the desk checks the role, the typed name and the broker again
(``ActionDesk.perform``); a broker that can't be used disables it and says why.
"""

from __future__ import annotations

import streamlit as st

from lib.actions import ACTIONS, ActionDesk
from lib.auth import Actor, allows
from lib.errors import ConsoleError
from lib.monitor import ClusterMonitor
from lib.ui.controls import action_button
from lib.ui.formatting import md_escape
from lib.ui.queue_outlook import queue_outlook

__all__ = ["queue_panel"]


def queue_panel(
    desk: ActionDesk, actor: Actor, queue: str, monitor: ClusterMonitor | None = None
) -> None:
    """The panel of ``queue``: waiting messages now, its outlook and, for admins, ``Purge``."""
    st.subheader(f"Queue {md_escape(queue)}")
    depth, why_not = _waiting_now(desk, queue)
    if monitor is not None:
        queue_outlook(monitor, queue, depth)
    if allows(actor.role, ACTIONS["purge"].role):
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
