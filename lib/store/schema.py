"""The store's tables, in SQLAlchemy Core with portable types (SQLite now, PostgreSQL next).

Times are UTC epoch seconds (floats; a rollup's ``minute`` is the whole second its minute
starts at). Text a producer or a failure wrote is stored capped and masked (``lib.store.rows``).
A missing name, queue or worker is ``''`` in the rollups (a key column can't be NULL and stay
unique), NULL everywhere else.

This module is the shape of the latest migration (``lib.store.migrations``); a change to it
needs a new migration step, never an edit of an applied one.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

__all__ = [
    "METADATA",
    "QUEUE_SAMPLES",
    "ROLLUP_COUNTS",
    "ROLLUP_HISTOGRAMS",
    "SCHEMA_VERSION",
    "TASKS",
    "TASK_EVENTS",
    "TASK_TEXT_COLUMNS",
    "TASK_TIME_COLUMNS",
    "WORKER_SAMPLES",
    "epoch",
    "utc_times",
]

METADATA = MetaData()

#: Flower's epoch-float times, stored as they came.
TASK_TIME_COLUMNS = (
    "sent",
    "received",
    "started",
    "succeeded",
    "failed",
    "retried",
    "revoked",
    "rejected",
    "timestamp",
)
#: Text as Flower sends it (``state`` is the effective state; ``flower_state`` Flower's own).
TASK_TEXT_COLUMNS = (
    "name",
    "state",
    "flower_state",
    "worker",
    "queue",
    "args",
    "kwargs",
    "result",
    "exception",
    "traceback",
    "eta",
    "expires",
    "exchange",
    "client",
    "parent_id",
    "root_id",
    "children",
)

SCHEMA_VERSION = Table(
    "schema_version",
    METADATA,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", Float, nullable=False),
)

#: Every task's latest record. ``placed_at`` places it in a window (its finish if finished,
#: else received: lib/trends/window); ``last_at`` is its last event (else when first seen), what
#: retention reads; ``counted`` says its rollup contribution is in; ``in_flower`` is False once
#: Flower no longer holds it.
TASKS = Table(
    "tasks",
    METADATA,
    Column("uuid", Text, primary_key=True),
    *(Column(name, Text) for name in TASK_TEXT_COLUMNS),
    *(Column(name, Float) for name in TASK_TIME_COLUMNS),
    Column("runtime", Float),
    Column("retries", Integer),
    Column("placed_at", Float),
    Column("last_at", Float, nullable=False),
    Column("counted", Boolean, nullable=False, default=False),
    Column("in_flower", Boolean, nullable=False, default=True),
    Index("ix_tasks_placed_at", "placed_at"),
    Index("ix_tasks_last_at", "last_at"),
)

#: Each task's observed timeline: one row per (state, exception) change the store saw.
TASK_EVENTS = Table(
    "task_events",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", Text, nullable=False),
    Column("at", Float),  # the payload's timestamp: when the worker said it
    Column("seen_at", Float, nullable=False),  # when the store learnt it
    Column("state", Text),
    Column("exception", Text),
    Index("ix_task_events_uuid", "uuid"),
)

QUEUE_SAMPLES = Table(
    "queue_samples",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("queue", Text, nullable=False),
    Column("messages", Integer),  # None: the broker did not say
    Column("consumers", Integer),
    Index("ix_queue_samples_at", "at"),
)

WORKER_SAMPLES = Table(
    "worker_samples",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("worker", Text, nullable=False),
    Column("online", Boolean),
    Column("active", Integer),
    Column("processed", Integer),
    Column("load", Float),  # 1-minute load average
    Index("ix_worker_samples_at", "at"),
)

#: Finished tasks per minute of their finish, by name, queue, worker and effective state.
ROLLUP_COUNTS = Table(
    "rollup_counts",
    METADATA,
    Column("minute", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("worker", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("tasks", Integer, nullable=False),
    PrimaryKeyConstraint("minute", "name", "queue", "worker", "state"),
)

#: Log-scale histograms per minute: ``runtime`` by task name, ``wait`` by queue
#: (lib.store.histogram has the buckets).
ROLLUP_HISTOGRAMS = Table(
    "rollup_histograms",
    METADATA,
    Column("minute", Integer, nullable=False),
    Column("metric", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("tasks", Integer, nullable=False),
    PrimaryKeyConstraint("minute", "metric", "subject", "bucket"),
)


def epoch(moment: datetime | float) -> float:
    """A moment as the store keeps it: UTC epoch seconds (an aware datetime, or seconds already)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("times must be timezone-aware (UTC)")
        return moment.timestamp()
    return float(moment)


def utc_times(seconds: pd.Series) -> pd.Series:
    """Epoch seconds → UTC times to the nearest microsecond, as the tasks frame has them."""
    micros = np.round(pd.to_numeric(seconds, errors="coerce").astype("float64") * 1e6)
    return pd.to_datetime(micros, unit="us", utc=True).astype("datetime64[us, UTC]")
