"""The alert states of one cluster in the store: current alerts, their changes, the outbox.

``AlertLedger.advance`` is one poll's move of the state machine (``lib.alerts.states``) in ONE
write transaction: it reads the current alerts and the active silences, advances them with the
poll's evaluation, and writes the alert rows, the change rows and one queued outbox row per
notification (its JSON payload made with the change's id). Reading inside the transaction means
an acknowledgement or a silence the Alerts page wrote a moment ago is seen, never overwritten;
writing in one means a restart (or a failure midway) neither loses nor repeats a notification:
either the change and its outbox row are both there or neither is.

Invariants: rows are keyed by ``cluster``; outbox rows start ``queued`` with ``next_at`` = the
change's time and ``attempts`` 0 (the delivery piece takes them from there); a change row is
pruned only once no outbox row refers to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, fields
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, select, text, update

from lib.alerts.model import Evaluation, Rule
from lib.alerts.states import Advance, Alert, Notification, Silence, advance
from lib.store import alert_views
from lib.store.engine import reading, writing
from lib.store.kept import put_kept
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES, ALERTS

if TYPE_CHECKING:  # retention (which the store imports) prunes through this module
    from lib.store.store import Store

__all__ = [
    "RETENTION_INDEXES",
    "AlertLedger",
    "Render",
    "active_silences",
    "add_retention_indexes",
    "current_alerts",
    "prune_alerts",
]

#: A notification and its leading change's id → the outbox row's JSON payload.
Render = Callable[[Notification, int], str]
#: The ``alerts`` columns an ``Alert`` carries (all but cluster).
ALERT_FIELDS = tuple(f.name for f in fields(Alert))


class AlertLedger:
    """The alerts of ``cluster`` in ``store``; every method is one transaction."""

    def __init__(self, store: Store, cluster: str = "default"):
        self.engine, self.cluster = store.engine, cluster

    def current(self) -> list[Alert]:
        """Every alert row of the cluster (pending, firing, resolved)."""
        with reading(self.engine) as conn:
            return current_alerts(conn, self.cluster)

    def silences(self, now: float) -> list[Silence]:
        """The silences in force at ``now`` (not lifted, not expired)."""
        with reading(self.engine) as conn:
            return active_silences(conn, self.cluster, now)

    def advance(
        self,
        evaluation: Evaluation,
        rules: Iterable[Rule],
        now: float,
        render: Render,
        kept: tuple[str, Mapping] | None = None,
    ) -> Advance:
        """Move the alerts by ``evaluation`` and write it all (and ``kept``: a key and its
        value for the kept state) in one transaction; return what moved."""
        with writing(self.engine) as conn:
            current = current_alerts(conn, self.cluster)
            silences = active_silences(conn, self.cluster, now)
            moved = advance(current, evaluation, rules, silences, now)
            _write(conn, self.cluster, moved, {a.key for a in current}, render)
            if kept is not None:
                put_kept(conn, kept[0], kept[1], now)
        return moved


def current_alerts(conn: Connection, cluster: str) -> list[Alert]:
    columns = [ALERTS.c[name] for name in ALERT_FIELDS]
    rows = conn.execute(select(*columns).where(ALERTS.c.cluster == cluster)).mappings()
    return [Alert(**row) for row in rows]


def active_silences(conn: Connection, cluster: str, now: float) -> list[Silence]:
    """The silences in force at ``now``, as the state machine takes them (the page's read)."""
    rows = alert_views.active_silences(conn, cluster, now)
    return [Silence(row["rule"], row["subject"], row["until"]) for row in rows]


def _write(
    conn: Connection, cluster: str, moved: Advance, existing: set[str], render: Render
) -> None:
    """The poll's rows in a few statements (each many rows: a thousand alerts changing their
    figures is one UPDATE executed many times, not a thousand round trips)."""
    old = [
        {**_without(asdict(a), ("rule", "subject")), "b_rule": a.rule, "b_subject": a.subject}
        for a in moved.rows
        if a.key in existing
    ]
    new = [{**asdict(a), "cluster": cluster} for a in moved.rows if a.key not in existing]
    if old:
        conn.execute(update(ALERTS).where(_by_key(cluster)), old)
    if new:
        conn.execute(insert(ALERTS), new)
    if moved.dropped:
        gone = [{"b_rule": rule, "b_subject": subject} for rule, subject in moved.dropped]
        conn.execute(delete(ALERTS).where(_by_key(cluster)), gone)
    ids = _insert_changes(conn, cluster, moved)
    outbox = [
        {
            "cluster": cluster,
            "change_id": ids[n.head.alert.key],
            "payload": render(n, ids[n.head.alert.key]),
            "status": "queued",
            "attempts": 0,
            "created_at": n.head.at,
            "next_at": n.head.at,
        }
        for n in moved.notifications
    ]
    if outbox:
        conn.execute(insert(ALERT_DELIVERIES), outbox)


def _insert_changes(conn: Connection, cluster: str, moved: Advance) -> dict[str, int]:
    """Insert the change rows in order; each alert's key → its change's id."""
    if not moved.changes:
        return {}
    rows = [
        {"cluster": cluster, "at": c.at, **{name: getattr(c.alert, name) for name in CHANGE_FIELDS}}
        for c in moved.changes
    ]
    query = insert(ALERT_CHANGES).returning(ALERT_CHANGES.c.id, sort_by_parameter_order=True)
    ids = conn.execute(query, rows).scalars().all()
    return {c.alert.key: i for c, i in zip(moved.changes, ids, strict=True)}


def _without(row: dict, keys: tuple[str, ...]) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def _by_key(cluster: str):
    """One alert of ``cluster`` by the parameters ``b_rule`` and ``b_subject``."""
    return and_(
        ALERTS.c.cluster == cluster,
        ALERTS.c.rule == bindparam("b_rule"),
        ALERTS.c.subject == bindparam("b_subject"),
    )


#: What a change row copies from its alert.
CHANGE_FIELDS = (
    "rule",
    "subject",
    "state",
    "severity",
    "summary",
    "value",
    "threshold",
    "link",
    "group_key",
)


#: What retention reads by (migration step 15): old changes by time, the outbox rows that
#: still need a change, resolved alerts by when they resolved.
RETENTION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_alert_changes_at ON alert_changes (at)",
    "CREATE INDEX IF NOT EXISTS ix_alert_deliveries_change ON alert_deliveries (change_id)",
    "CREATE INDEX IF NOT EXISTS ix_alerts_resolved_at ON alerts (resolved_at)",
)


def add_retention_indexes(conn: Connection) -> None:
    for statement in RETENTION_INDEXES:
        conn.execute(text(statement))


def prune_alerts(conn: Connection, keep_from: float) -> int:
    """Delete what retention no longer keeps of the alerts (every cluster), all older than
    ``keep_from``: delivered or given-up outbox rows, the change rows no outbox row needs, and
    resolved alerts; how many rows went. Silences stay (an operator's, and few)."""
    outbox, changes = ALERT_DELIVERIES.c, ALERT_CHANGES.c
    done = conn.execute(
        delete(ALERT_DELIVERIES).where(
            outbox.status.in_(("sent", "gave_up")), outbox.created_at < keep_from
        )
    ).rowcount
    needed = exists().where(outbox.change_id == changes.id)
    done += conn.execute(delete(ALERT_CHANGES).where(changes.at < keep_from, ~needed)).rowcount
    done += conn.execute(
        delete(ALERTS).where(ALERTS.c.resolved_at < keep_from, ALERTS.c.state == "resolved")
    ).rowcount
    return done
