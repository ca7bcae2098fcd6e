"""Workers and queue depths read from one cluster: the one place the monitor and the collector
read them, so both tell the same story.

``WorkerReader`` reads Flower's heartbeat summaries and liveness each time and its inspect cache
(pool, queues) only when a worker appears, restarts under the same name (its heartbeats' pid
is not the inspected one) or once a minute, because ``/api/workers?refresh=1`` broadcasts an
inspect. ``read_queues`` takes depths from the broker when ``CELERY_BROKER_URL``
names a Redis or RabbitMQ broker, else (or when the broker fails) from Flower, and says which.

Invariants: a broker failure never hides the queues (Flower's counts stand in, the note says
why, and the error is handed back for whoever keeps health); a Flower failure is raised as the
client's ``FlowerError``, except an inspect refresh that outlasts FLOWER_TIMEOUT (Flower's
broadcast waits for every worker): Flower's cached inspect stands in and the note says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lib import frames
from lib.broker import BrokerProbe
from lib.errors import BrokerError, ConsoleError, FlowerNotFound, FlowerUnreachable
from lib.flower import FlowerClient

__all__ = ["INSPECT_EVERY_SECONDS", "QueuesReading", "WorkerReader", "read_queues"]

#: ``/api/workers?refresh=1`` broadcasts an inspect (about a second); once a minute is plenty.
INSPECT_EVERY_SECONDS = 60.0


class WorkerReader:
    """Reads the workers frame of one Flower, keeping its inspect cache between reads."""

    def __init__(self, client: FlowerClient, clock: Callable[[], float] = time.time):
        self.client = client
        self.clock = clock
        self._info: dict = {}
        self._inspected: float | None = None
        self._inspected_ok = True  # the last refresh answered (else unknown workers wait)

    @property
    def info(self) -> dict:
        """Flower's inspect cache as last read (``/api/workers``: per worker stats, queues,
        registered, conf); replaced whole by each refresh, never changed in place."""
        return self._info

    def read(self) -> tuple[pd.DataFrame, str]:
        """The workers frame (``frames.workers_frame``) and what was odd in Flower's answers."""
        status = self.client.worker_status()
        summaries = self.client.worker_summaries()
        now = self.clock()
        unknown = set(status) - set(self._info)
        due = self._inspected is None or now - self._inspected >= INSPECT_EVERY_SECONDS
        slow = ""
        if due or ((unknown or _restarted(summaries, self._info, status)) and self._inspected_ok):
            # A worker that started after Flower is missing from Flower's inspect cache; one
            # restarted under the same name is there with its old process's queues.
            slow = self._inspect(now)
        odd = frames.OddValues("worker")
        frame = frames.workers_frame(summaries, self._info, status, now, odd)
        return frame, " ".join(filter(None, (slow, odd.sentence())))

    def remember(self, info: dict) -> None:
        """Take a fresher inspect answer for some workers (``{worker: info}``) into the cache."""
        self._info = {**self._info, **info}

    def _inspect(self, now: float) -> str:
        """Refresh Flower's inspect cache; when the broadcast outlasts FLOWER_TIMEOUT (Flower
        waits for every worker), take Flower's cached inspect and say so. Either way the next
        refresh waits its minute: a slow inspect must not cost a timeout every poll."""
        self._inspected = now
        try:
            self._info = self.client.list_workers(refresh=True)
            self._inspected_ok = True
            return ""
        except FlowerUnreachable as exc:
            self._inspected_ok = False
            self._info = self.client.list_workers(refresh=False) or self._info
            said = exc.detail.rstrip(".") or "no answer in time"
            return (
                f"Flower's inspect of the workers did not answer ({said}), so pool and queue "
                "details are Flower's last known ones."
            )


def _restarted(summaries: list[dict], info: dict, status: dict) -> bool:
    """True when an online worker's heartbeats come from another process than the one
    inspected (an offline one would not answer: asking again each poll would cost a timeout)."""
    for summary in summaries:
        if status.get(summary.get("hostname")) is not True:
            continue
        inspected = info.get(summary.get("hostname"))
        stats = inspected.get("stats") if isinstance(inspected, dict) else None
        pid = stats.get("pid") if isinstance(stats, dict) else None
        beating = summary.get("pid")
        if isinstance(pid, int) and isinstance(beating, int) and pid != beating:
            return True
    return False


@dataclass(frozen=True)
class QueuesReading:
    """The queues frame, what the page should say about it, and the broker's failure if any."""

    frame: pd.DataFrame
    note: str
    broker_error: BrokerError | None = None
    depths: dict[str, int | None] | None = None  # per queue, for a frame rebuilt with tasks


def read_queues(
    client: FlowerClient,
    probe: BrokerProbe | None,
    workers: pd.DataFrame,
    tasks: pd.DataFrame,
    now: float,
) -> QueuesReading:
    """One row per queue the workers consume or Flower counts (``frames.queues_frame``)."""
    odd = frames.OddValues("queue")
    depths, note, broker_error = _queue_depths(client, probe, workers, odd)
    frame = frames.queues_frame(depths, workers, tasks, datetime.fromtimestamp(now, UTC))
    note = " ".join(filter(None, (note, odd.sentence())))
    return QueuesReading(frame, note, broker_error, depths)


def _queue_depths(
    client: FlowerClient, probe: BrokerProbe | None, workers: pd.DataFrame, odd: frames.OddValues
) -> tuple[dict[str, int | None], str, BrokerError | None]:
    names = {q for qs in workers["queues"].dropna() for q in qs.split(", ")}
    error: BrokerError | None = None
    if probe is not None and probe.supported:
        try:
            depths = probe.queue_depths(names)
            return depths, f"Depths read from the broker at {probe.display_url}.", None
        except ConsoleError as exc:
            error = exc if isinstance(exc, BrokerError) else BrokerError(str(exc))
            fallback = f"{exc} Showing Flower's counts instead."
    elif probe is not None:
        fallback = (
            f"The broker at {probe.display_url} is not Redis or RabbitMQ; showing Flower's counts."
        )
    else:
        fallback = "CELERY_BROKER_URL is not set; depths come from Flower."
    try:
        lengths = client.queue_lengths()
    except FlowerNotFound:
        # Flower answers 404 when it cannot read its broker's queues (an unsupported broker):
        # the queues stay listed with unknown depths; it is no failure of the poll.
        lengths = []
        fallback = (
            f"{error} Flower cannot read queue depths from this broker either."
            if error is not None
            else "Flower cannot read queue depths from this broker; set CELERY_BROKER_URL to a "
            "Redis or RabbitMQ broker to see them."
        )
    return frames.flower_depths(lengths, names, odd), fallback, error
