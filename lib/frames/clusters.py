"""The All clusters overview (one row per cluster the console watches) and the cluster a deep
link carries.

Each row is made from what that cluster's monitor already holds, never from Flower: the
collector's latest snapshot (workers, queue depths), the last hour's per-minute rollups (the
Overview's pulse), the firing alerts and the collector's health. The link into a cluster is its Overview: the default page, at the
app's root, so ``./?cluster=<name>`` (``/overview`` is no address of a default page).

Invariants: pure (figures and ``now`` in, a frame out); a cluster whose figures could not be
read keeps its row, with what went wrong in words and "—" for every figure not known; the
failure rate is the contract's Error rate over the last hour, FAILURE ÷ (SUCCESS + FAILURE), a
percent with one decimal, "—" when none finished; throughput counts the same finished tasks
per minute; the backlog is "—" without a broker; data older than ``STALE_POLLS`` polls, or
kept while the last poll failed, is marked stale; ``with_cluster`` never replaces a cluster a
link already names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

import pandas as pd

from lib.alerts.readings import span_words
from lib.frames.over_time import PULSE_MINUTES

__all__ = [
    "CLUSTER_COLUMNS",
    "CLUSTER_PARAM",
    "NONE",
    "OVERVIEW",
    "STALE_POLLS",
    "ClusterFigures",
    "cluster_row",
    "clusters_frame",
    "with_cluster",
]

#: The query parameter naming the cluster a page shows (contract: ``?cluster=<name>``).
CLUSTER_PARAM = "cluster"
#: The Overview, relative to any page: the default page, served at the app's root (``/``).
OVERVIEW = "./"
#: What a figure that is not known shows.
NONE = "—"
#: Data older than this many polls is stale: a poll or two late is a busy collector, not news.
STALE_POLLS = 3
#: The frame's columns, in order: the link into the cluster beside its name (a table wider than
#: the page scrolls sideways, and a link scrolled out of sight is a link nobody finds).
CLUSTER_COLUMNS = (
    "cluster",
    "name",
    "open",
    "workers_online",
    "tasks_per_min",
    "failure_rate_1h",
    "backlog",
    "firing",
    "data_age",
    "problem",
)


@dataclass(frozen=True)
class ClusterFigures:
    """What one cluster's monitor holds for its row; None where it could not be read."""

    name: str
    title: str
    poll_seconds: float
    #: ``frames.workers_frame`` (its ``online`` column), as the collector last read it
    workers: pd.DataFrame | None = None
    #: ``over_time.pulse_frame``: processed and failed per minute over the last hour
    pulse: pd.DataFrame | None = None
    #: waiting messages per queue, as the collector last read them
    depths: Mapping[str, int | None] | None = None
    has_broker: bool = False
    firing: int | None = None
    #: when the collector's data last reached the store (epoch s); None: never
    data_until: float | None = None
    #: whether the collector's last poll failed (its data is then kept, not fresh)
    failing: bool = False
    #: what is wrong with this cluster, in words ("" when nothing is)
    problem: str = ""


def clusters_frame(figures: Iterable[ClusterFigures], now: float) -> pd.DataFrame:
    """One row per cluster, in the order given (the clusters file's).

    Columns (text, as the page shows them): cluster (its title, else its name), name, open
    (the link into the cluster: its Overview, ``./?cluster=<name>``), workers_online ("2 of
    3"), tasks_per_min (finished per minute over the last hour), failure_rate_1h ("1.5%"),
    backlog (messages waiting in its broker's queues), firing (alerts firing now), data_age
    ("12 s ago", ", stale" when so), problem (in words, "" when none).
    """
    rows = [cluster_row(one, now) for one in figures]
    return pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS), dtype="string")


def cluster_row(one: ClusterFigures, now: float) -> dict[str, str]:
    """The row of one cluster (``clusters_frame``'s columns)."""
    finished, failed = _last_hour(one.pulse)
    return {
        "cluster": one.title,
        "name": one.name,
        "open": with_cluster(OVERVIEW, one.name),
        "workers_online": _workers(one.workers),
        "tasks_per_min": NONE if finished is None else f"{finished / PULSE_MINUTES:,.1f}",
        "failure_rate_1h": _rate(finished, failed),
        "backlog": _backlog(one.depths) if one.has_broker else NONE,
        "firing": NONE if one.firing is None else f"{one.firing:,}",
        "data_age": _data_age(one, now),
        "problem": one.problem,
    }


def _last_hour(pulse: pd.DataFrame | None) -> tuple[int | None, int | None]:
    """Tasks finished (succeeded + failed) and failed over the pulse's hour."""
    if pulse is None:
        return None, None
    return int(pulse["processed"].sum()), int(pulse["failed"].sum())


def _rate(finished: int | None, failed: int | None) -> str:
    if not finished or failed is None:
        return NONE
    return f"{100 * failed / finished:.1f}%"


def _workers(workers: pd.DataFrame | None) -> str:
    if workers is None:
        return NONE
    return f"{int(workers['online'].astype(bool).sum())} of {len(workers)}"


def _backlog(depths: Mapping[str, int | None] | None) -> str:
    """The waiting messages of every queue whose depth is known: a sum of nothing is not 0."""
    known = [int(n) for n in (depths or {}).values() if n is not None and not pd.isna(n)]
    return f"{sum(known):,}" if known else NONE


def _data_age(one: ClusterFigures, now: float) -> str:
    if one.data_until is None:
        return "no data yet"
    seconds = max(0.0, now - one.data_until)
    stale = one.failing or seconds > STALE_POLLS * one.poll_seconds
    return f"{span_words(seconds)} ago" + (", stale" if stale else "")


def with_cluster(link: str, cluster: str | None) -> str:
    """``link`` (relative: ``tasks?task=<id>``) naming ``cluster`` too, first, so a link
    column's ``task=(.*)$`` still shows the id; unchanged without a cluster or when the link
    names one already."""
    if not cluster:
        return link
    path, _, query = link.partition("?")
    if any(key == CLUSTER_PARAM for key, _ in parse_qsl(query, keep_blank_values=True)):
        return link
    rest = f"&{query}" if query else ""
    return f"{path}?{CLUSTER_PARAM}={quote(cluster, safe='')}{rest}"
