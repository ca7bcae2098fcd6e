"""Versioned schema migrations: ordered steps, each applied once, recorded in ``schema_version``.

Invariants: a step runs in one write transaction together with its ``schema_version`` row, so
it is applied wholly or not at all; steps run in order from the store's version to
``LATEST``; running ``migrate`` again is a no-op; a store at a version this code does not know
(written by a newer console) is refused with a ``StoreError`` and left untouched. Two processes
migrating at once queue on the write transaction and the second finds nothing to do.

A step is never edited once released: a change of schema is a new step at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, inspect, select, text

from lib.errors import StoreError
from lib.store import hourly, schema, text_index, usage
from lib.store.alerts import add_retention_indexes
from lib.store.audit_clusters import add_audit_cluster
from lib.store.clustered import cluster_hourly_rollups
from lib.store.engine import writing

__all__ = [
    "LATEST",
    "MIGRATION_WAIT",
    "RECEIVED_INDEXES",
    "STEPS",
    "TASK_PAGE_INDEXES",
    "Step",
    "current_version",
    "migrate",
]


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _tables_v1(conn: Connection) -> None:
    for table in (
        schema.TASKS,
        schema.TASK_EVENTS,
        schema.QUEUE_SAMPLES,
        schema.WORKER_SAMPLES,
        schema.ROLLUP_COUNTS,
        schema.ROLLUP_HISTOGRAMS,
    ):
        table.create(conn)


def _kept_state_v2(conn: Connection) -> None:
    schema.KEPT_STATE.create(conn)


def _audit_tables(conn: Connection) -> None:
    # The audit log moves here from its own file; lib.audit.legacy takes that file's rows in.
    for table in (schema.AUDIT, schema.AUDIT_TARGET):
        table.create(conn)


def _progress_samples(conn: Connection) -> None:
    # The collector's training-progress step: one row per running job per poll.
    schema.PROGRESS_SAMPLES.create(conn)


#: Columns that outgrow 32 bits (table, column): PostgreSQL's INTEGER is 32-bit, SQLite's 64.
WIDE_COLUMNS = (
    ("rollup_counts", "minute"),
    ("rollup_histograms", "minute"),
    ("worker_samples", "processed"),
)


def _wide_integers(conn: Connection) -> None:
    # Stores made by steps 1-4 before the schema said BIGINT; altering a BIGINT is a no-op.
    if conn.dialect.name != "postgresql":
        return
    for table, column in WIDE_COLUMNS:
        conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))


#: Worker figures sampled since the worker-figures step: (column, type) added to worker_samples.
WORKER_FIGURES = (("pool_size", "INTEGER"), ("main_peak_rss_mib", "DOUBLE PRECISION"))


def _worker_figures(conn: Connection) -> None:
    # Step 1 creates worker_samples in the latest shape (these columns included) on a new
    # store: add only what an older store lacks.
    held = {c["name"] for c in inspect(conn).get_columns("worker_samples")}
    for column, kind in WORKER_FIGURES:
        if column not in held:
            conn.execute(text(f"ALTER TABLE worker_samples ADD COLUMN {column} {kind}"))


#: The Tasks page's orders (step 7, ``lib.store.task_query``): newest first, alone and within
#: each filtered column. PostgreSQL sorts NULL first when descending unless told; SQLite already
#: sorts it last and takes no NULLS clause in an index.
TASK_PAGE_INDEXES = {
    "ix_tasks_newest": (),
    "ix_tasks_state_newest": ("state",),
    "ix_tasks_name_newest": ("name",),
    "ix_tasks_worker_newest": ("worker",),
    "ix_tasks_queue_newest": ("queue",),
}


def _task_page_indexes(conn: Connection) -> None:
    nulls = " NULLS LAST" if conn.dialect.name == "postgresql" else ""
    for name, columns in TASK_PAGE_INDEXES.items():
        order = ", ".join((*columns, f'"timestamp" DESC{nulls}', "uuid"))
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON tasks ({order})"))


def _hourly_rollups(conn: Connection) -> None:
    # Built from the per-minute rollups the store holds (lib.store.hourly: the same sums).
    for table in (schema.ROLLUP_HOUR_COUNTS, schema.ROLLUP_HOUR_HISTOGRAMS):
        table.create(conn)
    hourly.backfill(conn)


#: The Tasks page's time filter (step 9): ``received`` alone and within a state, then the
#: newest-first order's columns, so a filter on the last day (+ SUCCESS) counts its tasks in an
#: index range and orders its page's ids within the index, never walking or sorting every row.
RECEIVED_INDEXES = {
    "ix_tasks_received": ("received",),
    "ix_tasks_state_received": ("state", "received"),
}


def _received_indexes(conn: Connection) -> None:
    for name, columns in RECEIVED_INDEXES.items():
        order = ", ".join((*columns, '"timestamp"', "uuid"))
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON tasks ({order})"))


def _usage_rollups(conn: Connection) -> None:
    # Built from the counted raw rows held (lib.store.usage: pruned successes stay out).
    for table in (schema.ROLLUP_USAGE, schema.ROLLUP_HOUR_USAGE):
        table.create(conn)
    usage.backfill(conn)


def _lean_task_indexes(conn: Connection) -> None:
    # The uuid that ended each Tasks-page index (a tie-break of the newest-first order) was
    # repeated in seven indexes: about a third of a task's bytes on SQLite. Timestamps are
    # floats and rarely tie; the few ties are ordered after the index walk (SQLite's partial
    # sort, PostgreSQL's incremental sort), so the pages still read by index.
    nulls = " NULLS LAST" if conn.dialect.name == "postgresql" else ""
    leading = {
        name: (*cols, f'"timestamp" DESC{nulls}') for name, cols in TASK_PAGE_INDEXES.items()
    }
    leading |= {name: (*cols, '"timestamp"') for name, cols in RECEIVED_INDEXES.items()}
    for name, columns in leading.items():
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text(f"CREATE INDEX {name} ON tasks ({', '.join(columns)})"))


#: A queue's oldest waiting task (``lib.store.waiting``): only PENDING rows are indexed, a few
#: beside the finished ones, so the index stays small whatever the store holds.
WAITING_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_tasks_waiting ON tasks (queue, sent) WHERE state = 'PENDING'"
)


def _waiting_index(conn: Connection) -> None:
    conn.execute(text(WAITING_INDEX))


def _purge_marks(conn: Connection) -> None:
    # checkfirst: a store rolled back to an earlier version by hand keeps the table it had.
    schema.PURGED_TASKS.create(conn, checkfirst=True)


def _alert_tables(conn: Connection) -> None:
    for table in (
        schema.ALERTS,
        schema.ALERT_CHANGES,
        schema.ALERT_DELIVERIES,
        schema.ALERT_SILENCES,
    ):
        # checkfirst: a store rolled back to an earlier version by hand keeps its tables.
        table.create(conn, checkfirst=True)


#: Every step in order.
STEPS: tuple[Step, ...] = (
    Step(1, "tasks, task timeline, queue and worker samples, per-minute rollups", _tables_v1),
    Step(2, "kept state: the collector's sync cursor and health between runs", _kept_state_v2),
    Step(3, "the audit log: actions and their per-target outcomes", _audit_tables),
    Step(4, "progress samples: running training jobs' progress, loss, accuracy", _progress_samples),
    Step(5, "64-bit rollup minutes and worker counts (PostgreSQL)", _wide_integers),
    Step(6, "worker figures: pool size and the main process's peak RSS", _worker_figures),
    Step(
        7,
        "task page indexes: newest first, alone and by state, name, worker, queue",
        _task_page_indexes,
    ),
    Step(8, "hourly rollups: counts by name, queue or worker, and histograms", _hourly_rollups),
    Step(
        9, "received indexes: the Tasks page's time filter, alone and by state", _received_indexes
    ),
    Step(10, "usage rollups: per worker runs, runtime and busy seconds", _usage_rollups),
    Step(11, "lean task indexes: the Tasks page's orders without the uuid", _lean_task_indexes),
    Step(12, "waiting tasks: PENDING tasks by queue and sent time", _waiting_index),
    Step(13, "purge marks: the tasks each purge removed", _purge_marks),
    Step(14, "alerts: states, their changes, the webhook outbox, silences", _alert_tables),
    Step(15, "alert retention indexes: changes by time, outbox by change", add_retention_indexes),
    Step(16, "hourly rollups stored in their key's order (SQLite)", cluster_hourly_rollups),
    Step(17, "the audit log names the cluster of each action", add_audit_cluster),
    Step(
        18,
        "text search index: the task text's trigrams (SQLite FTS5 ids only, PostgreSQL pg_trgm)",
        text_index.create_text_index,
    ),
)
LATEST = STEPS[-1].version


def current_version(conn: Connection) -> int:
    """The store's schema version: 0 for a new store."""
    if not inspect(conn).has_table(schema.SCHEMA_VERSION.name):
        return 0
    found = conn.execute(select(func.max(schema.SCHEMA_VERSION.c.version))).scalar()
    return int(found or 0)


