"""Histograms summed in the database equal the per-bucket histograms summed here, and a rolled
range's runtime and wait estimates read that way equal those of the per-bucket read they
replaced (computed below from ``Store.histograms`` as ``lib.trends.history`` did), to the bit.

The store holds eight days of tasks (seven names, four queues one missing, three workers),
tasks without a name and with varied waits, and tasks in the range's last minute (the raw
tail); the range starts and ends off the hour, so its edge hours are partial. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from sqlalchemy import insert, select

from lib.store import Store, hourly
from lib.store.engine import reading, writing
from lib.store.schema import ROLLUP_HISTOGRAMS
from lib.trends import estimates, history, window
from lib.trends.buckets import bucket_size
from tests.factories import task_payload
from tests.history_tasks import HISTORY_NOW, spread_tasks
from tests.unit.store.test_history import monitor_over, week

NOW = HISTORY_NOW
DAY = 86400.0


def odd_tasks(now: float, count: int = 900, seed: int = 15) -> list[dict]:
    """Tasks without a name, with waits of a millisecond to minutes, some in the last minute."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        at = now - (rng.uniform(1, 50) if i % 10 == 0 else rng.uniform(60, 7.5 * DAY))
        state = rng.choice(["SUCCESS", "SUCCESS", "FAILURE"])
        sent = at - 1.0 - rng.lognormvariate(0, 3)
        payload = task_payload(f"odd{i}", state, at=at, runtime=rng.lognormvariate(-2, 2))
        out.append({**payload, "name": None if i % 3 else "demo.task1", "sent": sent})
    return out


@pytest.fixture
def mixed(any_store_url) -> Store:
    store = Store(any_store_url)
    store.upsert_tasks(spread_tasks(NOW, days=8) + odd_tasks(NOW), now=NOW)
    yield store
    store.close()


def summed_here(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    summed = frame.groupby(keys, as_index=False)["tasks"].sum()
    return summed[summed["tasks"] > 0].sort_values(keys, ignore_index=True)


@pytest.mark.parametrize("metric", ["runtime", "wait"])
def test_sums_equal_the_per_bucket_histograms_summed(mixed, metric):
    start, end = NOW - 7 * DAY + 1234.5, NOW - 3 * DAY - 99.9  # partial hours at both ends
    per_bucket = mixed.histograms(metric, start, end, 60)
    assert per_bucket["subject"].eq("").any() and per_bucket["subject"].nunique() >= 4
    got = mixed.histogram_sums(metric, start, end)
    pd.testing.assert_frame_equal(got, summed_here(per_bucket, ["subject", "bucket"]))
    got = mixed.histogram_sums(metric, start, end, 60, by_subject=False)
    pd.testing.assert_frame_equal(got, summed_here(per_bucket, ["at", "bucket"]))
    some = sorted(per_bucket["subject"].unique())[:2]
    got = mixed.histogram_sums(metric, start, end, 60, subjects=some)
    wanted = per_bucket[per_bucket["subject"].isin(some)]
    pd.testing.assert_frame_equal(got, summed_here(wanted, ["at", "subject", "bucket"]))


def test_sums_of_an_empty_range_are_empty(mixed):
    got = mixed.histogram_sums("runtime", NOW, NOW, 60, subjects=[])
    assert got.empty and list(got.columns) == ["at", "subject", "bucket", "tasks"]


def per_bucket_estimates(store: Store, got: history.RangeAnalytics) -> dict:
    """The runtime and wait estimates as the per-bucket read gave them: every name's
    histogram per bucket from the store, the raw tail's runs and waits added."""
    p = got.plan
    raw = got.window[~got.window["rolled"].to_numpy(bool)]
    runs = raw[window.run_mask(raw)]
    runtime = pd.concat(
        [
            labelled(store.histograms("runtime", p.start, p.split, p.step_minutes)),
            estimates.histogram_of(runs["at"], runs["name"], runs["duration"]),
        ],
        ignore_index=True,
    )
    waits = pd.concat(
        [
            labelled(store.histograms("wait", p.start, p.split, p.step_minutes)),
            estimates.histogram_of(raw["at"], raw["queue"], raw["wait"]),
        ],
        ignore_index=True,
    )
    size = bucket_size(p.start, p.end)
    return {
        "trend": estimates.estimated_trend(runtime, p.start, p.end, size, history.TOP),
        "names": estimates.estimated_stats(runtime),
        "waits": estimates.estimated_stats(waits),
        "overall": estimates.estimated_stats(runtime.assign(subject="")).iloc[0],
    }


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(subject=frame["subject"].replace("", "(unknown)").astype(str))


def test_a_weeks_estimates_equal_those_of_the_per_bucket_read(mixed, tmp_path):
    got = week(monitor_over(mixed, tmp_path))
    assert got.estimated and got.plan.start.minute != 0  # partial edge hours
    raw = got.window[~got.window["rolled"].to_numpy(bool)]
    assert window.run_mask(raw).any()  # a raw tail with runs
    want = per_bucket_estimates(mixed, got)
    pd.testing.assert_frame_equal(got.runtime_trend, want["trend"])
    assert "(unknown)" in set(got.runtime_trend["name"])
    names = got.names.set_index("name")
    stats = ["runs", "mean", "p50", "p95", "p99", "max"]
    assert len(want["names"]) == 8  # seven names and (unknown)
    for name, row in want["names"].iterrows():
        assert names.loc[name, stats].tolist() == row[stats].tolist(), name
    waits = got.waits.set_index("queue")[["tasks", "mean", "p50", "p95", "p99", "max"]]
    expected_waits = want["waits"].rename(columns={"runs": "tasks"})[waits.columns]
    assert waits.sort_index().to_dict() == expected_waits.sort_index().to_dict()
    overall = want["overall"]
    assert got.runtime == {
        "runs": int(overall["runs"]),
        "mean": float(overall["mean"]),
        "p95": float(overall["p95"]),
    }


@pytest.mark.parametrize(
    ("start", "end"), [(60, 180), (59.5, 180.5), (60.001, 179.999), (0, 0.5), (120, 120)]
)
def test_integer_minute_bounds_select_the_rows_the_exact_bounds_do(any_store_url, start, end):
    store = Store(any_store_url)
    try:
        rows = [
            {"minute": m, "metric": "runtime", "subject": "a", "bucket": 3, "tasks": 1}
            for m in range(0, 301, 60)
        ]
        with writing(store.engine) as conn:
            conn.execute(insert(ROLLUP_HISTOGRAMS), rows)
        with reading(store.engine) as conn:
            query = select(ROLLUP_HISTOGRAMS.c.minute).where(
                hourly.minutes_in(ROLLUP_HISTOGRAMS, start, end)
            )
            got = sorted(conn.execute(query).scalars())
    finally:
        store.close()
    assert got == [r["minute"] for r in rows if start <= r["minute"] < end]
