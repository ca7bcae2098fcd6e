"""A fresh store per test: a real SQLite file (``store``), or SQLite then PostgreSQL
(``any_store``) for the evaluators whose reads are SQL the two databases run differently."""

from __future__ import annotations

import pytest

from lib.store import Store


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def any_store(any_store_url):
    opened = Store(any_store_url)
    yield opened
    opened.close()
