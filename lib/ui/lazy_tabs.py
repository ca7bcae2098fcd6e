"""Tabs that build only the open tab: what a fresh page sends the browser is one tab's charts
and tables, not every tab's (issue 12: each page with data in ≤ 2 s while Flower hangs).

Invariants: the tabs keep their labels and order; the first tab (or ``default``) is open on a
first visit; a tab's content is built only while it is open, so switching tabs reruns the
script and builds the newly open one (its inputs start afresh); the open tab is kept in the
session under ``key`` (a test, or a link within the session, may set it before a run).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

__all__ = ["lazy_tabs"]


def lazy_tabs(
    labels: Sequence[str], key: str, default: str | None = None
) -> dict[str, DeltaGenerator]:
    """Draw the tabs; the open one's container by its label (one entry: build into it)."""
    tabs = st.tabs(list(labels), key=key, default=default, on_change="rerun")
    opened = {label: tab for label, tab in zip(labels, tabs, strict=True) if tab.open}
    # Tracking is on (on_change), so exactly one tab says it is open; should a Streamlit
    # release stop tracking, ``open`` is None for all: build them all rather than none.
    return opened or dict(zip(labels, tabs, strict=True))
