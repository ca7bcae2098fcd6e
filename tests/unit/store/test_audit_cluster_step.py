"""Step 17 on a store made before it (SQLite and PostgreSQL): the audit rows are kept and read
as cluster ``default``; the column is NOT NULL with that default; one cluster's rows are read
from the (cluster, at) index."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from lib.audit import AuditLog
from lib.errors import StoreError
from lib.settings import namespaced_store_url
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import STEPS, current_version, migrate

OLD_ROW = (
    'INSERT INTO audit (op_id, at, "user", role, action, targets, params, outcome, message) '
    "VALUES (:op, :at, 'ann', 'operator', 'revoke', '[\"t\"]', '{}', 'sent', 'ok')"
)


@pytest.fixture
def old_store(store_url):
    return made_before_step_17(store_url)


def made_before_step_17(store_url: str):
    """A store at step 16 holding two audit rows, as a console before step 17 wrote them."""
    engine = open_engine(store_url)
    migrate(engine, STEPS[:16])
    with writing(engine) as conn:  # the table as step 3 made it before the column existed
        conn.execute(text("DROP INDEX ix_audit_cluster_at"))
        conn.execute(text("ALTER TABLE audit DROP COLUMN cluster"))
        assert "cluster" not in {c["name"] for c in inspect(conn).get_columns("audit")}
        for op, at in (("op-1", 100.0), ("op-2", 200.0)):
            conn.execute(text(OLD_ROW), {"op": op, "at": at})
    return store_url, engine


def test_step_17_keeps_every_row_and_names_it_default(old_store):
    url, engine = old_store
    assert STEPS[16].version == 17 and migrate(engine, STEPS[:17]) == 1
    with reading(engine) as conn:
        assert current_version(conn) == 17
        held = conn.execute(text("SELECT op_id, cluster FROM audit ORDER BY id")).all()
        column = next(c for c in inspect(conn).get_columns("audit") if c["name"] == "cluster")
        indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("audit")}
    assert [tuple(r) for r in held] == [("op-1", "default"), ("op-2", "default")]
    assert column["nullable"] is False
    assert indexes["ix_audit_cluster_at"] == ["cluster", "at"]
    log = AuditLog(url)
    assert [(r.op_id, r.cluster) for r in log.rows()] == [("op-2", "default"), ("op-1", "default")]
    log.claim("op-3", "sam", "viewer", "revoke", ["t"], cluster="staging")
    assert [r.op_id for r in log.rows(clusters=["staging"])] == ["op-3"]
    assert log.count(clusters=["default"]) == 2


def test_a_row_written_without_a_cluster_reads_default_and_null_is_refused(old_store):
    url, engine = old_store
    migrate(engine)
    with writing(engine) as conn:  # a writer that names no cluster (the server default)
        conn.execute(text(OLD_ROW), {"op": "op-bare", "at": 300.0})
    assert AuditLog(url).rows(clusters=["default"])[0].op_id == "op-bare"
    with pytest.raises(StoreError, match=r"(?i)null"), writing(engine) as conn:
        conn.execute(text("UPDATE audit SET cluster = NULL WHERE op_id = 'op-1'"))


def test_a_new_store_has_the_column_and_its_index_once(store_url):
    engine = open_engine(store_url)
    migrate(engine)
    assert migrate(engine) == 0
    with reading(engine) as conn:
        names = [i["name"] for i in inspect(conn).get_indexes("audit")]
    assert names.count("ix_audit_cluster_at") == 1


def test_one_clusters_rows_are_counted_from_the_index(tmp_path):
    from sqlalchemy.dialects import sqlite

    from lib.audit.reading import count_query

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    AuditLog(url)  # the schema
    query = count_query(100.0, (), (), ["staging"]).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    with reading(open_engine(url)) as conn:
        plan = " ".join(
            str(step[-1]) for step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
        )
    assert "ix_audit_cluster_at" in plan, plan


def test_step_17_runs_in_a_clusters_own_postgresql_schema(postgres_url):
    """Each cluster's namespace is migrated too (its audit table unused): the column goes into
    that schema's table, found through the connection's search_path."""
    url = namespaced_store_url(postgres_url, "staging")
    _, engine = made_before_step_17(url)
    assert migrate(engine, STEPS[:17]) == 1
    with reading(engine) as conn:
        where = conn.execute(text("SELECT current_schema()")).scalar()
        held = conn.execute(text("SELECT op_id, cluster FROM audit ORDER BY id")).all()
    assert where == "cluster_staging"
    assert [tuple(r) for r in held] == [("op-1", "default"), ("op-2", "default")]
