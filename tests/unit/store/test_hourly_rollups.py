"""Hourly rollups equal the per-minute ones summed per hour: as written, as read, as migrated.

Every test runs on SQLite and PostgreSQL (the ``store`` / ``store_url`` fixtures).
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from sqlalchemy import insert, select

from lib.store import Store
from lib.store.engine import open_engine, reading, writing
from lib.store.hourly import DIMENSIONS, HOUR
from lib.store.migrations import STEPS, migrate
from lib.store.schema import (
    ROLLUP_COUNTS,
    ROLLUP_HISTOGRAMS,
    ROLLUP_HOUR_COUNTS,
    ROLLUP_HOUR_HISTOGRAMS,
)
from lib.trends.history import GROUPINGS
from tests.unit.store.test_rollups import NOW, _cluster, _replay

#: Not on a whole minute or hour: the range has edge minutes on both sides of its hours.
START, END = NOW - 4 * HOUR - 1234.5, NOW + 60
STEP_60 = 60


def table_frame(store: Store, table) -> pd.DataFrame:
    with reading(store.engine) as conn:
        rows = conn.execute(select(table)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in table.columns])


def hours_of_minutes(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-minute tables summed per hour as the hourly tables keep them."""
    minutes = table_frame(store, ROLLUP_COUNTS)
    minutes["minute"] -= minutes["minute"] % HOUR
    counts = pd.concat(
        [
            minutes.groupby(["minute", d, "state"], as_index=False)["tasks"]
            .sum()
            .rename(columns={d: "value"})
            .assign(dimension=d)
            for d in DIMENSIONS
        ]
    )
    histograms = table_frame(store, ROLLUP_HISTOGRAMS)
    histograms["minute"] -= histograms["minute"] % HOUR
    keys = ["minute", "metric", "subject", "bucket"]
    return counts, histograms.groupby(keys, as_index=False)["tasks"].sum()


def same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    columns = list(want.columns)
    got, want = got[got["tasks"] != 0][columns], want[want["tasks"] != 0][columns]
    order = [c for c in columns if c != "tasks"]
    got = got.astype(want.dtypes.to_dict()).sort_values(order, ignore_index=True)
    pd.testing.assert_frame_equal(got, want.sort_values(order, ignore_index=True))


def test_hourly_rollups_equal_the_minutes_summed_through_changes_and_repeats(store):
    histories = _cluster(seed=11, n=600)
    for seed in range(2):  # repeated payloads, shuffled: recounts move contributions
        _replay(store, histories, seed=seed)
    counts, histograms = hours_of_minutes(store)
    assert counts["tasks"].sum() == 3 * table_frame(store, ROLLUP_COUNTS)["tasks"].sum() > 0
    same_rows(table_frame(store, ROLLUP_HOUR_COUNTS), counts)
    same_rows(table_frame(store, ROLLUP_HOUR_HISTOGRAMS), histograms)


@pytest.mark.parametrize("key", list(GROUPINGS))
def test_counts_read_by_hour_equal_those_read_by_minute(store, key):
    _replay(store, _cluster(seed=12, n=600), seed=3)
    by = list(GROUPINGS[key])
    minutes = store.rollup_counts(START, END, by=("name", "queue", "worker", "state"))
    minutes["at"] = minutes["at"].dt.floor("h")
    want = minutes.groupby(["at", *by], as_index=False)["tasks"].sum()
    got = store.rollup_counts(START, END, by=by, step_minutes=STEP_60)
    pd.testing.assert_frame_equal(got, want.sort_values(["at", *by], ignore_index=True))
    assert got["tasks"].sum() == minutes["tasks"].sum() > 100


@pytest.mark.parametrize("metric", ["runtime", "wait"])
def test_histograms_read_by_hour_equal_those_read_by_minute(store, metric):
    _replay(store, _cluster(seed=13, n=600), seed=4)
    minutes = store.histograms(metric, START, END, step_minutes=1)
    minutes["at"] = minutes["at"].dt.floor("h")
    want = minutes.groupby(["at", "subject", "bucket"], as_index=False)["tasks"].sum()
    got = store.histograms(metric, START, END, step_minutes=STEP_60)
    order = ["at", "subject", "bucket"]
    got = got.sort_values(order, ignore_index=True)
    pd.testing.assert_frame_equal(got, want.sort_values(order, ignore_index=True))
    assert got["at"].nunique() >= 3 and got["tasks"].sum() > 100


def _previous_version_rollups(rng: random.Random) -> tuple[list[dict], list[dict]]:
    counts, histograms = {}, {}
    for _ in range(800):
        minute = int(NOW // 60 * 60) - 60 * rng.randrange(0, 5 * 60)
        key = (minute, rng.choice("ab"), rng.choice("qr"), rng.choice(["w1", "w2", ""]))
        counts[(*key, rng.choice(["SUCCESS", "FAILURE"]))] = rng.randint(1, 9)
        spot = (minute, rng.choice(["runtime", "wait"]), rng.choice("ab"), rng.randint(0, 200))
        histograms[spot] = rng.randint(1, 9)
    count_keys = ("minute", "name", "queue", "worker", "state")
    histogram_keys = ("minute", "metric", "subject", "bucket")
    return (
        [{**dict(zip(count_keys, k, strict=True)), "tasks": n} for k, n in counts.items()],
        [{**dict(zip(histogram_keys, k, strict=True)), "tasks": n} for k, n in histograms.items()],
    )


def test_step_8_builds_the_hourly_rollups_of_a_store_of_the_previous_version(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:7])
    counts, histograms = _previous_version_rollups(random.Random(8))
    with writing(engine) as conn:
        conn.execute(insert(ROLLUP_COUNTS), counts)
        conn.execute(insert(ROLLUP_HISTOGRAMS), histograms)
    assert migrate(engine, STEPS[:8]) == 1
    store = Store(store_url)
    try:
        want_counts, want_histograms = hours_of_minutes(store)
        same_rows(table_frame(store, ROLLUP_HOUR_COUNTS), want_counts)
        same_rows(table_frame(store, ROLLUP_HOUR_HISTOGRAMS), want_histograms)
        by_hour = store.rollup_counts(START, END, by=("worker", "state"), step_minutes=STEP_60)
        by_minute = store.rollup_counts(START, END, by=("worker", "state"))
        assert by_hour["tasks"].sum() == by_minute["tasks"].sum() > 0
    finally:
        store.close()


def test_retention_deletes_the_hours_ended_by_the_horizon(store):
    _replay(store, _cluster(seed=14, n=300), seed=5)
    keep_from = NOW - 2 * HOUR + 600  # inside an hour: that hour stays whole
    store.prune(NOW, retention_days=(NOW - keep_from) / 86400, success_days=1)
    hours = table_frame(store, ROLLUP_HOUR_COUNTS)["minute"]
    assert hours.min() == keep_from // HOUR * HOUR
    assert table_frame(store, ROLLUP_HOUR_HISTOGRAMS)["minute"].min() >= hours.min()
