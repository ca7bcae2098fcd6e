"""The outlook sections of one queue's panel (``Queues?queue=<name>``), in the panel's order:
consumers, oldest waiting, drain estimate. Layout only: ``lib.queue_outlook`` decides every
value and sentence; the store and the workers frame are read through the monitor.
"""

from __future__ import annotations

import streamlit as st

from lib.errors import ConsoleError
from lib.monitor import ClusterMonitor
from lib.queue_outlook import Figure, consumers_frame, read_outlook
from lib.ui.formatting import md_escape
from lib.ui.tables import table

__all__ = ["queue_outlook"]

#: The worker's link shows its name (the part after ``worker=``).
CONSUMER_LINK = {"link": st.column_config.LinkColumn("open", display_text=r"worker=(.*)$")}


def queue_outlook(
    monitor: ClusterMonitor, queue: str, depth: int | None, paused: bool = False
) -> None:
    """Consumers of ``queue`` (none is expected while it is ``paused``), its oldest waiting
    age and its drain estimate."""
    _consumers(monitor, queue, paused)
    try:
        outlook = read_outlook(
            monitor.store, queue, depth, monitor.clock(), monitor.settings.poll_seconds
        )
    except ConsoleError as exc:  # the store is down: the rest of the panel still works
        st.error(f"The queue's history can't be read: {md_escape(str(exc))}", icon="🚫")
        return
    left, right = st.columns(2)
    with left:
        _figure("Oldest waiting", outlook.oldest)
    with right:
        _figure("Drain estimate", outlook.drain)


def _consumers(monitor: ClusterMonitor, queue: str, paused: bool) -> None:
    st.markdown("**Consumers**")
    consumers = consumers_frame(monitor.workers().value, queue)
    if consumers.empty and paused:
        st.info("None while the queue is paused: its messages wait until Resume.", icon="⏸️")
        return
    if consumers.empty:
        st.warning(
            "No online worker consumes this queue now: its messages wait until one does.",
            icon="⚠️",
        )
        return
    table(consumers, f"consumers-{queue}", csv_key="queue_consumers_csv", columns=CONSUMER_LINK)


def _figure(label: str, figure: Figure) -> None:
    st.metric(label, figure.text)
    st.caption(md_escape(figure.why[:1].upper() + figure.why[1:] + "."))
