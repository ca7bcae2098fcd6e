"""``ClusterMonitor.firing`` (the Overview's strip, the sidebar's count) over a real collector
and store: read once per poll and shared, a new poll reads again, a store that fails is a
reading with its error, not an exception."""

from __future__ import annotations

import time

from sqlalchemy import text

from lib.store.engine import writing
from tests.alert_rows import Episode, seed
from tests.unit.test_monitor import collector, flower, monitor, settings  # noqa: F401 (fixtures)


def test_firing_is_read_once_per_poll_and_again_after_the_next(monitor, collector):  # noqa: F811
    collector.poll()
    seed(collector.store, Episode("worker_offline", "w1@vm", "critical", fired=time.time()))
    first = monitor.firing()
    assert [r["subject"] for r in first.value] == ["w1@vm"] and first.error is None
    builds = monitor.builds
    seed(collector.store, Episode("queue_backlog", "etl", fired=time.time()))
    assert monitor.firing().value == first.value, "the same poll: built once, shared"
    assert monitor.builds == builds
    collector.poll()
    # Written again after the poll: the collector's own alert step may have changed it.
    seed(collector.store, Episode("queue_backlog", "etl", fired=time.time()))
    assert "etl" in {r["subject"] for r in monitor.firing().value}, "a new poll reads again"


def test_a_store_that_fails_gives_a_reading_with_its_error(monitor, collector):  # noqa: F811
    collector.poll()
    with writing(collector.store.engine) as conn:
        conn.execute(text("DROP TABLE alert_deliveries"))
        conn.execute(text("DROP TABLE alert_changes"))
        conn.execute(text("DROP TABLE alerts"))
    reading = monitor.firing()
    assert reading.value is None and "alerts" in str(reading.error)
