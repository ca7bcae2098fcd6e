"""Shared by the collector's tests: a real SQLite store and a fake Flower served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lib.store import Store
from tests.scripted_server import ScriptedServer


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


@contextmanager
def served(fake) -> Iterator:
    """``fake`` (a Flower script) over real HTTP; it gets the server's ``url`` and ``requests``."""
    with ScriptedServer(fake) as server:
        fake.url, fake.requests = server.url, server.requests
        yield fake
