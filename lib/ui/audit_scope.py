"""Which clusters the Audit log page shows: the chosen one by default, or every one.

The audit log is one log for every cluster (each row names its cluster). With a clusters file
(OPS_CLUSTERS_FILE) the page is scoped to the cluster chosen in the sidebar, and an
``All clusters`` toggle shows every cluster's rows; without it the console watches one cluster
and the page shows every row (rows of clusters a file named before stay visible, by name).
"""

from __future__ import annotations

import streamlit as st

from lib.settings import Settings

__all__ = ["audit_scope"]


def audit_scope(settings: Settings) -> tuple[str, ...]:
    """The clusters the page reads (empty: every one). With a clusters file, an ``All clusters``
    toggle chooses between the chosen cluster (the default) and every cluster; without the
    file, every row."""
    if settings.clusters_file is None:
        return ()
    every = st.toggle(
        "All clusters",
        key="audit_all_clusters",
        help=f"Show what was done on every cluster, not only on {settings.cluster_label}.",
    )
    return () if every else (settings.cluster,)
