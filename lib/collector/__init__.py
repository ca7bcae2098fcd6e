"""The collector: one loop per cluster that keeps the history store up to date (issue 12).

By concern: ``loop`` (``Collector``: the poll, the thread, the foreground run), ``mirror``
(``StoreMirror``: the task sync's store, written through to the history store), ``health``
(``CollectorHealth`` and its sentence), ``snapshot`` (``CollectorSnapshot``: the latest
readings kept in memory for pages), ``stored`` (``StoredReadout``: another process's collector
read from the store), ``lines`` (``./ops collect``'s line per poll), ``every_cluster`` (``./ops
collect`` with OPS_CLUSTERS_FILE: a collector thread per cluster), ``__main__`` (``./ops collect``).

The console (``lib.ui.wiring``) starts one ``Collector`` thread per cluster when
``OPS_COLLECTOR=embedded`` (the default) and reads a ``StoredReadout`` when it is ``external``;
pages read both through ``lib.monitor.ClusterMonitor``.
"""

from lib.collector.health import (
    CollectorHealth,
    PollProblem,
    catch_up_sentence,
    health_sentence,
)
from lib.collector.loop import Collector, PollReport
from lib.collector.mirror import StoreMirror

__all__ = [
    "Collector",
    "CollectorHealth",
    "PollProblem",
    "PollReport",
    "StoreMirror",
    "catch_up_sentence",
    "health_sentence",
]
