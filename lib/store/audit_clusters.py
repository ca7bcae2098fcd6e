"""The audit log's ``cluster`` column (step 17): one log for every cluster, each row naming it.

Why: the audit log is one table at the store's base (``OPS_STORE_URL``) for all the clusters of
a console (``OPS_CLUSTERS_FILE``); each row says which cluster the action was on.

Invariants: every row is kept; rows written before the column existed read as cluster
``default`` (the one cluster a console without a clusters file watches, whose name a legacy
row also gets); the column is NOT NULL with that server default; the ``(cluster, at)`` index
answers the Audit log page's default scope, one cluster's newest rows. A store whose ``audit``
table already has the column (a new store: step 3 creates the table as it is now) only gains
the index it lacks.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

__all__ = ["AUDIT_CLUSTER_INDEX", "add_audit_cluster"]

#: One cluster's rows in time order (the Audit log page's default scope).
AUDIT_CLUSTER_INDEX = "CREATE INDEX IF NOT EXISTS ix_audit_cluster_at ON audit (cluster, at)"


def add_audit_cluster(conn: Connection) -> None:
    """Add ``audit.cluster`` (``default`` for the rows held) and its index, when missing."""
    held = {column["name"] for column in inspect(conn).get_columns("audit")}
    if "cluster" not in held:
        conn.execute(text("ALTER TABLE audit ADD COLUMN cluster TEXT NOT NULL DEFAULT 'default'"))
    conn.execute(text(AUDIT_CLUSTER_INDEX))
