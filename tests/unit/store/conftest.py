"""A fresh store per test, on a real SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import pytest

from lib.store import Store


@pytest.fixture
def store_url(any_store_url) -> str:
    return any_store_url


@pytest.fixture
def store(store_url):
    opened = Store(store_url)
    yield opened
    opened.close()
