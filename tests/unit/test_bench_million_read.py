"""bench.million_read's "warm" figures are real rebuilds, not the monitor's cached result.

The monitor builds what the task rows give once per version (``_build_version``: task rows
written, minute of data); a warm reading must come after a poll that changed that version.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.million_read import WEEK, Stopped, _timed
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from lib.store import Store
from tests.history_tasks import spread_tasks

NOW = 1_780_000_123.4


def test_each_warm_reading_is_built_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(url)
    try:
        store.upsert_tasks(spread_tasks(NOW, days=2), now=NOW)
        readout = Stopped(NOW)
        settings = Settings(flower_url="http://127.0.0.1:9", data_dir=tmp_path, store_url=url)
        monitor = ClusterMonitor(settings, store, readout, clock=lambda: NOW)
        end = datetime.fromtimestamp(NOW, UTC)
        cold = monitor.analytics(end - timedelta(days=7), end, WEEK).value
        built = monitor.builds
        _, _, warm = _timed(readout, lambda: monitor.analytics(end - timedelta(days=7), end, WEEK))
        assert monitor.builds == built + 1  # the warm reading was built again
        assert warm.value is not cold and warm.value.totals == cold.totals
    finally:
        store.close()
