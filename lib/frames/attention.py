"""The Overview's "needs attention" strip: what a person should look at now, each with its page.

Pure: the workers frame, recent queue samples and the pulse (``lib.frames.over_time``) in, a list
of ``Attention`` items out. An empty list means all is well. The rules, simple on purpose:

- **Worker offline**: every worker Flower lists as offline (``online`` False). Links to the
  Workers page, ``?worker=<name>``.
- **Queue growing**: a queue whose last ``GROWING_SAMPLES`` depth samples (within the last
  ``GROWING_LOOKBACK`` seconds, one per poll) all say a depth and each is higher than the one
  before. Links to the Queues page, ``?queue=<name>``. A paused queue that grows stays in the
  strip, its sentence saying "paused since … by …": growth is what a pause does, but a pause
  forgotten after a deploy is exactly what someone must notice, so it is explained, not hidden.
- **Failure spike**: over the pulse's last ``SPIKE_MINUTES`` minutes at least
  ``SPIKE_MIN_FAILURES`` tasks failed, and the failure rate there (failed ÷ processed) is at
  least ``SPIKE_FACTOR`` times the rate of the rest of the hour and ``SPIKE_POINTS`` points
  above it (a quiet rest of the hour counts as 0 %). Links to the Errors page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from lib.store.pauses import QueuePause

__all__ = [
    "GROWING_LOOKBACK",
    "GROWING_SAMPLES",
    "RULES",
    "SPIKE_FACTOR",
    "SPIKE_MINUTES",
    "SPIKE_MIN_FAILURES",
    "SPIKE_POINTS",
    "Attention",
    "failure_spikes",
    "growing_queues",
    "needs_attention",
    "offline_workers",
]

#: A queue grows when it rose at each of its last 4 samples (3 rises in a row).
GROWING_SAMPLES = 4
#: Samples older than this do not count (a collector that stopped for a while broke the run).
GROWING_LOOKBACK = 600.0
#: The failure-spike window at the end of the pulse, and its thresholds.
SPIKE_MINUTES = 5
SPIKE_MIN_FAILURES = 5
SPIKE_FACTOR = 2.0
SPIKE_POINTS = 10.0

#: The rules in one sentence, for the page (from the constants above, so it cannot drift).
RULES = (
    "Offline: a worker Flower lists as offline. Growing: a queue deeper at each of its last "
    f"{GROWING_SAMPLES} samples. Failure spike: ≥ {SPIKE_MIN_FAILURES} failures in the last "
    f"{SPIKE_MINUTES} minutes at a failure rate ≥ {SPIKE_FACTOR:g}× and ≥ {SPIKE_POINTS:g} "
    "points above the rest of the hour."
)

WORKERS_PAGE = "screens/workers.py"
QUEUES_PAGE = "screens/queues.py"
ERRORS_PAGE = "screens/errors.py"


@dataclass(frozen=True)
class Attention:
    """One thing to look at: its kind, subject, what is wrong, and the page that shows it."""

    kind: str  # "Worker offline", "Queue growing", "Failure spike"
    subject: str
    sentence: str
    page: str  # the screen's path, as st.page_link takes it
    query: dict[str, str] = field(default_factory=dict)  # the contract's deep link


def needs_attention(
    workers: pd.DataFrame | None,
    queue_samples: pd.DataFrame | None,
    pulse: pd.DataFrame | None,
    pauses: Mapping[str, QueuePause] | None = None,
) -> list[Attention]:
    """Every item of the strip, offline workers first, then growing queues, then spikes;
    a missing input (None) adds nothing. ``pauses``: the paused queues, by name."""
    items: list[Attention] = []
    if workers is not None:
        items += offline_workers(workers)
    if queue_samples is not None:
        items += growing_queues(queue_samples, pauses or {})
    if pulse is not None:
        items += failure_spikes(pulse)
    return items


def offline_workers(workers: pd.DataFrame) -> list[Attention]:
    """Every worker the workers frame marks offline, by name."""
    offline = workers.loc[~workers["online"].astype(bool), "worker"]
    return [
        Attention("Worker offline", str(w), f"{w} is offline.", WORKERS_PAGE, {"worker": str(w)})
        for w in sorted(offline.astype(str))
    ]


def growing_queues(
    samples: pd.DataFrame, pauses: Mapping[str, QueuePause] | None = None
) -> list[Attention]:
    """Queues whose depth rose at each of their last ``GROWING_SAMPLES`` samples; a paused
    one's sentence says since when and by whom (UTC).

    ``samples``: raw queue samples (``Store.queue_samples``) of the last ``GROWING_LOOKBACK``
    seconds, oldest first (at, queue, messages).
    """
    items = []
    for queue, rows in samples.sort_values("at", kind="stable").groupby("queue", sort=True):
        depths = rows["messages"].tail(GROWING_SAMPLES)
        if len(depths) < GROWING_SAMPLES or depths.isna().any():
            continue
        values = depths.astype("int64").tolist()
        if all(b > a for a, b in pairwise(values)):
            said = " → ".join(f"{v:,}" for v in values)
            sentence = f"{queue} is growing: {said} messages over its last {len(values)} samples."
            if pause := (pauses or {}).get(str(queue)):
                since = datetime.fromtimestamp(pause.since, UTC)
                sentence += (
                    f" It is paused (since {since:%Y-%m-%d %H:%M} UTC by {pause.by}): its "
                    "messages wait until Resume."
                )
            items.append(
                Attention("Queue growing", str(queue), sentence, QUEUES_PAGE, {"queue": str(queue)})
            )
    return items


def failure_spikes(pulse: pd.DataFrame) -> list[Attention]:
    """A failure spike at the end of the pulse (``over_time.pulse_frame``), or nothing."""
    recent, rest = pulse.tail(SPIKE_MINUTES), pulse.iloc[:-SPIKE_MINUTES]
    failed, processed = int(recent["failed"].sum()), int(recent["processed"].sum())
    if failed < SPIKE_MIN_FAILURES or not processed:
        return []
    rate = 100.0 * failed / processed
    before = _rate(rest)
    if rate < SPIKE_FACTOR * before or rate - before < SPIKE_POINTS:
        return []
    sentence = (
        f"{failed:,} of {processed:,} tasks failed in the last {SPIKE_MINUTES} minutes "
        f"({rate:.1f}%), against {before:.1f}% in the rest of the hour."
    )
    return [Attention("Failure spike", "failures", sentence, ERRORS_PAGE)]


def _rate(pulse: pd.DataFrame) -> float:
    processed = int(pulse["processed"].sum())
    return 100.0 * int(pulse["failed"].sum()) / processed if processed else 0.0
