"""Containers that build their content only while open — tabs and a collapsed section — so what
a fresh page sends the browser is one tab's charts and no closed form (issue 12: each page with
data in ≤ 2 s while Flower hangs; every chart and every kind of widget costs a fresh browser).

Invariants: tabs keep their labels and order, the first tab (or ``default``) is open on a first
visit; a section starts closed; content is built only while open, so opening a tab or a
section reruns the script (its fragment, inside one) and builds it, and its inputs start afresh;
the open tab, or whether a section is open, is kept in the session under ``key`` (a test may
set it before a run).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

__all__ = ["lazy_section", "lazy_tabs"]


def lazy_tabs(
    labels: Sequence[str], key: str, default: str | None = None
) -> dict[str, DeltaGenerator]:
    """Draw the tabs; the open one's container by its label (one entry: build into it)."""
    tabs = st.tabs(list(labels), key=key, default=default, on_change="rerun")
    opened = {label: tab for label, tab in zip(labels, tabs, strict=True) if tab.open}
    # Tracking is on (on_change), so exactly one tab says it is open; should a Streamlit
    # release stop tracking, ``open`` is None for all: build them all rather than none.
    return opened or dict(zip(labels, tabs, strict=True))


def lazy_section(label: str, key: str) -> DeltaGenerator | None:
    """A section that starts closed (an expander); its container while open, else None."""
    section = st.expander(label, key=key, on_change="rerun")
    return None if section.open is False else section
