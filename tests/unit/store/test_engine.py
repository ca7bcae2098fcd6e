"""The store's transactions: a write may ask for its own lock wait; others keep the default."""

from __future__ import annotations

from lib.store.engine import BUSY_TIMEOUT_MS, close_engine, open_engine, reading, writing


def lock_wait_ms(conn) -> int:
    """How long this connection's transaction would wait for a lock (milliseconds; 0: forever
    on PostgreSQL, where a read takes no lock a writer holds)."""
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    query = "SELECT setting FROM pg_settings WHERE name = 'lock_timeout'"
    return int(conn.exec_driver_sql(query).scalar())


def test_a_writes_own_lock_wait_does_not_outlive_it(store_url):
    # The audit log asks a short wait of its writes; the pooled connection is then reused by
    # the collector's writes and the pages' reads, which must wait the default again.
    engine = open_engine(store_url)
    read_wait = BUSY_TIMEOUT_MS if engine.dialect.name == "sqlite" else 0
    try:
        with writing(engine, timeout=0.25) as conn:
            assert lock_wait_ms(conn) == 250
            first = conn.connection.dbapi_connection
        with writing(engine) as conn:
            assert conn.connection.dbapi_connection is first, "the same pooled connection"
            assert lock_wait_ms(conn) == BUSY_TIMEOUT_MS
        with writing(engine, timeout=0.25):
            pass
        with reading(engine) as conn:
            assert lock_wait_ms(conn) == read_wait
    finally:
        close_engine(store_url)
