"""``StoredReadout``: what another process's collector (``./ops collect``) left in the store,
read the way an embedded ``Collector`` is read (``health``, ``snapshot``).

For ``OPS_COLLECTOR=external``: the console runs no collector and never asks Flower for its
pages; it reads the collector's health (kept in the store each poll) and its latest samples.

Training jobs' records come from their latest progress samples (``progress_records``): the page
reads the store, never the result backend, and a job that failed keeps the last figures the
collector sampled; what samples do not hold (``gpu``, any other meta key) is not shown.

Workers come from the latest worker samples: the figures samples do not hold (``UNSAMPLED``)
are empty and the note says so; ``up_since`` (when each worker's process started, which the
orphaned flag compares with a task's start to see a restart) comes from the inspect facts the
collector keeps apart (``lib.collector.facts``: inspect time − uptime, as the embedded frame
computes it); a worker's detail has all its facts from there; queue consumers come from the queue samples (which workers
consume is not sampled). ``sampled_snapshot`` also gives a restarted console's collector the
last figures before its first poll. Task types come from the stored tasks' names (the monitor).

Invariants: the snapshot's ``version`` is the kept health's poll count, so frames built from it
are built once per poll of the external collector; workers and queue depths come only from the
latest poll's samples (one ``at``), never mixed across polls; a reading of the store that fails
leaves the last good snapshot and says so in the health.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace

import pandas as pd

from lib import frames
from lib.alerts.watch import kept_note
from lib.collector.facts import kept_worker_facts
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.collector.waiting import waiting_key
from lib.errors import ConsoleError
from lib.frames.worker_facts import WorkerFacts
from lib.settings import Settings
from lib.store import Store
from lib.store.samples import PROGRESS_FIGURES
from lib.workflows.config import load_workflows

__all__ = [
    "PROGRESS_LOOKBACK",
    "REREAD_SECONDS",
    "UNSAMPLED",
    "StoredReadout",
    "progress_records",
    "sampled_snapshot",
    "with_up_since",
]

#: The kept health is read again at most this often (every reading of every rerun asks).
REREAD_SECONDS = 0.5
#: Samples are looked for this far back: a few polls of any sensible interval.
SAMPLES_LOOKBACK = 3600.0
#: The workers frame's figures the samples do not hold: said on the page, shown empty.
UNSAMPLED = "heartbeat, 5- and 15-minute load, pool, autoscale, queues, pid, uptime and version"
#: Said with it: where the workers' start times come from instead.
UP_SINCE_NOTE = "'up since' comes from the workers' inspect facts the collector keeps."
#: A job's last progress sample is looked for this far back: a week of the training view.
PROGRESS_LOOKBACK = 7 * 86400.0
EXTERNAL = "Read from the store (OPS_COLLECTOR=external)."
log = logging.getLogger(__name__)


class StoredReadout:
    """The latest health and snapshot of the collector writing ``store`` for ``cluster``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        cluster: str = "default",
        clock: Callable[[], float] = time.time,
    ):
        self.settings, self.store, self.clock = settings, store, clock
        self._key, self._cluster = f"collector/{cluster}", cluster
        self._waiting_key = waiting_key(cluster)
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._health = CollectorHealth(
            cluster=cluster, timeout=settings.flower_timeout, poll_seconds=settings.poll_seconds
        )
        self._snapshot = CollectorSnapshot()

    @property
    def health(self) -> CollectorHealth:
        self._refresh()
        return self._health

    @property
    def snapshot(self) -> CollectorSnapshot:
        self._refresh()
        return self._snapshot

    def wait_polled(self, version: int, timeout: float) -> bool:
        """Whether the external collector has polled more than ``version`` times (no waiting:
        its polls are not this process's to wait for)."""
        return self.snapshot.version > version

    def wake(self) -> None:
        """Nothing to wake: the external collector polls on its own interval."""

    def _refresh(self) -> None:
        with self._lock:
            now = self.clock()
            if self._read_at is not None and now - self._read_at < REREAD_SECONDS:
                return
            self._read_at = now
            try:
                self._read(now)
            except ConsoleError as exc:
                log.warning("the store could not be read: %s", exc)

    def _read(self, now: float) -> None:
        kept = self.store.kept(self._key) or {}
        latest = kept.get("latest") if isinstance(kept.get("latest"), dict) else {}
        names = {f.name for f in fields(CollectorHealth)}
        health = replace(self._health, **{k: v for k, v in latest.items() if k in names})
        if health.polls == self._snapshot.version and self._snapshot.version:
            self._health = health
            return
        # As of the collector's last good poll: a failing one's last figures stay on screen.
        snapshot = sampled_snapshot(self.store, health.data_until or now, health.polls, EXTERNAL)
        metas = progress_records(self.store, now, self._figure_keys())
        waiting = self.store.kept(self._waiting_key)  # the external collector's latest round
        facts = kept_worker_facts(self.store, self._cluster)
        self._snapshot = replace(
            snapshot,
            workers=with_up_since(snapshot.workers, facts),
            workers_note=f"{snapshot.workers_note} {UP_SINCE_NOTE}"
            if facts
            else snapshot.workers_note,
            metas=metas,
            metas_at=_last_sample(metas, now),
            waiting=waiting,
            worker_facts=facts,
            alerts_note=kept_note(self.store, self._cluster),
        )
        self._health = health

    def _figure_keys(self) -> dict[str, tuple[str, ...]]:
        """Each sampled figure → the meta keys the training views read it under."""
        views = load_workflows(self.settings.workflows_file).views
        training = [v for v in views if v.kind == "training"]
        keys = [(v.progress_key, v.loss_key, v.accuracy_key) for v in training]
        return {f: tuple(dict.fromkeys(k[i] for k in keys)) for i, f in enumerate(PROGRESS_FIGURES)}


