"""The Alerts page's reads and writes on the store's alert tables (one cluster at a time).

Reads: the current alerts (pending and firing, and those resolved since a moment), the firing
ones alone (the Overview's strip and the sidebar's count: one query by
``ix_alerts_cluster_state``), the state changes of a range with the firing episodes open at its
start (the history's durations), the silences in force. Writes, each made by an audited action
(lib/actions/alerting.py): a silence, lifting one, acknowledging a firing alert.

Rows are plain dicts of the tables' columns (times in UTC epoch seconds); ``lib.frames.alerts``
lays them out. Invariants: a silence names a rule and a subject or ``*`` (every subject of the
rule) and ends in the future when made; a lifted silence keeps its row (``lifted_at``); only a
firing alert is acknowledged, once: acknowledging it again leaves the first one standing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, insert, or_, select, update

from lib.store.schema import ALERT_CHANGES, ALERT_SILENCES, ALERTS

__all__ = [
    "ANY_SUBJECT",
    "FIRING_COLUMNS",
    "Acknowledged",
    "acknowledge",
    "active_silences",
    "add_silence",
    "changes_since",
    "current_alerts",
    "firing_alerts",
    "lift_silence",
    "open_at",
]

#: A silence's subject that covers every subject of its rule.
ANY_SUBJECT = "*"


@dataclass(frozen=True)
class Acknowledged:
    """Who acknowledged a firing alert and when (epoch s); ``now``: by this call."""

    by: str
    at: float
    now: bool


def _rows(conn: Connection, query) -> list[dict]:
    return [dict(row) for row in conn.execute(query).mappings()]


def current_alerts(conn: Connection, cluster: str, resolved_since: float) -> list[dict]:
    """The cluster's pending and firing alerts, and those resolved at or after
    ``resolved_since``."""
    a = ALERTS.c
    recent = and_(a.state == "resolved", a.resolved_at >= resolved_since)
    query = select(ALERTS).where(a.cluster == cluster, or_(a.state != "resolved", recent))
    return _rows(conn, query)


#: The columns of ``firing_alerts``, in order (times are epoch seconds, UTC).
FIRING_COLUMNS = (
    "rule",
    "subject",
    "severity",
    "summary",
    "value",
    "threshold",
    "link",
    "group_key",
    "since",
    "fired_at",
    "acked_by",
    "acked_at",
)
_RANK = case({"critical": 0, "warning": 1, "info": 2}, value=ALERTS.c.severity, else_=3)


def firing_alerts(conn: Connection, cluster: str) -> list[dict]:
    """The cluster's firing alerts (``FIRING_COLUMNS``), most severe first, then the oldest:
    one indexed query (``ix_alerts_cluster_state``)."""
    a = ALERTS.c
    query = (
        select(*(a[name] for name in FIRING_COLUMNS))
        .where(a.cluster == cluster, a.state == "firing")
        .order_by(_RANK, a.fired_at, a.rule, a.subject)
    )
    return _rows(conn, query)


def changes_since(conn: Connection, cluster: str, since: float) -> list[dict]:
    """Every state change of the cluster's alerts at or after ``since``, oldest first."""
    c = ALERT_CHANGES.c
    query = select(ALERT_CHANGES).where(c.cluster == cluster, c.at >= since).order_by(c.id)
    return _rows(conn, query)


def open_at(conn: Connection, cluster: str, moment: float) -> list[dict]:
    """The change that fired each alert still firing at ``moment`` (its last change to firing
    or resolved before it was to firing): the episodes a range starting then begins inside."""
    c = ALERT_CHANGES.c
    last = (
        select(func.max(c.id))
        .where(c.cluster == cluster, c.at < moment, c.state.in_(("firing", "resolved")))
        .group_by(c.rule, c.subject)
    )
    query = select(ALERT_CHANGES).where(c.id.in_(last), c.state == "firing").order_by(c.id)
    return _rows(conn, query)


def active_silences(conn: Connection, cluster: str, now: float) -> list[dict]:
    """The silences in force at ``now`` (not lifted, not over), the longest-lasting first."""
    s = ALERT_SILENCES.c
    query = (
        select(ALERT_SILENCES)
        .where(s.cluster == cluster, s.until > now, s.lifted_at.is_(None))
        .order_by(s.until.desc(), s.id)
    )
    return _rows(conn, query)


def add_silence(
    conn: Connection,
    cluster: str,
    rule: str,
    subject: str,
    until: float,
    by: str,
    reason: str,
    now: float,
) -> int:
    """Silence ``rule`` for ``subject`` (or ``ANY_SUBJECT``) until ``until``; the new row's id."""
    row = {
        "cluster": cluster,
        "rule": rule,
        "subject": subject,
        "until": until,
        "by": by,
        "reason": reason,
        "created_at": now,
    }
    return int(conn.execute(insert(ALERT_SILENCES).values(**row)).inserted_primary_key[0])


def lift_silence(
    conn: Connection, cluster: str, silence_id: int, rule: str, subject: str, now: float
) -> dict | None:
    """End the silence ``silence_id`` of ``rule``/``subject`` now; the silence as it stood
    (None: no such silence in force)."""
    s = ALERT_SILENCES.c
    named = and_(s.cluster == cluster, s.id == silence_id, s.rule == rule, s.subject == subject)
    found = _rows(conn, select(ALERT_SILENCES).where(named, s.lifted_at.is_(None), s.until > now))
    if not found:
        return None
    conn.execute(update(ALERT_SILENCES).where(s.id == silence_id).values(lifted_at=now))
    return found[0]


def acknowledge(
    conn: Connection, cluster: str, rule: str, subject: str, by: str, now: float
) -> Acknowledged | None:
    """Mark the firing alert as being handled by ``by``; the acknowledgement that stands
    (an earlier one stays); None when the alert is not firing."""
    a = ALERTS.c
    key = and_(a.cluster == cluster, a.rule == rule, a.subject == subject, a.state == "firing")
    conn.execute(update(ALERTS).where(key, a.acked_by.is_(None)).values(acked_by=by, acked_at=now))
    row = conn.execute(select(a.acked_by, a.acked_at).where(key)).first()
    if row is None:
        return None
    return Acknowledged(
        row.acked_by, float(row.acked_at), row.acked_by == by and row.acked_at == now
    )
