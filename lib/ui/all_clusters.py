"""The All clusters page's reads: each cluster's figures from its own console, the cheap way.

Every cluster's row comes from what its ``ClusterMonitor`` already holds (the collector's
latest snapshot, the last hour's rollups, the firing alerts: each built once per poll and
shared by every session); no Flower is asked in the script run. The frame is
``lib.frames.clusters.clusters_frame``.

Invariant: one cluster whose Flower is down, or whose store fails, shows its row with the
problem in words; it never breaks the page nor hides the other clusters.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import streamlit as st

from lib.clusters import ClusterBook
from lib.errors import ConsoleError
from lib.frames.clusters import STALE_POLLS, ClusterFigures, clusters_frame
from lib.monitor import ClusterMonitor
from lib.redact import SCRUBBER
from lib.settings import Settings
from lib.store import Store
from lib.ui.formatting import viewer_tz
from lib.ui.readings import explain
from lib.ui.tables import table
from lib.ui.wiring import console

__all__ = ["CLUSTER_TABLE", "cluster_figures", "clusters_overview", "clusters_table"]

#: The table's headers and its link into each cluster (the Overview, scoped to it).
CLUSTER_TABLE = {
    "name": st.column_config.TextColumn("name"),
    "open": st.column_config.LinkColumn("open", display_text="open"),
    "workers_online": st.column_config.TextColumn("workers online"),
    "tasks_per_min": st.column_config.TextColumn(
        "tasks / min (1 h)", help="Tasks finished (succeeded + failed) per minute, last hour"
    ),
    "failure_rate_1h": st.column_config.TextColumn(
        "failure rate (1 h)", help="Failed ÷ (succeeded + failed) over the last hour"
    ),
    "backlog": st.column_config.TextColumn(
        "backlog",
        help="Messages waiting in the broker's queues; — when the cluster names no broker_url",
    ),
    "firing": st.column_config.TextColumn("firing alerts"),
    "data_age": st.column_config.TextColumn(
        "data age",
        help="How old the collector's latest data is; stale when its last poll failed or "
        f"it is over {STALE_POLLS} polls old",
    ),
    "problem": st.column_config.TextColumn("problem", width="large"),
}


def clusters_overview(book: ClusterBook) -> pd.DataFrame:
    """One row per cluster of ``book`` (``clusters_frame``), as their monitors hold them now."""
    return clusters_frame([cluster_figures(c) for c in book.clusters], time.time())


def cluster_figures(cluster: Settings) -> ClusterFigures:
    """What ``cluster``'s monitor holds for its row; the problem in words when it can't say."""
    bare = ClusterFigures(
        cluster.cluster,
        cluster.cluster_label,
        cluster.poll_seconds,
        has_broker=cluster.broker_url is not None,
    )
    try:
        monitor = console(cluster).monitor
        return _figures(bare, monitor, _store_problem(cluster, monitor.store))
    except ConsoleError as exc:  # its console can't be built or read: its row says why
        return replace(bare, problem=SCRUBBER(explain(exc)))


def _store_problem(cluster: Settings, store: Store) -> str:
    """What is wrong with the cluster's history store, or "": one small read of it each run
    (the readings are built once per poll: they would not notice a store that broke since)."""
    if store.url != cluster.cluster_store_url:  # wiring.open_store fell back to a temporary one
        return (
            "Its history store can't be opened: this server keeps its history in a temporary store."
        )
    try:
        store.kept(f"collector/{cluster.cluster}")
    except ConsoleError as exc:
        return f"Its history store can't be read: {explain(exc)}"
    return ""


def _figures(bare: ClusterFigures, monitor: ClusterMonitor, store_problem: str) -> ClusterFigures:
    health, snapshot = monitor.health, monitor.readout.snapshot
    problems = [store_problem]
    if health.last_error is not None or health.last_attempt is None:
        problems.append(monitor.health_sentence(viewer_tz()))
    try:
        pulse = monitor.pulse().value
    except ConsoleError as exc:  # the store fails: the snapshot's figures still show
        pulse = None
        problems.append(f"The last hour can't be read from the history store: {explain(exc)}")
    firing = monitor.firing()
    if firing.error is not None:
        problems.append(f"Alerts unreadable: {explain(firing.error)}")
    return replace(
        bare,
        workers=snapshot.workers,
        pulse=pulse,
        depths=snapshot.depths,
        firing=None if firing.value is None else len(firing.value),
        data_until=health.data_until,
        failing=health.last_error is not None,
        problem=SCRUBBER(" ".join(p for p in problems if p)),
    )


def clusters_table(frame: pd.DataFrame) -> None:
    """The clusters as a table, each linking to its Overview, with its downloads."""
    table(frame, "all-clusters", csv_key="all_clusters_csv", columns=CLUSTER_TABLE)
