"""A fresh store per test, on a real SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import pytest

from lib.store import Store
from tests.history_tasks import HISTORY_NOW, spread_tasks


@pytest.fixture
def store_url(any_store_url) -> str:
    return any_store_url


@pytest.fixture
def store(store_url):
    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def filled(any_store_url) -> Store:
    """A store holding eight days of tasks before ``HISTORY_NOW`` (``spread_tasks``)."""
    store = Store(any_store_url)
    store.upsert_tasks(spread_tasks(HISTORY_NOW, days=8), now=HISTORY_NOW)
    yield store
    store.close()
