"""The store's database connection: one SQLAlchemy engine per URL and process, thread-safe.

An engine is a pool of connections that threads check out one at a time, so one engine serves
the collector and every page of a process. The store's one rule, on every database: write
transactions run one at a time (each sees every earlier one committed, so a check-then-write
such as an audit claim or a rollup's read-then-update is atomic across threads and processes);
a read sees one consistent snapshot and never waits for a writer. This module is where the
dialects differ:

- SQLite: each new connection gets the pragmas a shared file needs: WAL (readers never wait for
  the writer), ``busy_timeout`` (a writer waits for another instead of failing at once) and
  ``synchronous=NORMAL`` (safe with WAL, one fsync per checkpoint rather than per commit). A
  write transaction starts ``BEGIN IMMEDIATE``, so two writers queue at the start instead of one
  failing when it upgrades a read lock; a read starts a plain ``BEGIN`` (a consistent snapshot).
- PostgreSQL (psycopg 3; a ``postgresql://`` or ``postgres://`` URL without a driver gets it): a
  write transaction first takes a transaction-scoped advisory lock of the store's database
  (``WRITE_LOCK``), the counterpart of SQLite's database-wide write lock, waiting at most its
  ``lock_timeout``; a read is ``REPEATABLE READ, READ ONLY`` (one snapshot for all its queries).

Any SQLAlchemy or file error inside ``reading``/``writing`` is raised as ``StoreError``, with
the URL's password never in its text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from lib.errors import StoreError
from lib.redact import redact_url, scrub, url_password

__all__ = ["close_engine", "open_engine", "reading", "resume_ids", "writing"]

#: How long an SQLite writer waits for another's lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 10_000
#: Marks a connection whose next transaction writes (SQLite: ``BEGIN IMMEDIATE``).
WRITE_OPTION = "ops_store_write"
#: A write's own wait for the lock (milliseconds), when its caller must not wait the default.
BUSY_OPTION = "ops_store_busy_ms"
#: PostgreSQL: the advisory lock every write transaction of a store holds until it ends
#: (advisory locks are per database, so two stores on one server do not share it).
WRITE_LOCK = 0x0F5_5707E
#: The same key as the first of two 32-bit keys: a cluster's schema's lock (its name's hash second).
WRITE_LOCK_32 = WRITE_LOCK & 0x7FFF_FFFF
#: URL schemes written without a driver that mean PostgreSQL, and the driver they get.
POSTGRES_SCHEMES = ("postgresql", "postgres")
POSTGRES_DRIVER = "postgresql+psycopg"
#: PostgreSQL: seconds to wait for a server to answer a new connection, unless the URL says
#: (``?connect_timeout=``); without it a host that never answers would hang its caller.
CONNECT_TIMEOUT_S = 10

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def open_engine(url: str) -> Engine:
    """The process's engine for ``url``, created on first use (an SQLite file's folder too)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create(url)
        return engine


def close_engine(url: str) -> None:
    """Close the pooled connections of ``url``'s engine and forget it (shutdown, tests)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def _create(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        parsed, options = _postgres_driver(parsed)
        engine = create_engine(parsed, **options)
    except (ArgumentError, SQLAlchemyError, OSError, ImportError) as exc:
        raise StoreError(_sentence(url, "opened", exc)) from exc
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        schema = _namespace_schema(parsed)
        _tune_postgresql(engine, schema)
        if schema is not None:
            _create_schema(engine, schema)
    return engine


def _namespace_schema(parsed: URL) -> str | None:
    """A cluster's schema, when the URL's ``options`` set the search_path (lib.settings)."""
    options = parsed.query.get("options") or ""
    options = options if isinstance(options, str) else " ".join(options)
    for option in options.split():
        name, _, value = option.removeprefix("-c").partition("=")
        if name.strip() == "search_path" and value.strip():
            return value.strip()
    return None


def _create_schema(engine: Engine, schema: str) -> None:
    """The cluster's schema, made once (the store's migrations then make its tables in it)."""
    quoted = '"' + schema.replace('"', '""') + '"'
    with writing(engine) as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")


def _postgres_driver(parsed: URL) -> tuple[URL, dict]:
    """The URL with psycopg named when no driver is, and the arguments of its connections."""
    if parsed.get_backend_name() not in POSTGRES_SCHEMES:
        return parsed, {}
    if parsed.drivername in POSTGRES_SCHEMES:
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    return parsed, {"connect_args": timeout}


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # The driver's own transaction handling is off: the "begin" hook below says BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        _wait(conn, options.get(BUSY_OPTION, BUSY_TIMEOUT_MS))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")


def _tune_postgresql(engine: Engine, schema: str | None) -> None:
    # One cluster's writers must not queue behind another's (a long prune): a schema of its
    # own has a lock of its own, keyed by the schema's name within the store's key.
    lock = f"{WRITE_LOCK}" if schema is None else f"{WRITE_LOCK_32}, hashtext('{schema}')"

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # The driver has just sent BEGIN: these are the transaction's first statements.
        options = conn.get_execution_options()
        if not options.get(WRITE_OPTION):
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return
        wait = int(options.get(BUSY_OPTION, BUSY_TIMEOUT_MS))
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(wait, 1)}")  # 0 would mean forever
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock})")


def _wait(conn: Connection, busy_ms: int) -> None:
    """Set the pooled connection's lock wait when it differs (most transactions: never)."""
    info = conn.connection.info  # outlives this checkout, like the pragma it remembers
    if info.get(BUSY_OPTION, BUSY_TIMEOUT_MS) != busy_ms:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
        info[BUSY_OPTION] = busy_ms


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot); errors → ``StoreError``."""
    with _translated(engine, "read"), engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def writing(engine: Engine, timeout: float | None = None) -> Iterator[Connection]:
    """One write transaction, committed at the end or rolled back on an error.

    ``timeout``: seconds to wait for another writer's lock on SQLite (default 10).
    """
    wait = BUSY_TIMEOUT_MS if timeout is None else round(timeout * 1000)
    with _translated(engine, "written"), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True, BUSY_OPTION: wait})
        with conn.begin():
            yield conn


def resume_ids(conn: Connection, table: Table) -> None:
    """After rows were inserted into ``table`` with their ids given, make the next generated id
    follow the largest (PostgreSQL's sequence does not see given ids; SQLite's AUTOINCREMENT
    does by itself)."""
    if conn.dialect.name != "postgresql":
        return
    name = table.name
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {name}"
        )
    )


@contextmanager
def _translated(engine: Engine, doing: str) -> Iterator[None]:
    url = engine.url.render_as_string(hide_password=False)
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(_sentence(url, doing, exc)) from exc


def _sentence(url: str, doing: str, exc: BaseException) -> str:
    password = url_password(url)
    detail = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, [password or ""])
    return f"The history store ({redact_url(url)}) could not be {doing}: {detail}."
