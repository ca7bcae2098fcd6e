"""One queue's traffic as the store saw it: what its panel's oldest-waiting age and drain
estimate read (``lib.queue_outlook`` turns these into sentences).

Invariants:

- ``QueueFlow`` counts the tasks of one queue (``tasks.queue``, the routing key) whose
  ``received`` (consumed: a worker took it off the queue) or ``sent`` (arrived: the producer's
  ``task-sent`` event, only with ``task_send_sent_event``) falls in ``[since, until)``. Both
  are read by ``ix_tasks_last_at``: a task's last event is never before its received or sent
  time, so ``last_at >= since`` bounds the read to the window's tasks, however many the queue
  ever had. The queue is compared as an expression (``queue || ''``), which no index serves:
  SQLite, without statistics, would otherwise walk the queue's index over all its tasks
  (100 ms on a 100k store, against a few ms).
- ``oldest_waiting_sent`` is the earliest ``sent`` of a PENDING task of the queue after
  ``after`` (the queue's last purge: every PENDING task sent before it was removed with it,
  marked or not), read from the partial index on PENDING tasks' (queue, sent) (migration step
  "waiting tasks"). The state is a literal in the SQL so that both databases can match the
  index's predicate at planning time.
- ``depth_near`` is the broker's depth in the latest sample of the queue in ``[at − slack, at]``
  (``ix_queue_samples_at``); None when the collector sampled nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Select, and_, case, func, literal_column, select

from lib.store.schema import QUEUE_SAMPLES, TASKS

__all__ = [
    "WAITING_STATE",
    "QueueFlow",
    "depth_near",
    "flow_query",
    "oldest_waiting_sent",
    "queue_flow",
]

#: What a task waiting in its queue is in the store: sent, not yet received by a worker.
WAITING_STATE = "PENDING"


@dataclass(frozen=True)
class QueueFlow:
    """One queue's tasks in a window: consumed (received), arrived (sent), and how many of the
    window's tasks carried a sent time at all (0: no sent events seen)."""

    consumed: int
    arrived: int
    with_sent: int


def queue_flow(conn: Connection, queue: str, since: float, until: float) -> QueueFlow:
    """The tasks of ``queue`` received, and sent, in ``[since, until)``."""
    consumed, arrived, with_sent = conn.execute(flow_query(queue, since, until)).one()
    return QueueFlow(int(consumed), int(arrived), int(with_sent))


def flow_query(queue: str, since: float, until: float) -> Select:
    """``queue_flow``'s read: consumed, arrived and with-sent counts, by the last_at range."""
    t = TASKS.c

    def counted(condition) -> ColumnElement:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        counted(and_(t.received >= since, t.received < until)),
        counted(and_(t.sent >= since, t.sent < until)),
        counted(t.sent.is_not(None)),
    ).where(t.last_at >= since, (t.queue + "") == queue)


def oldest_waiting_sent(conn: Connection, queue: str, after: float | None = None) -> float | None:
    """The earliest sent time (epoch s) of a PENDING task of ``queue`` sent after ``after``."""
    t = TASKS.c
    pending = t.state == literal_column(f"'{WAITING_STATE}'")
    where = [pending, t.queue == queue, t.sent.is_not(None)]
    if after is not None:
        where.append(t.sent > after)
    return conn.execute(select(func.min(t.sent)).where(*where)).scalar()


def depth_near(conn: Connection, queue: str, at: float, slack: float) -> int | None:
    """The queue's depth in its latest sample in ``[at − slack, at]``, or None."""
    s = QUEUE_SAMPLES.c
    query = (
        select(s.messages)
        .where(s.at >= at - slack, s.at <= at, s.queue == queue, s.messages.is_not(None))
        .order_by(s.at.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()
