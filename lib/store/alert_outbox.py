"""The webhook outbox's queries (``alert_deliveries``): which notifications are due, claiming
one, recording how its attempt went, and the counts the Alerts page shows.

A row is ``queued`` until it is ``sent`` or the deliverer ``gave_up`` on it; ``next_at`` is when
it may be tried next. Claiming pushes ``next_at`` to the end of a lease with a compare-and-set
UPDATE (``status = 'queued' AND next_at = <the value read>``): of two processes that read the
same due row, exactly one claims it; the lease end is that claim's token, so only the claimant
records the outcome, and a claimant that died leaves the row due again when its lease ends.

Invariants: a row is never due while an older queued row of the same alert (its change's
cluster, rule and subject) waits, so a ``resolved`` never overtakes its ``firing``; oldest first
(by id, the order the changes were queued); ``attempts`` counts finished attempts; a row's
``last_error`` is plain words with no URL in it (the deliverer builds it); nothing here sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, exists, func, select, update

from lib.store.engine import reading, writing
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES

__all__ = ["OutboxRow", "OutboxState", "claim", "due_rows", "outbox_state", "record_attempt"]

D, C = ALERT_DELIVERIES, ALERT_CHANGES


@dataclass(frozen=True)
class OutboxRow:
    """One queued notification as read: its payload text and where its retries stand."""

    id: int
    change_id: int
    payload: str
    attempts: int
    created_at: float
    next_at: float


@dataclass(frozen=True)
class OutboxState:
    """The outbox of one cluster at a glance (epoch seconds; None when there is none)."""

    queued: int = 0
    sent: int = 0
    gave_up: int = 0
    last_sent_at: float | None = None
    last_error: str | None = None
    next_at: float | None = None


def due_rows(engine: Engine, cluster: str, now: float, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` queued rows of ``cluster`` due at ``now``, oldest first, leaving out any
    row an older queued row of the same alert still waits before."""
    earlier, earlier_change, change = D.alias("earlier"), C.alias("earlier_change"), C.alias()
    waits_behind = exists(
        select(earlier.c.id)
        .select_from(earlier.join(earlier_change, earlier_change.c.id == earlier.c.change_id))
        .where(
            earlier.c.cluster == D.c.cluster,
            earlier.c.status == "queued",
            earlier.c.id < D.c.id,
            earlier_change.c.rule == change.c.rule,
            earlier_change.c.subject == change.c.subject,
        )
    )
    query = (
        select(D.c.id, D.c.change_id, D.c.payload, D.c.attempts, D.c.created_at, D.c.next_at)
        # An outer join: a row whose change is missing is still delivered (in id order only).
        .select_from(D.outerjoin(change, change.c.id == D.c.change_id))
        .where(D.c.cluster == cluster, D.c.status == "queued", D.c.next_at <= now, ~waits_behind)
        .order_by(D.c.id)
        .limit(limit)
    )
    with reading(engine) as conn:
        return [OutboxRow(*row) for row in conn.execute(query)]


def claim(engine: Engine, row: OutboxRow, lease_until: float) -> bool:
    """Take ``row`` until ``lease_until`` unless someone else changed it since it was read;
    True when this caller holds it (and must record its attempt with the same lease)."""
    still_as_read = and_(D.c.id == row.id, D.c.status == "queued", D.c.next_at == row.next_at)
    with writing(engine) as conn:
        done = conn.execute(update(D).where(still_as_read).values(next_at=lease_until))
        return done.rowcount == 1


def record_attempt(
    engine: Engine,
    row_id: int,
    lease_until: float,
    status: str,
    at: float,
    error: str | None = None,
    next_at: float | None = None,
) -> bool:
    """Record one finished attempt of a row claimed until ``lease_until``: ``sent`` (at ``at``),
    or ``queued`` again from ``next_at`` / ``gave_up``, with ``error``. False when the claim was
    lost (its lease ran out and another process took the row): nothing is written then."""
    values: dict = {"status": status, "attempts": D.c.attempts + 1, "last_error": error}
    if status == "sent":
        values.update(sent_at=at, last_error=None)
    values["next_at"] = next_at if next_at is not None else at
    held = and_(D.c.id == row_id, D.c.status == "queued", D.c.next_at == lease_until)
    with writing(engine) as conn:
        return conn.execute(update(D).where(held).values(**values)).rowcount == 1


def outbox_state(engine: Engine, cluster: str) -> OutboxState:
    """Counts by status, the last success, the newest unsent row's error, the next attempt."""
    mine = D.c.cluster == cluster
    counts = select(D.c.status, func.count()).where(mine).group_by(D.c.status)
    last_sent = select(func.max(D.c.sent_at)).where(mine)
    next_at = select(func.min(D.c.next_at)).where(mine, D.c.status == "queued")
    last_error = (
        select(D.c.last_error)
        .where(mine, D.c.status != "sent", D.c.last_error.is_not(None))
        .order_by(D.c.id.desc())
        .limit(1)
    )
    with reading(engine) as conn:
        by_status = dict(conn.execute(counts).all())
        return OutboxState(
            queued=by_status.get("queued", 0),
            sent=by_status.get("sent", 0),
            gave_up=by_status.get("gave_up", 0),
            last_sent_at=conn.execute(last_sent).scalar(),
            last_error=conn.execute(last_error).scalar(),
            next_at=conn.execute(next_at).scalar(),
        )
