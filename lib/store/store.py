"""``Store``: the one object callers hold — the history store of one cluster, opened and migrated.

Building a ``Store`` opens the process's engine for its URL and brings the schema to the latest
version (``lib.store.migrations``), so a ``Store`` that exists is usable. Every method is one
transaction: a write is whole or not at all; a read sees one consistent snapshot. Methods are
safe to call from several threads (each takes its own pooled connection). Failures are
``StoreError``. Times go in as UTC epoch seconds (reads also take aware datetimes).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

import pandas as pd

from lib.frames.filters import TaskFilter
from lib.purge_marks import PurgeMark
from lib.redact import DEFAULT_SENSITIVE_KEYS
from lib.settings import Settings
from lib.store import (
    alert_views,
    flag_rows,
    histogram_sums,
    kept,
    purged,
    rollups,
    samples,
    task_query,
    tasks,
    usage,
    waiting,
)
from lib.store.engine import close_engine, open_engine, reading, writing
from lib.store.exported import ExportedCounts, exported_counts
from lib.store.migrations import migrate
from lib.store.retention import DEFAULT_BATCH, PruneReport, prune
from lib.store.rows import Masking
from lib.store.schema import epoch
from lib.store.task_query import FILTERED_COLUMNS, TaskPage

__all__ = ["Store"]

Moment = datetime | float


class Store:
    """The store at ``url``; text is masked with ``sensitive_keys`` and ``secrets`` scrubbed."""

    def __init__(
        self,
        url: str,
        sensitive_keys: Iterable[str] = DEFAULT_SENSITIVE_KEYS,
        secrets: Iterable[str] = (),
    ):
        self.url = url
        self.engine = open_engine(url)
        self.masking = Masking(sensitive_keys, secrets)
        migrate(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The cluster's store (``OPS_STORE_URL``, its namespace in it), masking as the settings say."""
        return cls(settings.cluster_store_url, settings.sensitive_keys, settings.secrets)

    def close(self) -> None:
        """Close the process's connections to this store (every ``Store`` on its URL)."""
        close_engine(self.url)

    # -- writes ------------------------------------------------------------------------------

    def upsert_tasks(
        self, payloads: Iterable[Mapping], now: float, finished: list[dict] | None = None
    ) -> int:
        """Merge Flower task payloads (Celery precedence); return how many rows changed.
        ``finished`` gets the rows seen finished for the first time (valid once this returns)."""
        with writing(self.engine) as conn:
            return tasks.upsert_tasks(conn, payloads, now, self.masking, finished)

    def record_samples(self, queues: pd.DataFrame, workers: pd.DataFrame, now: float) -> int:
        """One poll's queues and workers frames as samples at ``now``; return rows written."""
        with writing(self.engine) as conn:
            return samples.record_samples(conn, queues, workers, now)

    def mark_gone(self, uuids: Iterable[str]) -> int:
        """Mark tasks Flower no longer holds; return how many were still marked held."""
        with writing(self.engine) as conn:
            return tasks.mark_gone(conn, uuids)

    def prune(
        self, now: float, retention_days: int, success_days: int, batch_size: int = DEFAULT_BATCH
    ) -> PruneReport:
        """Delete what retention no longer keeps, in short batches (``lib.store.retention``)."""
        return prune(self.engine, now, retention_days, success_days, batch_size)

    def keep(self, key: str, value: Mapping, now: float) -> None:
        """Keep a small JSON object under ``key`` between runs (``lib.store.kept``)."""
        with writing(self.engine) as conn:
            kept.put_kept(conn, key, value, now)

    # -- reads -------------------------------------------------------------------------------

    def kept(self, key: str) -> dict | None:
        """The object kept under ``key``, or None."""
        with reading(self.engine) as conn:
            return kept.get_kept(conn, key)

    def exported_counts(self, cluster: str) -> ExportedCounts:
        """Tasks, failures and ``cluster``'s firing alerts, counted (``lib.store.exported``)."""
        with reading(self.engine) as conn:
            return exported_counts(conn, cluster)

    def flower_uuids(self) -> set[str]:
        """The ids of the stored tasks Flower held at the last look."""
        with reading(self.engine) as conn:
            return kept.flower_uuids(conn)

    def tasks_window(
        self, start: Moment, end: Moment, states: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Tasks placed in ``[start, end)`` (only in ``states`` when given), as ``tasks_frame``
        builds them, + ``in_flower``."""
        with reading(self.engine) as conn:
            return tasks.tasks_window_frame(conn, start, end, states)

    def tasks_page(self, wanted: TaskFilter, limit: int, offset: int = 0) -> TaskPage:
        """The ``limit`` newest tasks matching ``wanted`` (from ``offset``) and how many match
        (``lib.store.task_query``: filtered, ordered and cut in the database)."""
        with reading(self.engine) as conn:
            return task_query.tasks_page(conn, wanted, limit, offset)

    def matching_uuids(self, wanted: TaskFilter) -> list[str]:
        """Every task id matching ``wanted``, newest first."""
        with reading(self.engine) as conn:
            return task_query.matching_uuids(conn, wanted)

    def task_values(self, columns: Sequence[str] = FILTERED_COLUMNS) -> dict[str, list]:
        """The distinct values each of ``columns`` holds, sorted (the page's choosers)."""
        with reading(self.engine) as conn:
            return task_query.task_values(conn, columns)

    def newest_tasks(self, limit: int) -> pd.DataFrame:
        """The ``limit`` tasks with the latest last event, newest first (+ ``in_flower``)."""
        with reading(self.engine) as conn:
            return task_query.newest_tasks(conn, limit)

    def queue_traffic(self, since: Moment) -> pd.DataFrame:
        """Tasks placed since ``since`` and every running task: the queues frame's reading."""
        with reading(self.engine) as conn:
            return task_query.queue_traffic(conn, epoch(since))

    def flag_candidates(self) -> pd.DataFrame:
        """Every task RECEIVED, STARTED or in a custom state (``flag_rows.flag_candidates``)."""
        with reading(self.engine) as conn:
            return flag_rows.flag_candidates(conn)

    def trend_rows(self, start: Moment, split: Moment, end: Moment) -> pd.DataFrame:
        """The raw rows a range's analytics reads: placed in ``[split, end)``, and unfinished
        ones from ``start``; masked text left out (``lib.store.task_query.trend_rows``)."""
        with reading(self.engine) as conn:
            return task_query.trend_rows(conn, epoch(start), epoch(split), epoch(end))

    def running_before(self, start: Moment) -> pd.DataFrame:
        """The tasks running now that were placed before ``start``: busy in a range that
        starts later (``lib.store.task_query.running_before``)."""
        with reading(self.engine) as conn:
            return task_query.running_before(conn, epoch(start))

    def range_rows(
        self, start: Moment, split: Moment, end: Moment
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``trend_rows`` and ``running_before(start)`` in one read, the held states read once."""
        with reading(self.engine) as conn:
            held = task_query.held_states(conn)
            rows = task_query.trend_rows(conn, epoch(start), epoch(split), epoch(end), held)
            return rows, task_query.running_before(conn, epoch(start), held)

    def gone_count(self) -> int:
        """How many stored tasks Flower no longer holds."""
        with reading(self.engine) as conn:
            return task_query.gone_count(conn)

    def task_count(self) -> int:
        """How many tasks the store holds."""
        with reading(self.engine) as conn:
            return tasks.task_count(conn)

    def oldest_at(self) -> float | None:
        """Since when the store holds data (epoch s): the earlier of the oldest task's last event
        and the first rollup minute; None when empty."""
        with reading(self.engine) as conn:
            found = [tasks.oldest_last_event(conn), rollups.oldest_minute(conn)]
        return min((t for t in found if t is not None), default=None)

    def task(self, uuid: str) -> dict | None:
        """One task's stored row (masked, capped text), or None."""
        with reading(self.engine) as conn:
            return tasks.task_row(conn, uuid)

    def timeline(self, uuid: str) -> pd.DataFrame:
        """The states and exceptions the store saw for one task, oldest first."""
        with reading(self.engine) as conn:
            return tasks.timeline_frame(conn, uuid)

    def rollup_counts(
        self, start: Moment, end: Moment, by: Sequence[str] = ("state",), step_minutes: int = 1
    ) -> pd.DataFrame:
        """Finished tasks per bucket of ``step_minutes`` in ``[start, end)``, grouped ``by``."""
        with reading(self.engine) as conn:
            return rollups.counts_frame(conn, start, end, by, step_minutes)

    def histograms(
        self, metric: str, start: Moment, end: Moment, step_minutes: int = 1
    ) -> pd.DataFrame:
        """``runtime`` (by name) or ``wait`` (by queue) histograms per bucket in a range."""
        with reading(self.engine) as conn:
            return rollups.histograms_frame(conn, metric, start, end, step_minutes)

    def histogram_sums(
        self,
        metric: str,
        start: Moment,
        end: Moment,
        step_minutes: int | None = None,
        by_subject: bool = True,
        subjects: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """``metric`` histograms summed in the database (``histogram_sums.summed_histograms``)."""
        with reading(self.engine) as conn:
            return histogram_sums.summed_histograms(
                conn, metric, start, end, step_minutes, by_subject, subjects
            )

    def percentiles(
        self, metric: str, start: Moment, end: Moment, quantiles: Sequence[float] = (50, 95, 99)
    ) -> pd.DataFrame:
        """Estimated ``runtime`` (by name) or ``wait`` (by queue) percentiles in a range."""
        with reading(self.engine) as conn:
            return rollups.percentiles_frame(conn, metric, start, end, quantiles)

    def worker_usage(self, start: Moment, end: Moment) -> pd.DataFrame:
        """Per worker over the rollup minutes in ``[start, end)``: runs, runtime (their sum)
        and busy_seconds of the finished tasks (``usage.usage_frame``)."""
        with reading(self.engine) as conn:
            return usage.usage_frame(conn, start, end)

    def usage_from(self) -> float | None:
        """From when the usage rollups are whole (epoch s); None: always (``usage``)."""
        with reading(self.engine) as conn:
            return usage.usage_from(conn)

    def queue_samples(self, start: Moment, end: Moment) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return samples.queue_samples_frame(conn, start, end)

    def worker_samples(self, start: Moment, end: Moment) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return samples.worker_samples_frame(conn, start, end)

    def queue_depths(self, start: Moment, end: Moment, step: int) -> pd.DataFrame:
        """Each queue's highest depth per ``step`` seconds (``samples.queue_depth_frame``)."""
        with reading(self.engine) as conn:
            return samples.queue_depth_frame(conn, start, end, step)

    def worker_figures(self, start: Moment, end: Moment, step: int) -> pd.DataFrame:
        """Each worker's figures per ``step`` seconds (``samples.worker_figures_frame``)."""
        with reading(self.engine) as conn:
            return samples.worker_figures_frame(conn, start, end, step)

    def queue_flow(self, queue: str, since: Moment, until: Moment) -> waiting.QueueFlow:
        """The tasks of ``queue`` received and sent in ``[since, until)`` (``waiting``)."""
        with reading(self.engine) as conn:
            return waiting.queue_flow(conn, queue, epoch(since), epoch(until))

    def oldest_waiting_sent(self, queue: str, after: Moment | None = None) -> float | None:
        """The earliest sent time of a PENDING task of ``queue`` sent after ``after``."""
        with reading(self.engine) as conn:
            found = waiting.oldest_waiting_sent(
                conn, queue, None if after is None else epoch(after)
            )
        return found

    def depth_near(self, queue: str, at: Moment, slack: float) -> int | None:
        """The queue's sampled depth nearest before ``at``, within ``slack`` s (``waiting``)."""
        with reading(self.engine) as conn:
            return waiting.depth_near(conn, queue, epoch(at), slack)

    def purge_marks(self, uuids: Iterable[str]) -> dict[str, PurgeMark]:
        """The latest purge mark of each of ``uuids`` that a purge removed (``purged``)."""
        with reading(self.engine) as conn:
            return purged.purge_marks(conn, uuids)

    def last_purge_at(self, queue: str) -> float | None:
        """When ``queue`` was last purged (epoch s), from the audit; None: never."""
        with reading(self.engine) as conn:
            return purged.last_purge_at(conn, queue)

    def record_progress(self, jobs: Iterable[Mapping], now: float) -> int:
        """Store one poll's training progress figures (``lib.store.samples``)."""
        with writing(self.engine) as conn:
            return samples.record_progress(conn, jobs, now)

    def progress_samples(self, start: Moment, end: Moment) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return samples.progress_samples_frame(conn, start, end)

    def latest_progress(self, since: Moment) -> pd.DataFrame:
        """Each training job's latest progress sample since ``since`` (``lib.store.samples``)."""
        with reading(self.engine) as conn:
            return samples.latest_progress_frame(conn, since)

    def progress_of(self, uuids: Iterable[str], start: Moment, end: Moment) -> pd.DataFrame:
        """The progress samples of the jobs ``uuids`` in ``[start, end)``, oldest first."""
        with reading(self.engine) as conn:
            return samples.progress_of_frame(conn, uuids, start, end)

    # -- alerts: the Alerts page's reads and writes (``lib.store.alert_views``) ---------------

    def current_alerts(self, cluster: str, resolved_since: float) -> list[dict]:
        with reading(self.engine) as conn:
            return alert_views.current_alerts(conn, cluster, resolved_since)

    def firing_alerts(self, cluster: str) -> list[dict]:
        with reading(self.engine) as conn:
            return alert_views.firing_alerts(conn, cluster)

    def alert_history(self, cluster: str, since: float) -> tuple[list[dict], list[dict]]:
        """The changes since ``since`` and the firing ones open then, in one snapshot."""
        with reading(self.engine) as conn:
            opened = alert_views.open_at(conn, cluster, since)
            return opened, alert_views.changes_since(conn, cluster, since)

    def active_silences(self, cluster: str, now: float) -> list[dict]:
        with reading(self.engine) as conn:
            return alert_views.active_silences(conn, cluster, now)

    def silence(self, cluster: str, rule: str, subject: str, until: float, by: str,
                reason: str, now: float) -> int:  # fmt: skip
        with writing(self.engine) as conn:
            return alert_views.add_silence(conn, cluster, rule, subject, until, by, reason, now)

    def lift_silence(
        self, cluster: str, silence_id: int, rule: str, subject: str, now: float
    ) -> dict | None:
        with writing(self.engine) as conn:
            return alert_views.lift_silence(conn, cluster, silence_id, rule, subject, now)

    def acknowledge(
        self, cluster: str, rule: str, subject: str, by: str, now: float
    ) -> alert_views.Acknowledged | None:
        with writing(self.engine) as conn:
            return alert_views.acknowledge(conn, cluster, rule, subject, by, now)
