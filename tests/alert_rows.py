"""Alerts written into a real store as the collector's state machine writes them: the current
row in ``alerts`` and a row in ``alert_changes`` per change (tests of the Alerts page's reads,
the page and the Overview's strip seed them with these)."""

from __future__ import annotations

from lib.store import Store
from lib.store.engine import writing
from lib.store.schema import ALERT_CHANGES, ALERTS

__all__ = ["Episode", "seed"]

LINKS = {
    "worker_offline": "workers?worker={}",
    "queue_backlog": "queues?queue={}",
    "failure_rate": "tasks?name={}&state=FAILURE",
}


class Episode:
    """One alert's life: pending at ``pending``, firing at ``fired`` (None: never), resolved at
    ``resolved`` (None: still firing); its current row is its last state."""

    def __init__(self, rule, subject, severity="warning", pending=None, fired=None,
                 resolved=None, summary="", value=None, threshold=None, acked=None,
                 cluster="default"):  # fmt: skip
        self.rule, self.subject, self.severity = rule, subject, severity
        self.fired, self.resolved = fired, resolved
        self.pending = pending if pending is not None else fired
        self.summary = summary or f"{rule} on {subject}"
        self.value, self.threshold, self.acked, self.cluster = value, threshold, acked, cluster

    @property
    def link(self) -> str:
        return LINKS.get(self.rule, "setup-check").format(self.subject)

    def state(self) -> str:
        if self.fired is None:
            return "pending"
        return "firing" if self.resolved is None else "resolved"

    def fields(self) -> dict:
        return {
            "cluster": self.cluster,
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity,
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "link": self.link,
        }

    def current(self) -> dict:
        last = max(t for t in (self.pending, self.fired, self.resolved) if t is not None)
        acked_by, acked_at = self.acked or (None, None)
        return self.fields() | {
            "state": self.state(),
            "since": self.pending,
            "pending_since": self.pending,
            "fired_at": self.fired,
            "resolved_at": self.resolved,
            "acked_by": acked_by,
            "acked_at": acked_at,
            "updated_at": last,
        }

    def changes(self) -> list[dict]:
        moments = (("pending", self.pending), ("firing", self.fired), ("resolved", self.resolved))
        return [self.fields() | {"state": s, "at": t} for s, t in moments if t is not None]


def seed(store: Store, *episodes: Episode, current: bool = True) -> None:
    """Write ``episodes``' changes in time order and (``current``) their current rows."""
    changes = sorted((c for e in episodes for c in e.changes()), key=lambda c: c["at"])
    with writing(store.engine) as conn:
        if changes:
            conn.execute(ALERT_CHANGES.insert(), changes)
        if current:
            for episode in episodes:
                key = ALERTS.c
                conn.execute(
                    ALERTS.delete().where(
                        key.cluster == episode.cluster,
                        key.rule == episode.rule,
                        key.subject == episode.subject,
                    )
                )
                conn.execute(ALERTS.insert().values(**episode.current()))
