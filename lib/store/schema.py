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
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from lib.frames.tasks import TASK_TIME_COLUMNS, TEXT_COLUMNS

__all__ = [
    "ALERTS",
    "ALERT_CHANGES",
    "ALERT_DELIVERIES",
    "ALERT_SILENCES",
    "AUDIT",
    "AUDIT_TARGET",
    "KEPT_STATE",
    "METADATA",
    "PROGRESS_SAMPLES",
    "PURGED_TASKS",
    "QUEUE_SAMPLES",
    "ROLLUP_COUNTS",
    "ROLLUP_HISTOGRAMS",
    "ROLLUP_HOUR_COUNTS",
    "ROLLUP_HOUR_HISTOGRAMS",
    "ROLLUP_HOUR_USAGE",
    "ROLLUP_USAGE",
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

#: Text as the tasks frame reads it (``state`` is the effective state; ``flower_state`` Flower's
#: own; ``queue`` the routing key; ``children`` comma-joined ids).
TASK_TEXT_COLUMNS = (*(c for c in TEXT_COLUMNS if c != "uuid"), "flower_state")

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


def _samples(name: str, subject: str, *figures: Column) -> Table:
    """A time series: one row per ``subject`` per poll, at the poll's time."""
    return Table(
        name,
        METADATA,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", Float, nullable=False),
        Column(subject, Text, nullable=False),
        *figures,
        Index(f"ix_{name}_at", "at"),
    )


QUEUE_SAMPLES = _samples(
    "queue_samples",
    "queue",
    Column("messages", Integer),  # None: the broker did not say
    Column("consumers", Integer),
)
WORKER_SAMPLES = _samples(
    "worker_samples",
    "worker",
    Column("online", Boolean),
    Column("active", Integer),
    Column("processed", BigInteger),  # a long-lived worker's count passes 2**31 (step 5)
    Column("load", Float),  # 1-minute load average
    # Added by the worker-figures step (lib.store.migrations): the pool's size (the workers
    # frame's concurrency) and the MAIN process's peak RSS in MiB (rusage maxrss: not the
    # prefork children).
    Column("pool_size", Integer),
    Column("main_peak_rss_mib", Float),
)
#: Training jobs' progress meta, sampled each poll from the result backend (migration step 4).
PROGRESS_SAMPLES = _samples(
    "progress_samples",
    "uuid",
    Column("name", Text),
    Column("progress", Float),  # percent, 0-100
    Column("loss", Float),
    Column("accuracy", Float),
)


def _rollup(name: str, *keys: tuple[str, type]) -> Table:
    """Tasks per minute and ``keys``: one row per minute and key, summed by readers."""
    return Table(
        name,
        METADATA,
        Column("minute", BigInteger, nullable=False),  # epoch seconds pass 2**31 in 2038
        *(Column(key, kind, nullable=False) for key, kind in keys),
        Column("tasks", Integer, nullable=False),
        PrimaryKeyConstraint("minute", *(key for key, _ in keys)),
    )


#: Finished tasks per minute of their finish, by name, queue, worker and effective state.
ROLLUP_COUNTS = _rollup(
    "rollup_counts", ("name", Text), ("queue", Text), ("worker", Text), ("state", Text)
)
#: Log-scale histograms per minute: ``runtime`` by task name, ``wait`` by queue
#: (lib.store.histogram has the buckets).
ROLLUP_HISTOGRAMS = _rollup(
    "rollup_histograms", ("metric", Text), ("subject", Text), ("bucket", Integer)
)
#: The per-minute counts summed per hour (``minute`` = the hour's first minute) by one
#: ``dimension`` at a time (name, queue or worker), its ``value`` and the state; added by
#: migration step 8 (``lib.store.hourly``).
ROLLUP_HOUR_COUNTS = _rollup(
    "rollup_hour_counts", ("dimension", Text), ("value", Text), ("state", Text)
)
#: The per-minute histograms summed per hour; added by migration step 8.
ROLLUP_HOUR_HISTOGRAMS = _rollup(
    "rollup_hour_histograms", ("metric", Text), ("subject", Text), ("bucket", Integer)
)


def _usage(name: str) -> Table:
    """Per minute (or hour) and worker: runs, their runtime and busy seconds, summed by readers."""
    return Table(
        name,
        METADATA,
        Column("minute", BigInteger, nullable=False),
        Column("worker", Text, nullable=False),
        Column("runs", Integer, nullable=False),
        Column("runtime", Float, nullable=False),
        Column("busy", Float, nullable=False),
        PrimaryKeyConstraint("minute", "worker"),
    )


#: Worker usage of the finished tasks per minute of their finish (``lib.store.usage``); added by
#: migration step 10.
ROLLUP_USAGE = _usage("rollup_usage")
#: The same summed per hour (``minute`` = the hour's first minute); added by migration step 10.
ROLLUP_HOUR_USAGE = _usage("rollup_hour_usage")


#: Small named values a process keeps between runs (a collector's sync cursor and health), as
#: JSON text; added by migration step 2.
KEPT_STATE = Table(
    "kept_state",
    METADATA,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: The audit log (lib.audit): one row per action, written before anything is sent (outcome
#: NULL: "outcome unknown") and completed once. ``targets``, ``params`` and ``links`` are JSON
#: text; ``user`` is quoted by SQLAlchemy where it is a reserved word (PostgreSQL). Ids are never
#: reused, even after retention pruned the newest rows' neighbours (SQLite AUTOINCREMENT), since
#: messages cite them ("audit #3").
AUDIT = Table(
    "audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("op_id", Text, nullable=False, unique=True),
    Column("at", Float, nullable=False),
    Column("user", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("targets", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("preview_count", Integer),
    Column("finished_at", Float),
    Column("outcome", Text),
    Column("http_status", Integer),
    Column("message", Text),
    Column("links", Text),
    # The cluster acted on (OPS_CLUSTERS_FILE's name): one log for every cluster (step 17).
    Column("cluster", Text, nullable=False, server_default="default"),
    CheckConstraint("outcome IN ('sent', 'failed', 'refused', 'partial')", name="ck_audit_outcome"),
    Index("ix_audit_at", "at"),
    Index("ix_audit_cluster_at", "cluster", "at"),
    Index("ix_audit_user_at", "user", "at"),
    Index("ix_audit_action_at", "action", "at"),
    sqlite_autoincrement=True,
)

#: Each target of an action and what happened to it; ``id`` keeps the order they were recorded
#: in (SQLite's rowid did, before the store; PostgreSQL has no rowid).
AUDIT_TARGET = Table(
    "audit_target",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("audit_id", Integer, ForeignKey("audit.id"), nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", Text),
    Column("reason", Text),
    Column("reply", Text),
    Column("at", Float),
    CheckConstraint(
        "outcome IN ('sent', 'failed', 'not tried', 'skipped')", name="ck_audit_target_outcome"
    ),
    UniqueConstraint("audit_id", "target", name="uq_audit_target"),
    Index("ix_audit_target_target", "target"),
)

#: Tasks a purge removed (``lib.purge_marks``): one row per task id and purge, part of that
#: purge's audit record (``audit_id``: who and the queue's audit row; ``at``: when the broker
#: answered). Pruned with the audit row; added by the purge-marks migration step.
PURGED_TASKS = Table(
    "purged_tasks",
    METADATA,
    Column("audit_id", Integer, ForeignKey("audit.id"), nullable=False),
    Column("uuid", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("at", Float, nullable=False),
    PrimaryKeyConstraint("audit_id", "uuid"),
    Index("ix_purged_tasks_uuid", "uuid"),
)


def _alert_columns() -> list[Column]:
    """What an alert and each of its changes say: whose, which state, and its figures."""
    return [
        Column("cluster", Text, nullable=False),
        Column("rule", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("state", Text, nullable=False),
        Column("severity", Text, nullable=False),
        Column("summary", Text, nullable=False),
        Column("value", Float),
        Column("threshold", Float),
        Column("link", Text, nullable=False),
        Column("group_key", Text),
    ]


#: Alerts (lib.alerts): one row per cluster, rule and subject (a worker, a queue, a task name,
#: ``overall``): its current state and the figures of its last evaluation. ``link`` is a deep
#: link relative to the console (``workers?worker=w1``): OPS_PUBLIC_URL is prepended when sent.
#: ``group_key`` names the alert that causes this one (a dead worker's ``worker_offline/w1``), so
#: related alerts travel as one notification. Added by the alerts migration step.
ALERTS = Table(
    "alerts",
    METADATA,
    *_alert_columns(),
    Column("since", Float, nullable=False),
    Column("pending_since", Float),
    Column("fired_at", Float),
    Column("resolved_at", Float),
    Column("acked_by", Text),
    Column("acked_at", Float),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("cluster", "rule", "subject"),
    CheckConstraint("state IN ('pending', 'firing', 'resolved')", name="ck_alerts_state"),
    CheckConstraint("severity IN ('info', 'warning', 'critical')", name="ck_alerts_severity"),
    Index("ix_alerts_cluster_state", "cluster", "state"),
)

#: Every change of an alert's state, in order (the Alerts page's history; survives restarts).
ALERT_CHANGES = Table(
    "alert_changes",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_alert_columns(),
    Column("at", Float, nullable=False),
    Index("ix_alert_changes_cluster_at", "cluster", "at"),
    Index("ix_alert_changes_alert", "cluster", "rule", "subject", "at"),
    sqlite_autoincrement=True,
)

#: The webhook's outbox: one row per notification (a change to firing or resolved, grouped),
#: written in the same transaction as the change, so a restart neither loses nor repeats it.
#: ``payload`` is the JSON body (never the webhook URL); ``status`` queued → sent | gave_up.
ALERT_DELIVERIES = Table(
    "alert_deliveries",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cluster", Text, nullable=False),
    Column("change_id", Integer, ForeignKey("alert_changes.id"), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("last_error", Text),
    Column("sent_at", Float),
    CheckConstraint("status IN ('queued', 'sent', 'gave_up')", name="ck_alert_deliveries_status"),
    Index("ix_alert_deliveries_due", "status", "next_at"),
    sqlite_autoincrement=True,
)

#: Silences: a rule (and a subject, or ``*`` for all of the rule's) sends nothing until
#: ``until``; who set it and why; ``lifted_at`` when lifted early. Audited through the door.
ALERT_SILENCES = Table(
    "alert_silences",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cluster", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("until", Float, nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text),
    Column("created_at", Float, nullable=False),
    Column("lifted_at", Float),
    Index("ix_alert_silences_cluster_until", "cluster", "until"),
    sqlite_autoincrement=True,
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
