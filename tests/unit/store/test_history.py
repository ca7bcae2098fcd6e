"""Analytics over a range from the store: exact counts after raw successes are pruned.

Eight days of tasks go into a real SQLite store; the expected figures are computed by the pure
trend functions from the raw rows before pruning; then retention deletes the raw successes older
than two days, and the monitor's analytics for "Last 7 days" (rollups before the success horizon,
raw rows after) must give the same counts per bucket, state, name, queue and worker, and
percentiles within the histograms' documented bound of numpy's. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lib import failures, frames, trends
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from lib.store import Store
from lib.store.histogram import RELATIVE_ERROR
from lib.trends import history
from tests.history_tasks import HISTORY_NOW

NOW = HISTORY_NOW  # not on a whole minute: the range's start is not either
DAY = 86400.0


@dataclass
class Fixed:
    """A collector as the monitor reads it, stopped at one poll."""

    version: int = 1
    health: CollectorHealth = field(default_factory=lambda: CollectorHealth(data_until=NOW))

    @property
    def snapshot(self) -> CollectorSnapshot:
        return CollectorSnapshot(version=self.version)

    def wait_polled(self, version: int, timeout: float) -> bool:
        return True

    def wake(self) -> None:
        pass


def monitor_over(store: Store, tmp_path, readout: Fixed | None = None) -> ClusterMonitor:
    settings = Settings(flower_url="http://127.0.0.1:9", data_dir=tmp_path)
    return ClusterMonitor(settings, store, readout or Fixed(), clock=lambda: NOW)


def expected(store: Store, p: history.Plan) -> dict:
    """The figures the raw rows give, by the pure trend functions (before any pruning)."""
    window = trends.window_frame(store.tasks_window(p.start, p.end), p.start, p.end)
    size = trends.bucket_size(p.start, p.end)
    return {
        "window": window,
        "totals": trends.window_summary(window),
        "state_trend": trends.state_trend_frame(window, p.start, p.end, size),
        "trend": trends.trend_frame(window, p.start, p.end, size),
        "by_name": trends.trend_frame(window, p.start, p.end, size, by="name"),
        "by_queue": trends.trend_frame(window, p.start, p.end, size, by="queue"),
        "names": trends.runtime_percentiles_frame(window),
    }


def week(monitor: ClusterMonitor) -> history.RangeAnalytics:
    end = datetime.fromtimestamp(NOW, UTC)
    return monitor.analytics(end - timedelta(days=7), end, "Last 7 days").value


COUNTS = ["tasks", "succeeded", "failed", "finished"]


def test_counts_stay_exact_after_raw_successes_are_pruned(filled, tmp_path):
    got_before = week(monitor_over(filled, tmp_path))
    p = got_before.plan
    assert p.rolled and p.start.second == 0 and p.start <= p.asked
    # A week reads rollups up to its end's whole minute: the raw tail is under a minute.
    assert p.split == datetime.fromtimestamp(NOW // 60 * 60, UTC)
    want = expected(filled, p)
    report = filled.prune(NOW, retention_days=14, success_days=2)
    assert report.deleted["tasks"] > 1000  # most successes are gone from the raw rows
    got = week(monitor_over(filled, tmp_path))
    assert got.totals == want["totals"] == got_before.totals
    pd.testing.assert_frame_equal(got.state_trend, want["state_trend"])
    for frame in ("trend", "by_name", "by_queue"):
        pd.testing.assert_frame_equal(got.__dict__[frame], want[frame])
    names = ["name", *COUNTS[:3], "failure_rate"]
    pd.testing.assert_frame_equal(got.names[names], want["names"][names])


def test_worker_processed_stays_exact_after_pruning(filled, tmp_path):
    p = week(monitor_over(filled, tmp_path)).plan
    window = expected(filled, p)["window"]
    finished = window[window["state"].isin(["SUCCESS", "FAILURE"])]
    want = finished.groupby("worker")["state"].agg(
        processed="size", failed=lambda s: int((s == "FAILURE").sum())
    )
    filled.prune(NOW, retention_days=14, success_days=2)
    usage = week(monitor_over(filled, tmp_path)).usage.set_index("worker")
    assert usage["processed"].to_dict() == want["processed"].to_dict()
    assert usage["failed"].to_dict() == want["failed"].to_dict()


def within_bound(estimate: pd.Series, exact: pd.Series) -> bool:
    ratio = estimate.to_numpy(dtype=float) / exact.to_numpy(dtype=float)
    return bool(np.all(np.abs(ratio - 1) <= RELATIVE_ERROR + 1e-9))


def test_percentiles_from_histograms_are_within_the_bound_of_numpy(filled, tmp_path):
    p = week(monitor_over(filled, tmp_path)).plan
    window = expected(filled, p)["window"]
    filled.prune(NOW, retention_days=14, success_days=2)
    got = week(monitor_over(filled, tmp_path))
    assert got.estimated
    runs = window[trends.window.run_mask(window)]
    exact = runs.groupby(runs["name"].astype(str))["duration"]
    names = got.names.set_index("name")
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        want = exact.quantile(q)
        assert within_bound(names.loc[want.index, label], want), label
    assert within_bound(names.loc[exact.size().index, "mean"], exact.mean())
    assert names.loc[exact.size().index, "runs"].to_dict() == exact.size().to_dict()
    overall = np.quantile(runs["duration"].astype(float), 0.95)
    assert abs(got.runtime["p95"] / overall - 1) <= RELATIVE_ERROR + 1e-9


def test_a_range_held_raw_is_exact_and_not_estimated(filled, tmp_path):
    end = datetime.fromtimestamp(NOW, UTC)
    got = monitor_over(filled, tmp_path).analytics(end - timedelta(hours=24), end).value
    assert not got.estimated and got.plan.start == end - timedelta(hours=24)
    want = expected(filled, got.plan)
    pd.testing.assert_frame_equal(got.names, want["names"])
    assert got.totals == want["totals"]


def test_one_build_per_change_of_the_tasks_and_preset_whatever_each_rerun_calls_now(
    filled, tmp_path
):
    readout = Fixed()
    monitor = monitor_over(filled, tmp_path, readout)
    builds = monitor.builds
    ends = [datetime.fromtimestamp(NOW + s, UTC) for s in (1, 7, 30)]  # three reruns' "now"
    results = {id(week_at(monitor, end)) for end in ends}
    assert len(results) == 1 and monitor.builds - builds <= 2  # the analytics + the oldest time
    readout.version = 2  # a poll that wrote no task, within the minute: the same result
    readout.health = replace(readout.health, data_until=NOW + 1)
    assert id(week_at(monitor, ends[0])) in results
    counted = monitor.builds
    readout.health = replace(readout.health, tasks_written=5)  # a poll wrote tasks
    assert id(week_at(monitor, ends[0])) not in results and monitor.builds > counted
    results.add(id(week_at(monitor, ends[0])))
    readout.health = replace(readout.health, data_until=NOW + 61)  # a minute on: the range slides
    assert id(week_at(monitor, ends[0])) not in results


def week_at(monitor: ClusterMonitor, end: datetime) -> history.RangeAnalytics:
    return monitor.analytics(end - timedelta(days=7), end, "Last 7 days").value


def test_error_groups_over_the_range_equal_those_of_the_raw_failures(filled, tmp_path):
    monitor = monitor_over(filled, tmp_path)
    p = week(monitor).plan
    rules = failures.load_rules()
    raw = trends.window_frame(filled.tasks_window(p.start, p.end), p.start, p.end)
    want = failures.error_groups_frame(failures.failures_frame(raw, rules))
    filled.prune(NOW, retention_days=14, success_days=2)
    end = datetime.fromtimestamp(NOW, UTC)
    failed = monitor_over(filled, tmp_path).failures(p.asked, end, "Last 7 days", rules).value
    assert len(failed) > 100
    pd.testing.assert_frame_equal(failures.error_groups_frame(failed), want)


def test_overview_kpis_from_the_range_equal_those_of_all_the_raw_tasks(filled, tmp_path):
    monitor = monitor_over(filled, tmp_path)
    end = datetime.fromtimestamp(NOW, UTC)
    day = monitor.analytics(end - timedelta(hours=24), end, "Last 24 hours").value
    workers = frames.workers_frame([])
    got = frames.range_kpis(day.totals, day.runtime, workers, 3, day.plan.start, None)
    want = frames.overview_kpis(filled.tasks_window(0, 2**40), workers, 3, end)
    keys = ["processed", "failed", "error_rate", "avg_runtime", "p95_runtime"]
    assert want["processed"] > 100 and got["window_start"] == want["window_start"]
    assert {k: got[k] for k in keys} == pytest.approx({k: want[k] for k in keys})
