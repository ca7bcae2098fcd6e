"""The alerts firing now in a store's ``alerts`` table (one row per cluster, rule, subject).

Read-only and cheap: one indexed query (``ix_alerts_cluster_state``) for one cluster's rows in
state ``firing``, most severe first, then the oldest. The rules that fill the table live in
``lib.alerts``; this only reads what they wrote, so a store where nothing fired yet answers
an empty frame with the same columns.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import case, select

from lib.store.engine import reading
from lib.store.schema import ALERTS
from lib.store.store import Store

__all__ = ["FIRING_COLUMNS", "firing_alerts"]

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


def firing_alerts(store: Store, cluster: str = "default") -> pd.DataFrame:
    """``cluster``'s firing alerts (``FIRING_COLUMNS``), critical first, then the oldest."""
    query = (
        select(*(ALERTS.c[name] for name in FIRING_COLUMNS))
        .where(ALERTS.c.cluster == cluster, ALERTS.c.state == "firing")
        .order_by(_RANK, ALERTS.c.fired_at, ALERTS.c.rule, ALERTS.c.subject)
    )
    with reading(store.engine) as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(FIRING_COLUMNS))
