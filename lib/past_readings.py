"""The past on screen, as the monitor reads it: the Overview's pulse and needs-attention strip,
and sampled series (queue depths, worker figures) over a range.

``PastReadings`` is a part of ``lib.monitor.ClusterMonitor`` (its only user), split out by
concern: it builds with the monitor's shared work (``_once``, ``_once_for``: once per poll and
range, shared by every session) and says the monitor's health (``_reading``, ``health``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from lib.errors import ConsoleError
from lib.frames import attention, over_time
from lib.frames.attention import Attention
from lib.frames.over_time import Sampled
from lib.reading import Reading
from lib.store.pauses import PauseBook, QueuePause
from lib.time_range import SPANS

__all__ = ["PastReadings"]

log = logging.getLogger(__name__)


class PastReadings:
    """The pulse, the strip and sampled series; mixed into ``ClusterMonitor``."""

    def pulse(self) -> Reading[pd.DataFrame]:
        """Processed and failed per minute over the hour before the latest poll, from the
        store's rollups (``over_time.pulse_frame``); built once per poll."""
        return self._reading(self._once("pulse", self._pulse))

    def attention(self) -> Reading[list[Attention]]:
        """The Overview's "needs attention" items (``frames.attention``: offline workers,
        growing queues, a failure spike); built once per poll. Empty: all is well."""
        items = self._once("attention", self._attention, per_poll=True)
        return Reading(items, self.health.data_until, self._error())

    def queue_depths(self, start: datetime, end: datetime, label: str = "") -> Reading[Sampled]:
        """Each queue's depth over the range, downsampled (``Store.queue_depths``); once per
        poll and range (a preset evaluated at the poll's time, as ``analytics``)."""
        return self._sampled("queue_depths", start, end, label, self.store.queue_depths)

    def worker_figures(self, start: datetime, end: datetime, label: str = "") -> Reading[Sampled]:
        """Each worker's figures over the range, downsampled (``Store.worker_figures``); once
        per poll and range."""
        return self._sampled("worker_figures", start, end, label, self.store.worker_figures)

    def _poll_end(self) -> datetime:
        return datetime.fromtimestamp(self.health.data_until or self.clock(), UTC)

    def _pulse(self) -> pd.DataFrame:
        end = self._poll_end()
        counts = self.store.rollup_counts(over_time.pulse_start(end), end, ("state",), 1)
        return over_time.pulse_frame(counts, end)

    def _attention(self) -> list[Attention]:
        end = self._poll_end().timestamp()
        depths = self.store.queue_samples(end - attention.GROWING_LOOKBACK, end + 1)
        pulse = self._once("pulse", self._pulse)
        return attention.needs_attention(self.workers().value, depths, pulse, self._pauses())

    def _pauses(self) -> dict[str, QueuePause]:
        """The paused queues, or none when the store can't say (the strip still shows growth)."""
        try:
            return PauseBook(self.store).paused()
        except ConsoleError as exc:
            log.warning("paused queues unreadable for the attention strip: %s", exc)
            return {}

    def _sampled(
        self, name: str, start: datetime, end: datetime, label: str, read: Callable
    ) -> Reading[Sampled]:
        start, end = self._range(start, end, label)
        step = over_time.sample_step(start, end)
        key = (name, label if label in SPANS else (start, end))

        def sampled() -> Sampled:
            return Sampled(read(start, end, step), step, start, end)

        result = self._once_for(key, sampled, per_poll=True)
        return self._reading(result)
