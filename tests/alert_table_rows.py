"""Rows of the store's ``alerts`` table, as the alert rules write them, for readers' tests."""

from __future__ import annotations

from sqlalchemy import insert

from lib.store.engine import writing
from lib.store.schema import ALERTS
from lib.store.store import Store

__all__ = ["alert", "seed"]


def alert(rule: str, subject: str, state: str, severity: str, fired_at: float | None, **kw) -> dict:
    """One alert row of the "default" cluster; ``kw`` overrides any column."""
    return {
        "cluster": "default",
        "rule": rule,
        "subject": subject,
        "state": state,
        "severity": severity,
        "summary": f"{rule} on {subject}",
        "link": f"workers?worker={subject}",
        "since": 100.0,
        "fired_at": fired_at,
        "updated_at": 200.0,
        "value": None,
        "acked_by": None,
        **kw,
    }


def seed(store: Store, rows: list[dict]) -> None:
    """Write ``rows`` (all with the same columns) to ``store``'s alerts table."""
    with writing(store.engine) as conn:
        conn.execute(insert(ALERTS), rows)
