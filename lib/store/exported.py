"""What the Prometheus exporter reads from the store each poll (``lib.metrics``): counts only.

Three grouped reads in one transaction: tasks by name and effective state, failures by name and
exception text (with the traceback only where the exception text does not name the type: empty
or a pool's ``ExceptionWithTraceback`` wrapper, as ``lib.failures`` reads them), and the firing
alerts of one cluster by rule and severity.

Invariants: the counts cover every row the store holds (retention decides what that is); the
failure counts sum to the FAILURE rows of the task counts; text comes out as stored (masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, or_, select

from lib.store.schema import ALERTS, TASKS

__all__ = ["ExportedCounts", "exported_counts"]

#: The exception reprs whose traceback names the real failure (``lib.failures.WRAPPERS``).
WRAPPER_PREFIX = "ExceptionWithTraceback"


@dataclass(frozen=True)
class ExportedCounts:
    """Counts read at one moment. Names, states and queues as stored (None: not known)."""

    #: (name, state) → tasks
    tasks: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    #: (name, exception, traceback or None) → failures
    failures: dict[tuple[str | None, str | None, str | None], int] = field(default_factory=dict)
    #: (rule, severity) → firing alerts (subjects)
    firing: dict[tuple[str, str], int] = field(default_factory=dict)


def exported_counts(conn: Connection, cluster: str) -> ExportedCounts:
    """The store's task, failure and firing-alert counts (see the module docstring)."""
    return ExportedCounts(_task_counts(conn), _failure_counts(conn), _firing(conn, cluster))


def _task_counts(conn: Connection) -> dict:
    query = select(TASKS.c.name, TASKS.c.state, func.count()).group_by(TASKS.c.name, TASKS.c.state)
    return {(name, state): int(n) for name, state, n in conn.execute(query)}


def _failure_counts(conn: Connection) -> dict:
    exception = TASKS.c.exception
    wrapped = or_(exception.is_(None), exception == "", exception.startswith(WRAPPER_PREFIX))
    traceback = case((wrapped, TASKS.c.traceback), else_=None).label("tb")
    query = (
        select(TASKS.c.name, exception, traceback, func.count())
        .where(TASKS.c.state == "FAILURE")
        .group_by(TASKS.c.name, exception, traceback)
    )
    return {(name, exc, tb): int(n) for name, exc, tb, n in conn.execute(query)}


def _firing(conn: Connection, cluster: str) -> dict:
    query = (
        select(ALERTS.c.rule, ALERTS.c.severity, func.count())
        .where(ALERTS.c.cluster == cluster, ALERTS.c.state == "firing")
        .group_by(ALERTS.c.rule, ALERTS.c.severity)
    )
    return {(rule, severity): int(n) for rule, severity, n in conn.execute(query)}
