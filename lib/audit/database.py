"""Where the audit log lives: the history store (``OPS_STORE_URL``), in transactions.

The audit tables are the store's (``lib.store.schema.AUDIT``, ``AUDIT_TARGET``), created by its
migrations. The store is opened and migrated on the first use that works: until then, each use
tries again, so a store that was down when the console started is used once it is back, without
a restart. Any store error, opening or inside a ``with`` body, is an ``AuditError`` saying in
words what could not be done; the URL's password is never in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from lib.audit.records import AuditError
from lib.errors import StoreError
from lib.redact import redact_url, scrub, url_password
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import migrate

__all__ = ["AuditStore", "store_url"]


def store_url(store: str | Path) -> str:
    """``store`` as a URL: a store URL as it is, an SQLite file's path as ``sqlite:///path``."""
    if isinstance(store, str) and "://" in store:
        return store
    return f"sqlite:///{Path(store)}"


class AuditStore:
    """The store at ``url``; ``timeout`` is how long a write waits for another writer's lock."""

    def __init__(self, url: str, timeout: float):
        self.url = url
        self.timeout = timeout
        self._engine: Engine | None = None

    @property
    def path(self) -> Path | None:
        """The store's file when it is SQLite (None otherwise)."""
        parsed = make_url(self.url)
        return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None

    def open(self) -> Engine:
        """The store's engine, migrated (the audit tables exist once this returned)."""
        if self._engine is None:  # once it worked; until then, each use tries again
            with self._said("opened"):
                engine = open_engine(self.url)
                migrate(engine)
            self._engine = engine
        return self._engine

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot)."""
        engine = self.open()
        with self._said("read"), reading(engine) as conn:
            yield conn

    @contextmanager
    def writing(self, doing: str = "written") -> Iterator[Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE`` on SQLite): check-then-write
        is atomic across threads, sessions and processes sharing the store."""
        engine = self.open()
        with self._said(doing), writing(engine, self.timeout) as conn:
            yield conn

    @contextmanager
    def _said(self, doing: str) -> Iterator[None]:
        try:
            yield
        except StoreError as exc:
            raise AuditError(self._sentence(doing, exc.__cause__ or exc)) from exc

    def _sentence(self, doing: str, exc: BaseException) -> str:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = scrub(text, [url_password(self.url) or ""])
        where = self.path.name if self.path else redact_url(self.url)
        return f"The audit log (in the store {where}) could not be {doing}: {detail}."
