"""``FinishedCounts``: tasks this collector saw finish, as Prometheus counters and histograms.

The store hands the collector each task row the first time it is counted finished
(``Store.upsert_tasks(finished=)``: its ``counted`` flag turns on, once per task per store).
Here each such row adds one to ``tasks_finished_total{task,state}``, its runtime (a SUCCESS or
FAILURE with a duration: the contract's Runtime) to the runtime histogram of its name, and its
wait (the contract's Wait) to the wait histogram of its queue.

Invariants: counts only grow, within one collector run (a restart starts them at zero, which
Prometheus' ``rate()`` reads as a counter reset); a task is never added twice in a run, since the
store hands it over once; names and queues go through the run's ``LabelCap``; a negative wait (a
skewed clock) is observed as 0. ``view()`` is a copy: a scrape never sees half an ``add``.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lib.metrics.labels import LabelCap
from lib.store.rows import duration, wait

__all__ = ["BUCKETS", "FinishedCounts", "FinishedView", "Histogram"]

#: Upper bounds (seconds) of the exported histograms: milliseconds to an hour, Prometheus style.
BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    math.inf,
)


@dataclass
class Histogram:
    """Observations per bucket of ``BUCKETS`` (not cumulative), their count and sum."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, observations ≤ le)`` pairs, as ``HistogramMetricFamily`` takes them."""
        running, out = 0, []
        for bound, count in zip(BUCKETS, self.counts, strict=True):
            running += count
            out.append(("+Inf" if math.isinf(bound) else f"{bound:g}", float(running)))
        return out

    def copy(self) -> Histogram:
        return Histogram(list(self.counts), self.total)


@dataclass(frozen=True)
class FinishedView:
    """A copy of the counts at one moment, for a scrape."""

    finished: dict[tuple[str, str], int]
    runtime: dict[str, Histogram]
    wait: dict[str, Histogram]


class FinishedCounts:
    """What this collector saw finish, by (capped) task name, state and queue."""

    def __init__(self, tasks: LabelCap, queues: LabelCap):
        self.tasks, self.queues = tasks, queues
        self._finished: Counter = Counter()
        self._runtime: dict[str, Histogram] = {}
        self._wait: dict[str, Histogram] = {}
        self._lock = threading.Lock()

    def add(self, rows: Iterable[Mapping]) -> None:
        """Count ``rows`` (store task rows, each seen finished for the first time)."""
        with self._lock:
            for row in rows:
                name = self.tasks.label(row["name"])
                self._finished[(name, row["state"])] += 1
                ran = duration(row)
                if ran is not None:
                    self._runtime.setdefault(name, Histogram()).observe(ran)
                waited = wait(row)
                if waited is not None:
                    self._wait.setdefault(self.queues.label(row["queue"]), Histogram()).observe(
                        waited
                    )

    def view(self) -> FinishedView:
        with self._lock:
            return FinishedView(
                dict(self._finished),
                {k: h.copy() for k, h in self._runtime.items()},
                {k: h.copy() for k, h in self._wait.items()},
            )
