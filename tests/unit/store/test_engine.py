"""The store's transactions: a write may ask for its own lock wait; others keep the default."""

from __future__ import annotations

from lib.store.engine import BUSY_TIMEOUT_MS, close_engine, open_engine, reading, writing


def busy_ms(conn) -> int:
    return conn.exec_driver_sql("PRAGMA busy_timeout").scalar()


def test_a_writes_own_lock_wait_does_not_outlive_it(store_url):
    # The audit log asks a short wait of its writes; the pooled connection is then reused by
    # the collector's writes and the pages' reads, which must wait the default again.
    engine = open_engine(store_url)
    try:
        with writing(engine, timeout=0.25) as conn:
            assert busy_ms(conn) == 250
            first = conn.connection.dbapi_connection
        with writing(engine) as conn:
            assert conn.connection.dbapi_connection is first, "the same pooled connection"
            assert busy_ms(conn) == BUSY_TIMEOUT_MS
        with writing(engine, timeout=0.25):
            pass
        with reading(engine) as conn:
            assert busy_ms(conn) == BUSY_TIMEOUT_MS
    finally:
        close_engine(store_url)
