"""The collector: one loop per cluster that keeps the history store up to date (issue 12).

By concern: ``loop`` (``Collector``: the poll, the thread, the foreground run), ``mirror``
(``StoreMirror``: the task sync's store, written through to the history store), ``health``
(``CollectorHealth`` and its sentence), ``__main__`` (``./ops collect``).

Not switched on in the console yet: pages still read ``lib.monitor``; ``OPS_COLLECTOR``
(embedded | external) is read and validated but nothing acts on it yet.
"""

from lib.collector.health import CollectorHealth, PollProblem, health_sentence
from lib.collector.loop import Collector, PollReport
from lib.collector.mirror import StoreMirror

__all__ = [
    "Collector",
    "CollectorHealth",
    "PollProblem",
    "PollReport",
    "StoreMirror",
    "health_sentence",
]