#: Seconds a migration waits for the store's write lock: another process may be applying a
#: step (step 18 indexes every task's text: about 25 s on SQLite, 50 s on PostgreSQL at a
#: million tasks), and giving up after a poll's wait would fail a console's start.
MIGRATION_WAIT = 600.0


def migrate(engine: Engine, steps: tuple[Step, ...] = STEPS) -> int:
    """Bring the store to the last of ``steps``; return how many steps were applied."""
    applied = 0
    for step in steps:
        with writing(engine, timeout=MIGRATION_WAIT) as conn:
            if not inspect(conn).has_table(schema.SCHEMA_VERSION.name):
                schema.SCHEMA_VERSION.create(conn)
            version = current_version(conn)
            _refuse_newer(version, steps[-1].version, engine)
            if version >= step.version:
                continue
            step.apply(conn)
            conn.execute(
                insert(schema.SCHEMA_VERSION).values(
                    version=step.version, description=step.description, applied_at=time.time()
                )
            )
            applied += 1
    return applied


def _refuse_newer(version: int, latest: int, engine: Engine) -> None:
    if version > latest:
        raise StoreError(
            f"The history store ({engine.url.render_as_string(hide_password=True)}) is at "
            f"schema version {version}, newer than this console knows ({latest}): a newer "
            "console wrote it. Upgrade this console, or point OPS_STORE_URL at another store."
        )
