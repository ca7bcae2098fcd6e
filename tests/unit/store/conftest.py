"""A fresh store in a real SQLite file per test."""

from __future__ import annotations

import pytest

from lib.store import Store


@pytest.fixture
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def store(store_url):
    opened = Store(store_url)
    yield opened
    opened.close()
