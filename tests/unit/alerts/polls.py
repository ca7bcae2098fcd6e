"""What an evaluator reads, built as the collector builds it: Flower's worker payloads through
``frames.workers_frame``, queue samples through ``frames.queues_frame`` into a real store, and a
``CollectorSnapshot`` + ``CollectorHealth`` of a poll that read them (or did not)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from lib import frames
from lib.alerts.model import AlertContext
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.store import Store

#: Not on a whole minute, as a real poll's moment is not.
NOW = 1_780_000_123.4
POLL = 10.0


def worker(online: bool, silent: float | None = 5.0, queues: tuple[str, ...] = ("default",)):
    """One worker as (online, seconds since its last heartbeat or None, queues it consumes)."""
    return online, silent, queues


def workers_at(now: float, **spec: tuple) -> pd.DataFrame:
    """A workers frame from Flower-shaped payloads: ``w1=worker(True)`` → worker ``w1@host``."""
    summaries, info, status = [], {}, {}
    for short, (online, silent, queues) in spec.items():
        name = f"{short}@host"
        beats = [] if silent is None else [now - silent]
        summaries.append({"hostname": name, "heartbeats": beats, "status": online})
        info[name] = {
            "active_queues": [{"name": q} for q in queues],
            "stats": {"uptime": 86400, "pid": 100},
            "timestamp": now,
        }
        status[name] = online
    return frames.workers_frame(summaries, info, status, now)


def sampled(store: Store, at: float, depths: dict, workers: pd.DataFrame) -> None:
    """One poll's queue and worker samples, recorded as the collector records them."""
    empty = frames.tasks_frame([])
    queues = frames.queues_frame(depths, workers, empty, datetime.fromtimestamp(at, UTC))
    store.record_samples(queues, workers, at)


def context(
    store: Store,
    *,
    workers: pd.DataFrame | None = None,
    depths: dict | None = None,
    now: float = NOW,
    read_at: float | None = None,
    poll_started: float | None = None,
    memory: dict | None = None,
) -> AlertContext:
    """The context of a poll that began at ``poll_started`` (default: 2 s before ``now``) and
    read workers and depths at ``read_at`` (default: 1 s before ``now``: this poll)."""
    read_at = now - 1 if read_at is None else read_at
    started = now - 2 if poll_started is None else poll_started
    snapshot = CollectorSnapshot(
        version=1,
        workers=workers,
        workers_at=None if workers is None else read_at,
        depths=depths,
        depths_at=None if depths is None else read_at,
    )
    health = CollectorHealth(poll_seconds=POLL, last_attempt=started, last_success=started)
    return AlertContext(
        now=now,
        cluster="default",
        store=store,
        snapshot=snapshot,
        health=health,
        memory={} if memory is None else memory,
    )
