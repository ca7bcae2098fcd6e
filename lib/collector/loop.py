"""``Collector``: one loop per cluster that reads Flower and the broker and writes the store.

Every ``OPS_POLL_SECONDS`` a poll: (1) Flower's tasks, incrementally (``lib.sync.TaskSync``
over a ``StoreMirror``: a full reload marks the tasks Flower forgot instead of deleting them);
(2) workers (``lib.readers.WorkerReader``) and queue depths (``lib.readers.read_queues``) as
samples, and every ``WAITING_EVERY_SECONDS`` what waits on each worker (``lib.collector.waiting``:
scheduled, reserved, active, revoked); (3) with a result backend, the progress meta of running training jobs
(``lib.collector.progress``) into the snapshot; (3b) paused queues kept paused on the workers
(``lib.collector.pauses``, audited as "collector"); (3c) the alert rules evaluated and their
states advanced (``lib.alerts.watch``); (4) retention, at most every
``PRUNE_EVERY_SECONDS``; (5) the sync cursor and when
data last came in, kept in the store, so a restarted collector resumes incrementally. A full load
(first sync, Flower restarted, the periodic reload) writes page by page and says how far it is in
the health (``catching_up``) after each page.

Invariants:

- Nothing Flower, the broker or the store does stops the loop: each poll's problems become
  the next ``CollectorHealth`` snapshot (scrubbed plain words), and the next poll comes.
- When Flower does not answer, the poll skips its other Flower reads (each would wait a
  whole ``FLOWER_TIMEOUT`` again), so a hung Flower costs one timeout per poll.
- ``stop()`` returns within about one ``FLOWER_TIMEOUT``: the loop checks for it between
  steps and a full load between pages, and a step waits at most one request's timeout (the
  broker probe's is no longer). A load stopped midway keeps the old cursor: the next run walks
  Flower again, so the store ends equal to Flower.
- Samples are written only from fresh readings: no worker row is made up when Flower is silent.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from types import TracebackType

from lib import frames
from lib.alerts.delivery import deliverer_for
from lib.alerts.watch import AlertWatcher
from lib.broker import BrokerProbe, ResultBackend
from lib.collector.facts import WorkerFactsKeeper, kept_worker_facts
from lib.collector.health import FLOWER, CollectorHealth, PollProblem
from lib.collector.mirror import StoreMirror
from lib.collector.pauses import PauseKeeper
from lib.collector.progress import TrainingProgress
from lib.collector.snapshot import CollectorSnapshot
from lib.collector.stored import sampled_snapshot
from lib.collector.waiting import WaitingReader, waiting_every, waiting_key
from lib.errors import BrokerError, ConsoleError, FlowerError, FlowerUnreachable, StoreError
from lib.flower import FlowerClient
from lib.metrics.exporter import MetricsExporter
from lib.readers import WorkerReader, read_queues
from lib.redact import SCRUBBER, protect, scrub
from lib.settings import Settings
from lib.store import Store
from lib.sync import PAGE_SIZE, SyncCursor, TaskSync

__all__ = ["PRUNE_EVERY_SECONDS", "Collector", "PollReport"]

log = logging.getLogger(__name__)

#: Retention deletes in batches; every few minutes keeps each run small without polling it.
PRUNE_EVERY_SECONDS = 300.0
#: The broker probe waits at most this long (never longer than FLOWER_TIMEOUT: see stop()).
PROBE_TIMEOUT = 3.0
#: stop() waits one FLOWER_TIMEOUT for the request in flight, plus this for the rest.
STOP_MARGIN = 2.0
#: Where a restarted collector's first figures come from, until its first poll.
LAST_SAMPLED = "Sampled before this console started; Flower has not been read since."
SOURCES = ((FlowerError, FLOWER), (BrokerError, "the broker"), (StoreError, "the history store"))


@dataclass
class PollReport:
    """What one poll did (epoch s and counts), for ``./ops collect``'s line and for tests."""

    started: float
    seconds: float = 0.0
    mode: str = ""  # the task sync's "full" or "incremental"; "" when it failed
    fetched: int = 0
    written: int = 0
    samples: int = 0
    pruned: int = 0
    problems: list[PollProblem] = field(default_factory=list)

    @property
    def flower_silent(self) -> bool:
        return any(p.source == FLOWER and p.no_answer for p in self.problems)


