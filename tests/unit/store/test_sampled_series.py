"""Sampled series for charts (issue 13): pool size and the main process's peak RSS sampled per
worker (migration step 6), and queue depths and worker figures read downsampled per step in SQL,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import inspect, text

from lib import frames
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import STEPS, WORKER_FIGURES, migrate
from tests.recorded import recorded

T0 = 1_800_000_000.0  # a whole minute (and hour) since the epoch
NO_QUEUES = pd.DataFrame(columns=["queue", "messages", "consumers"])


def _workers() -> pd.DataFrame:
    return frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), recorded("workers_status")
    )


def _queue(depth: int | None) -> pd.DataFrame:
    frame = pd.DataFrame({"queue": ["mail"], "messages": [depth], "consumers": [1]})
    return frame.astype({"messages": "Int64"})


def _worker(active: int | None, online: bool = True, pool: int | None = 4, rss: float = 60.0):
    return pd.DataFrame(
        [{"worker": "w1", "online": online, "active": active, "processed": 1, "load_1m": 0.5,
          "concurrency": pool, "main_peak_rss_mib": rss}]
    ).astype({"active": "Int64", "concurrency": "Int64"})  # fmt: skip


def test_pool_size_and_main_peak_rss_are_sampled_from_the_workers_frame(store):
    workers = _workers()
    # Recorded Celery rusage: maxrss 61096 KiB for w1 (the main process only); pool from the
    # autoscaler's current size or max-concurrency.
    assert workers.set_index("worker").loc["w1@vm", "main_peak_rss_mib"] == 61096 / 1024
    store.record_samples(NO_QUEUES, workers, T0)
    got = store.worker_samples(T0, T0 + 1).set_index("worker")
    for row in workers.itertuples():
        assert got.loc[row.worker, "pool_size"] == row.concurrency
        assert got.loc[row.worker, "main_peak_rss_mib"] == row.main_peak_rss_mib


def test_queue_depths_are_the_highest_per_step_and_gaps_stay_gaps(store):
    for i, depth in enumerate([3, 9, 4, None, None, 2]):  # polls every 20 s, steps of 60 s
        store.record_samples(_queue(depth), _worker(0), T0 + 20 * i)
    depths = store.queue_depths(T0, T0 + 180, 60)
    assert depths["at"].tolist() == [pd.Timestamp(T0 + 60 * k, unit="s", tz="UTC") for k in (0, 1)]
    assert depths["messages"].tolist() == [9, 2]  # peak of 3, 9, 4; the step with 2 only
    assert depths["samples"].tolist() == [3, 3]
    only_gaps = store.queue_depths(T0 + 60, T0 + 100, 20)
    assert only_gaps["messages"].isna().all() and len(only_gaps) == 2


def test_worker_figures_per_step_mean_active_highest_pool_online_in_any_sample(store):
    rows = [(1, True, 4, 50.0), (3, True, 4, 70.0), (2, False, None, 60.0), (0, False, 2, 10.0)]
    for i, (active, online, pool, rss) in enumerate(rows):
        store.record_samples(NO_QUEUES, _worker(active, online, pool, rss), T0 + 30 * i)
    figures = store.worker_figures(T0, T0 + 120, 60)
    assert figures["active"].tolist() == [2.0, 1.0]
    assert figures["online"].tolist() == [True, False]
    assert figures["pool_size"].tolist() == [4, 2]
    assert figures["main_peak_rss_mib"].tolist() == [70.0, 60.0]
    assert figures["load"].tolist() == [0.5, 0.5]
    assert figures["samples"].tolist() == [2, 2]
    # A step shorter than the poll interval holds one sample: the samples themselves.
    raw = store.worker_figures(T0, T0 + 120, 10)
    assert raw["active"].tolist() == [1.0, 3.0, 2.0, 0.0]


def test_a_sample_just_below_a_step_edge_stays_in_its_step(store):
    # SQLite's % is an integer operation and PostgreSQL's cast rounds: both must floor.
    store.record_samples(_queue(5), _worker(0), T0 + 59.9)
    store.record_samples(_queue(6), _worker(0), T0 + 60.0)
    depths = store.queue_depths(T0, T0 + 120, 60)
    assert depths["messages"].tolist() == [5, 6]


def test_step_6_adds_the_worker_figures_to_an_older_store_and_keeps_its_samples(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:5])
    with writing(engine) as conn:  # worker_samples as steps 1-5 made it before step 6 existed
        for column, _ in WORKER_FIGURES:
            conn.execute(text(f"ALTER TABLE worker_samples DROP COLUMN {column}"))
        conn.execute(
            text(
                "INSERT INTO worker_samples (at, worker, online, active) VALUES (1, 'old', true, 2)"
            )
        )
    assert migrate(engine) == len(STEPS) - 5
    with reading(engine) as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("worker_samples")}
        old = conn.execute(text("SELECT worker, active, pool_size FROM worker_samples")).all()
    assert {name for name, _ in WORKER_FIGURES} <= columns
    assert [tuple(row) for row in old] == [("old", 2, None)]
