"""``MetricsReading``: the gauges' values, computed once per poll from the store and the snapshot.

A scrape never reads the store: it formats the latest reading (``lib.metrics.families``). One
reading is three grouped store reads (``Store.exported_counts``) plus the last hour's runtime and
wait percentiles from the rollups (``Store.percentiles``: linear interpolation, within the
histogram's stated error), and the collector's snapshot for queues and workers.

Invariants: every name, queue and exception type went through its ``LabelCap`` (values beyond a
cap summed into ``other``; percentiles are not summable, so ``other`` has none); tasks and
failures are what the store holds (retention decides); ``queues`` holds a queue's messages only
when the broker (or Flower) said them; exception types come from ``lib.failures`` and each
distinct exception text is parsed once per run (``ParsedFailures``, bounded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from lib import frames
from lib.failures import Rule, categorize, parse_exception
from lib.metrics.labels import OTHER, UNKNOWN, LabelCap
from lib.store import Store

if TYPE_CHECKING:  # types only: lib.collector imports this package
    from lib.collector.snapshot import CollectorSnapshot

__all__ = [
    "QUANTILES",
    "WINDOW_SECONDS",
    "Caps",
    "MetricsReading",
    "ParsedFailures",
    "read_metrics",
]

#: The exported quantiles (label values) and the percentiles they are read as.
QUANTILES = {"0.5": 50.0, "0.95": 95.0, "0.99": 99.0}
#: The quantile gauges cover the last hour of finished tasks (the rollups' whole minutes).
WINDOW_SECONDS = 3600.0
#: Distinct exception texts parsed and kept per run; past it the memo starts again.
PARSED_LIMIT = 50_000


@dataclass(frozen=True)
class Caps:
    """The run's label caps: task names, queues, exception types."""

    tasks: LabelCap = field(default_factory=LabelCap)
    queues: LabelCap = field(default_factory=LabelCap)
    exceptions: LabelCap = field(default_factory=LabelCap)


@dataclass(frozen=True)
class MetricsReading:
    """The gauges at ``at`` (epoch s), keyed by their label values (without ``cluster``)."""

    at: float = 0.0
    queues: dict[str, tuple[int | None, int]] = field(default_factory=dict)  # messages, consumers
    workers: dict[str, int] = field(default_factory=dict)  # online / offline → workers
    tasks: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], int] = field(default_factory=dict)
    runtime: dict[tuple[str, str], float] = field(default_factory=dict)  # (task, quantile)
    wait: dict[tuple[str, str], float] = field(default_factory=dict)  # (queue, quantile)
    firing: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, severity)


class ParsedFailures:
    """Exception type and category of each distinct (exception, traceback), parsed once."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules = tuple(rules)
        self._memo: dict[tuple[str | None, str | None], tuple[str, str]] = {}

    def __call__(self, exception: str | None, traceback: str | None) -> tuple[str, str]:
        key = (exception, traceback)
        found = self._memo.get(key)
        if found is None:
            kind, message = parse_exception(exception, traceback)
            found = (kind or UNKNOWN, categorize(kind, message, self.rules))
            if len(self._memo) >= PARSED_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found


def read_metrics(
    store: Store,
    snapshot: CollectorSnapshot,
    cluster: str,
    caps: Caps,
    parsed: ParsedFailures,
    now: float,
) -> MetricsReading:
    """One reading of the store and ``snapshot`` at ``now`` (raises ``StoreError``)."""
    counts = store.exported_counts(cluster)
    caps.tasks.admit(_busiest(counts.tasks))
    start = now - WINDOW_SECONDS
    return MetricsReading(
        at=now,
        queues=_queues(snapshot, caps.queues, now),
        workers=_workers(snapshot.workers),
        tasks=_summed(
            ((caps.tasks.label(n), s or UNKNOWN), c) for (n, s), c in counts.tasks.items()
        ),
        failures=_failures(counts.failures, caps, parsed),
        runtime=_quantiles(
            store.percentiles("runtime", start, now, QUANTILES.values()), caps.tasks
        ),
        wait=_quantiles(store.percentiles("wait", start, now, QUANTILES.values()), caps.queues),
        firing=dict(counts.firing),
    )


def _busiest(tasks: Mapping[tuple[str | None, str | None], int]) -> list[str | None]:
    """Task names, most tasks first (ties by name): who gets a label while there is room."""
    per_name: Counter = Counter()
    for (name, _), n in tasks.items():
        per_name[name or UNKNOWN] += n
    return sorted(per_name, key=lambda name: (-per_name[name], name))


def _summed(pairs: Iterable[tuple[tuple, int]]) -> dict:
    out: Counter = Counter()
    for key, n in pairs:
        out[key] += n
    return dict(out)


def _failures(raw: Mapping, caps: Caps, parsed: ParsedFailures) -> dict:
    def labelled():
        for (name, exception, traceback), n in raw.items():
            kind, category = parsed(exception, traceback)
            yield (caps.tasks.label(name), caps.exceptions.label(kind), category), n

    return _summed(labelled())


def _queues(snapshot: CollectorSnapshot, cap: LabelCap, now: float) -> dict:
    """Messages and consumers per queue, as the collector's last poll read them."""
    if snapshot.depths is None and snapshot.workers is None:
        return {}
    workers = snapshot.workers if snapshot.workers is not None else frames.workers_frame([])
    at = pd.Timestamp(now, unit="s", tz="UTC")
    frame = frames.queues_frame(snapshot.depths or {}, workers, frames.tasks_frame([]), at)
    cap.admit(frame["queue"])
    out: dict[str, tuple[int | None, int]] = {}
    for row in frame.itertuples():
        messages = None if pd.isna(row.messages) else int(row.messages)
        queue = cap.label(row.queue)
        held, consumers = out.get(queue, (None, 0))
        if messages is not None:
            held = (held or 0) + messages
        out[queue] = (held, consumers + int(row.consumers))
    return out


def _workers(workers: pd.DataFrame | None) -> dict[str, int]:
    if workers is None:
        return {}
    online = int(workers["online"].fillna(False).astype(bool).sum())
    return {"online": online, "offline": len(workers) - online}


def _quantiles(percentiles: pd.DataFrame, cap: LabelCap) -> dict[tuple[str, str], float]:
    """Each subject's quantiles; subjects beyond the cap have none (percentiles don't add)."""
    out = {}
    for row in percentiles.to_dict("records"):
        subject = cap.label(row["subject"])
        if subject == OTHER:
            continue
        for label, q in QUANTILES.items():
            out[(subject, label)] = float(row[f"p{q:g}"])
    return out