class Collector:
    """Polls one cluster into its store, in a thread (``start``/``stop``) or the foreground."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        cluster: str = "default",
        client: FlowerClient | None = None,
        clock: Callable[[], float] = time.time,
        on_poll: Callable[[PollReport, CollectorHealth], None] | None = None,
    ):
        protect(settings.secrets)  # before any error text is made
        self.settings, self.store, self.cluster, self.clock = settings, store, cluster, clock
        self.client = client or FlowerClient.from_settings(settings)
        self.probe_timeout = min(PROBE_TIMEOUT, settings.flower_timeout)
        self.probe = (
            BrokerProbe(settings.broker_url, self.probe_timeout) if settings.broker_url else None
        )
        self.mirror = StoreMirror(
            store, settings.retention_days, settings.retention_success_days, clock
        )
        self._stop = threading.Event()
        self.sync = TaskSync(
            self.client, self.mirror, PAGE_SIZE, clock=clock, stopping=self._stop.is_set
        )
        self.workers = WorkerReader(self.client, clock)
        self.pauses = PauseKeeper(self.client, store, clock, str(settings.store_url), cluster)
        self.facts = WorkerFactsKeeper(store, cluster, settings.secrets)
        self.progress = self._training_progress()
        self.waiting = WaitingReader(
            self.client, waiting_every(settings), settings.flower_timeout, clock, self._stop.is_set
        )
        self.alerts = AlertWatcher.from_settings(settings, store, cluster, clock)
        self.on_poll = on_poll
        self.deliverer = deliverer_for(settings, store, cluster, clock)  # None: no webhook
        self._key = f"collector/{cluster}"
        self._wake = threading.Event()  # set by stop() and wake(): the next poll comes now
        self._polled = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_prune: float | None = None
        self._health = self._resume()
        self._snapshot = self._last_sampled()
        # Prometheus /metrics and /healthz (OPS_METRICS_PORT), served while the loop runs.
        self.metrics = MetricsExporter.for_settings(settings, store, cluster, lambda: self.health)
        if self.metrics is not None:
            self.mirror.on_finished = self.metrics.finished.add

    @property
    def health(self) -> CollectorHealth:
        """The latest poll's outcome (an immutable snapshot; safe from any thread)."""
        return self._health

    @property
    def snapshot(self) -> CollectorSnapshot:
        """The latest poll's readings besides tasks (immutable; safe from any thread)."""
        return self._snapshot

    def wait_polled(self, version: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s until more than ``version`` polls have finished."""
        with self._polled:
            return self._polled.wait_for(lambda: self._snapshot.version > version, timeout)

    def wake(self) -> None:
        """Poll now rather than at the next interval (after an action, say)."""
        self.waiting.expire()  # an action may have changed what waits on the workers
        self._wake.set()

    # -- running -----------------------------------------------------------------------------

    def start(self, hold: threading.Event | None = None, at_most: float = 0.0) -> Collector:
        """Run the loop in a background thread (a daemon: a hung request never blocks exit).
        ``hold``: its first poll waits until that is set, at most ``at_most`` s (a starting
        server builds the pages' readings from the store first: a poll beside that build
        slowed it by half)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            name = f"collector-{self.cluster}"
            self._thread = threading.Thread(
                target=self._loop, args=(hold, at_most), name=name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the loop to end and wait for it; True when it has ended."""
        self._stop.set()
        self._wake.set()
        if self.deliverer is not None:
            self.deliverer.stop(0)  # asked now: it ends while the poll does (see _loop)
        thread = self._thread
        if thread is not None:
            thread.join(self.settings.flower_timeout + STOP_MARGIN if timeout is None else timeout)
            return not thread.is_alive()
        return True

    def run_forever(self) -> None:
        """Run the loop in this (main) thread until SIGINT or SIGTERM."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda *_: (self._stop.set(), self._wake.set()))
        try:
            self._stop.clear()
            self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _loop(self, hold: threading.Event | None = None, at_most: float = 0.0) -> None:
        if hold is not None:
            until = time.monotonic() + at_most
            while not hold.wait(0.05) and not self._stop.is_set() and time.monotonic() < until:
                continue
        if self.deliverer is not None:
            self.deliverer.start()  # the webhook outbox, in its own thread (lib.alerts.delivery)
        if self.metrics is not None:
            self.metrics.start()
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                self.poll()
                self._wake.wait(max(0.0, self.settings.poll_seconds - (time.monotonic() - began)))
                self._wake.clear()
        finally:
            if self.metrics is not None:
                self.metrics.stop()
            if self.deliverer is not None:
                self.deliverer.stop()  # asked in stop(): ends within one webhook timeout

    # -- one poll ----------------------------------------------------------------------------

    def poll(self) -> PollReport:
        """Read the cluster once and write what changed; never raises for the cluster's faults."""
        report = PollReport(started=self.clock())
        written_before = self.mirror.written
        synced = self._step(report, self._sync_tasks)
        if not report.flower_silent and not self._stop.is_set():
            self._step(report, self._sample)
        if not report.flower_silent and not self._stop.is_set():
            self._step(report, self._keep_paused)
        if not report.flower_silent and not self._stop.is_set():
            self._step(report, self._read_waiting)
        if self.progress is not None and not self._stop.is_set():
            self._step(report, self._read_progress)
        if not self._stop.is_set():  # also when Flower is silent: the rules say what they can
            self._step(report, self._watch_alerts)
        if not self._stop.is_set():
            self._step(report, self._prune_if_due)
        report.written = self.mirror.written - written_before
        ended = self.clock()
        report.seconds = ended - report.started
        health = self._health.after_poll(
            report.started, ended, tuple(report.problems), report.written, synced
        )
        if not self._step(report, lambda r: self._keep(health)):
            health = self._health.after_poll(
                report.started, ended, tuple(report.problems), report.written, synced
            )
        note = frames.odd_values_of(self.mirror.odd).sentence()
        if self.metrics is not None:  # the gauges once per poll; a scrape only formats them
            self.metrics.after_poll(self._snapshot, ended)
            health = replace(health, metrics_note=self.metrics.note)
        with self._polled:  # the snapshot first: whoever sees the new health sees its data
            self._snapshot = replace(self._snapshot, version=health.polls, tasks_note=note)
            self._health = health
            self._polled.notify_all()
        if self.deliverer is not None:
            self.deliverer.wake()  # the poll may have queued notifications
        if self.on_poll is not None:
            self.on_poll(report, health)
        return report

    def _step(self, report: PollReport, step: Callable[[PollReport], None]) -> bool:
        """Run one step; a failure becomes one of the poll's problems. True when it worked."""
        try:
            step(report)
        except ConsoleError as exc:
            report.problems.append(self._problem(exc))
            return False
        except Exception as exc:  # a bug must not end the loop: log it whole, say it, go on
            if self._stop.is_set():  # a server's exit ends its thread pools under the step
                log.debug("collector step ended by the stop: %s", exc)
                return False
            log.exception("collector step failed unexpectedly")
            text = f"The collector failed unexpectedly ({type(exc).__name__}); see its log."
            report.problems.append(PollProblem("the collector", text))
            return False
        return True

    def _problem(self, exc: ConsoleError) -> PollProblem:
        source = next((name for kind, name in SOURCES if isinstance(exc, kind)), "the collector")
        text = scrub(str(SCRUBBER(str(exc))), self.settings.secrets)
        return PollProblem(source, text, no_answer=isinstance(exc, FlowerUnreachable))

    def _sync_tasks(self, report: PollReport) -> None:
        sync = self.sync.refresh(progress=self._catching_up)
        report.mode, report.fetched = sync.mode, sync.fetched

    def _catching_up(self, done: int, total: int | None) -> None:
        """A full load wrote a page: say how far it is, here and in the store (for a console
        reading it). The kept cursor is still the old one: the walk has not ended."""
        health = self._health.loading(done, total, self.clock())
        with self._polled:
            self._health = health
            self._polled.notify_all()
        try:
            self._keep(health)
        except ConsoleError as exc:  # the progress line only: the poll's own keep says it
            log.info("catch-up progress not kept: %s", exc)

    def _sample(self, report: PollReport) -> None:
        workers, note = self.workers.read()
        facts = self.facts.read(self.workers.info)
        self._snapshot = replace(
            self._snapshot,
            workers=workers,
            workers_note=note,
            workers_at=self.clock(),
            worker_facts=facts,
        )
        self._read_task_types()
        if self._stop.is_set():
            return
        queues = read_queues(self.client, self.probe, workers, frames.tasks_frame([]), self.clock())
        self._snapshot = replace(
            self._snapshot,
            depths=queues.depths,
            depths_note=queues.note,
            depths_at=self.clock(),
            consumers=None,  # read from the workers now, not the samples
        )
        report.samples = self.store.record_samples(queues.frame, workers, self.clock())
        self.facts.keep(facts, self.clock())  # for a console reading the store
        if queues.broker_error is not None:  # Flower's counts were sampled instead: say so
            raise queues.broker_error

    def _read_waiting(self, report: PollReport) -> None:
        """What waits on each online worker, when a round is due (``lib.collector.waiting``):
        into the snapshot, and the store for a console reading it (OPS_COLLECTOR=external)."""
        got = self.waiting.read_due(self._snapshot.workers)
        if got is not None:
            self._snapshot = replace(self._snapshot, waiting=got)
            self.store.keep(waiting_key(self.cluster), got, self.clock())

    def _keep_paused(self, report: PollReport) -> None:
        """Cancel paused queues' consumers again on workers that consume them (this poll's)."""
        if self._snapshot.workers_at is not None and self._snapshot.workers_at >= report.started:
            self.pauses.enforce(self._snapshot.workers, self.workers.remember)

    def _read_task_types(self) -> None:
        """Every task name Flower has seen; a failure keeps the last list (pages only offer
        them as choices, so it is not a poll's problem)."""
        try:
            types = tuple(self.client.task_types())
        except ConsoleError as exc:
            log.info("task types not read: %s", exc)
            return
        self._snapshot = replace(self._snapshot, task_types=types)

    def _training_progress(self) -> TrainingProgress | None:
        """The result-backend reader of training jobs' progress; None without a backend."""
        if not self.settings.result_backend:
            return None
        # No longer than the broker probe: stop() must not wait for a hung backend.
        backend = ResultBackend(self.settings.result_backend, self.probe_timeout)
        return TrainingProgress(
            backend.task_meta, self.settings.workflows_file, self.settings.poll_seconds, self.clock
        )

    def _read_progress(self, report: PollReport) -> None:
        """Training jobs' progress meta into the snapshot: a backend that fails is said on
        the Workflows page with the last records (not a poll problem: Flower's data is fine)."""
        got = self.progress.read(self.store)
        if got is None:
            return
        self._snapshot = replace(
            self._snapshot,
            metas=got.metas,
            metas_error=got.error,
            metas_skipped=got.skipped,
            metas_at=self.clock(),
        )
        report.samples += self.store.record_progress(got.samples, self.clock())

    def _watch_alerts(self, report: PollReport) -> None:
        """Evaluate the alert rules and advance their states (``lib.alerts.watch``)."""
        note = self.alerts.watch(self._snapshot, self._health).note
        self._snapshot = replace(self._snapshot, alerts_note=note)

    def _prune_if_due(self, report: PollReport) -> None:
        now = self.clock()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        settings = self.settings
        pruned = self.store.prune(now, settings.retention_days, settings.retention_success_days)
        report.pruned = sum(pruned.deleted.values())

    # -- kept between runs -------------------------------------------------------------------

    def _keep(self, health: CollectorHealth) -> None:
        kept = {
            "flower_url": self.client.display_url,
            "cursor": asdict(self.sync.cursor()),
            "health": health.to_kept(),
            "latest": asdict(health),  # for a console reading the store (OPS_COLLECTOR=external)
        }
        self.store.keep(self._key, kept, self.clock())

    def _resume(self) -> CollectorHealth:
        """Take back the kept cursor (same Flower only) and when data last came in."""
        kept = self.store.kept(self._key) or {}
        cursor = kept.get("cursor") if isinstance(kept.get("cursor"), dict) else {}
        watermark, last_full = cursor.get("watermark"), cursor.get("last_full")
        if kept.get("flower_url") == self.client.display_url and _seconds(watermark):
            self.sync.resume(SyncCursor(watermark, last_full if _seconds(last_full) else None))
            log.info("collector %s resumes from watermark %s", self.cluster, watermark)
        health = kept.get("health") if isinstance(kept.get("health"), dict) else None
        return CollectorHealth.resumed(
            health,
            cluster=self.cluster,
            timeout=self.settings.flower_timeout,
            poll_seconds=self.settings.poll_seconds,
        )

    def _last_sampled(self) -> CollectorSnapshot:
        """The store's last figures, for pages before this run's first poll reads Flower (a
        restarted console shows them at once; a hung Flower keeps them on screen), as of the
        last good poll: a console restarted hours after it keeps the figures it last had."""
        try:
            polled = self._health.data_until or self.clock()
            snapshot = sampled_snapshot(self.store, polled, 0, LAST_SAMPLED)
            return replace(snapshot, worker_facts=kept_worker_facts(self.store, self.cluster))
        except ConsoleError as exc:
            log.info("no stored samples to start from: %s", exc)
            return CollectorSnapshot()

    @property
    def resumed(self) -> bool:
        """Whether this collector continues a kept cursor (no full first load)."""
        return self.sync.watermark is not None


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
