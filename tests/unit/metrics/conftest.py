"""A real SQLite store that knows the metrics tests' secret."""

from __future__ import annotations

import pytest

from lib.store import Store
from tests.unit.metrics.scrapes import SECRET


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}", secrets=[SECRET])
    yield opened
    opened.close()