def sampled_snapshot(store: Store, now: float, version: int, source: str) -> CollectorSnapshot:
    """Workers, queue depths and consumers from the latest poll's samples in ``store`` (within
    the hour before ``now``), the way a collector's snapshot holds them. ``source`` starts the notes."""
    workers = store.worker_samples(now - SAMPLES_LOOKBACK, now + 1)
    queues = store.queue_samples(now - SAMPLES_LOOKBACK, now + 1)
    unsampled = f"Not sampled, so not shown here: {UNSAMPLED}."
    return CollectorSnapshot(
        version=version,
        workers=_workers(workers) if len(workers) else None,
        workers_note=f"{source} {unsampled}",
        workers_at=_last_at(workers),
        depths=_depths(queues, "messages") if len(queues) else None,
        depths_note=f"{source} Which workers consume each queue is not sampled.",
        depths_at=_last_at(queues),
        consumers=_depths(queues, "consumers") if len(queues) else None,
    )


def with_up_since(
    workers: pd.DataFrame | None, facts: dict[str, WorkerFacts] | None
) -> pd.DataFrame | None:
    """``workers`` with ``up_since`` from the kept inspect facts (``WorkerFacts.started_at``);
    unchanged without facts. A worker the facts do not name keeps it unknown (NaT)."""
    if workers is None or not facts:
        return workers
    started = workers["worker"].map(lambda w: facts[w].started_at if w in facts else None)
    out = workers.copy()
    out["up_since"] = pd.to_datetime(pd.to_numeric(started), unit="s", utc=True)
    return out


def progress_records(store: Store, now: float, keys: dict[str, tuple[str, ...]]) -> dict[str, dict]:
    """Each training job's latest progress sample (within ``PROGRESS_LOOKBACK``) as the
    backend record a collector would hold: ``{"status": "PROGRESS", "result": meta}``, the
    meta holding each figure reported under every key of ``keys`` (figure → view keys)."""
    latest = store.latest_progress(now - PROGRESS_LOOKBACK)
    records: dict[str, dict] = {}
    for row in latest.to_dict("records"):
        meta = {
            key: row[figure]
            for figure in PROGRESS_FIGURES
            if pd.notna(row[figure])
            for key in keys.get(figure, ())
        }
        records[str(row["uuid"])] = {"status": "PROGRESS", "result": meta, "sampled": row["at"]}
    return records


def _last_sample(records: dict[str, dict], now: float) -> float:
    times = [r["sampled"].timestamp() for r in records.values()]
    return max(times) if times else now


def _latest(samples: pd.DataFrame) -> pd.DataFrame:
    return samples[samples["at"] == samples["at"].max()]


def _last_at(samples: pd.DataFrame) -> float | None:
    return samples["at"].max().timestamp() if len(samples) else None


def _workers(samples: pd.DataFrame) -> pd.DataFrame:
    """The workers frame from one poll's samples: the figures sampled, the rest unknown."""
    empty = frames.workers_frame([], {}, {})
    latest = _latest(samples)
    frame = pd.DataFrame(index=range(len(latest)), columns=list(frames.WORKER_COLUMNS))
    frame["worker"] = latest["worker"].to_numpy()
    frame["online"] = latest["online"].to_numpy()
    frame["active"] = latest["active"].to_numpy()
    frame["processed"] = latest["processed"].to_numpy()
    frame["load_1m"] = latest["load"].to_numpy()
    frame["concurrency"] = latest["pool_size"].to_numpy()
    frame["main_peak_rss_mib"] = latest["main_peak_rss_mib"].to_numpy()
    return frame.astype(empty.dtypes.to_dict())


def _depths(samples: pd.DataFrame, column: str) -> dict[str, int | None]:
    """One figure per queue (``messages`` or ``consumers``) from the latest poll's samples."""
    latest = _latest(samples)
    return {
        str(q): None if pd.isna(m) else int(m)
        for q, m in zip(latest["queue"], latest[column], strict=True)
    }
