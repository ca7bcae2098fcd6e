"""Rollups agree with the raw rows they summarise; each finished task counted once; percentiles."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from lib.store.histogram import (
    MIN_SECONDS,
    RELATIVE_ERROR,
    bucket_of,
    bucket_value,
    estimate_percentiles,
)
from tests.unit.store.histories import retried_history, success_history

NOW = 1_800_000_000.0
FINISH = {"SUCCESS": "succeeded", "FAILURE": "failed", "REVOKED": "revoked"}


def _cluster(seed: int, n: int = 400) -> list[list[dict]]:
    """Each task's payload history: successes, retried failures, revoked and running ones."""
    rng = random.Random(seed)
    histories = []
    for i in range(n):
        at = NOW - rng.uniform(60, 3 * 3600)
        name = rng.choice(["demo.add", "demo.mul", "demo.fetch"])
        kind = rng.random()
        if kind < 0.6:
            history = success_history(f"s{i}", at, rng.lognormvariate(-1, 1.5), name)
        elif kind < 0.85:
            history = retried_history(f"f{i}", at, name)
        elif kind < 0.95:
            received = success_history(f"v{i}", at, 1.0, name)[0]
            history = [
                received,
                {**received, "state": "REVOKED", "revoked": at + 3, "timestamp": at + 3},
            ]
        else:
            history = success_history(f"r{i}", at, 1.0, name)[:2]  # still running
        histories.append(history)
    return histories


def _replay(store, histories: list[list[dict]], seed: int) -> None:
    payloads = [p for history in histories for p in history]
    random.Random(seed).shuffle(payloads)
    for start in range(0, len(payloads), 97):
        store.upsert_tasks(payloads[start : start + 97], NOW)


def _expected_counts(histories) -> Counter:
    """From the payloads alone: each task's last payload, counted at its finish minute."""
    counts = Counter()
    for history in histories:
        last = history[-1]
        if last["state"] in FINISH:
            minute = math.floor(last[FINISH[last["state"]]] / 60) * 60
            key = (minute, last["name"], last["routing_key"], last["worker"], last["state"])
            counts[key] += 1
    return counts


def _got_counts(store) -> Counter:
    frame = store.rollup_counts(0, NOW + 60, by=("name", "queue", "worker", "state"))
    return Counter(
        {
            (int(r.at.timestamp()), r.name, r.queue, r.worker, r.state): r.tasks
            for r in frame.itertuples()
        }
    )


def test_rollups_agree_with_the_payloads_they_summarise(store):
    histories = _cluster(seed=1)
    _replay(store, histories, seed=2)
    assert _got_counts(store) == _expected_counts(histories)
    hourly = store.rollup_counts(0, NOW + 60, by=("state",), step_minutes=60)
    assert hourly["tasks"].sum() == sum(_expected_counts(histories).values())
    assert (hourly["at"].dt.minute == 0).all()


def test_each_finished_task_is_counted_once_across_repeated_upserts(store):
    histories = _cluster(seed=3, n=150)
    for seed in range(3):
        _replay(store, histories, seed=seed)
    store.mark_gone([h[0]["uuid"] for h in histories])
    _replay(store, histories, seed=9)
    assert _got_counts(store) == _expected_counts(histories)


def test_a_task_whose_outcome_changes_moves_its_count(store):
    _received, started, success = success_history("raced", NOW - 600, runtime=2.0)
    revoked = {**started, "state": "REVOKED", "revoked": NOW - 599, "timestamp": NOW - 599}
    store.upsert_tasks([revoked], NOW)
    assert dict(store.rollup_counts(0, NOW).groupby("state")["tasks"].sum()) == {"REVOKED": 1}
    store.upsert_tasks([{**success, "revoked": NOW - 599, "timestamp": NOW - 590}], NOW)
    assert dict(store.rollup_counts(0, NOW).groupby("state")["tasks"].sum()) == {"SUCCESS": 1}


def test_counts_come_in_the_same_order_on_every_database(store):
    # Minute, then keys by code point (as SQLite and Python sort text), whatever the
    # database's collation says (PostgreSQL's ICU English would say _etl, demo.add, Report).
    names = ["demo.add", "Report", "_etl", "demo.Add"]
    finished = [success_history(f"t{i}", NOW - 90, 1.0, n)[-1] for i, n in enumerate(names)]
    store.upsert_tasks(finished, NOW)
    frame = store.rollup_counts(0, NOW + 60, by=("name",))
    assert frame["name"].tolist() == sorted(names) == ["Report", "_etl", "demo.Add", "demo.add"]


def test_rollups_reject_unknown_groupings(store):
    with pytest.raises(ValueError):
        store.rollup_counts(0, NOW, by=("args",))


def test_runtime_and_wait_percentiles_are_within_the_documented_error(store):
    histories = _cluster(seed=4, n=1500)
    _replay(store, histories, seed=5)
    finals = [h[-1] for h in histories]
    estimates = store.percentiles("runtime", 0, NOW + 60).set_index("subject")
    for name in ("demo.add", "demo.mul", "demo.fetch"):
        runs = [
            t["runtime"] if t["state"] == "SUCCESS" else t["failed"] - t["started"]
            for t in finals
            if t["name"] == name and t["state"] in ("SUCCESS", "FAILURE")
        ]
        assert estimates.loc[name, "tasks"] == len(runs)
        for q in (50, 95, 99):
            exact = np.percentile(runs, q)
            assert estimates.loc[name, f"p{q}"] == pytest.approx(exact, rel=RELATIVE_ERROR + 1e-9)
    waits = store.percentiles("wait", 0, NOW + 60).set_index("subject")
    for queue in ("default", "fast"):
        queued = [
            t["started"] - t["sent"]
            for t in finals
            if t["routing_key"] == queue and t["state"] in FINISH and t.get("started")
        ]
        exact = np.percentile(queued, 95)
        assert waits.loc[queue, "p95"] == pytest.approx(exact, rel=RELATIVE_ERROR + 1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_estimates_bound_numpy_percentiles_on_any_positive_sample(seed):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(
        mean=rng.uniform(-3, 3), sigma=rng.uniform(0.1, 3), size=rng.integers(1, 3000)
    )
    values = values[values >= MIN_SECONDS]
    counts = Counter(bucket_of(v) for v in values)
    quantiles = (0, 1, 50, 90, 95, 99, 99.9, 100)
    for q, estimate in zip(quantiles, estimate_percentiles(counts.items(), quantiles), strict=True):
        exact = np.percentile(values, q)
        assert abs(estimate / exact - 1) <= RELATIVE_ERROR + 1e-9, (q, estimate, exact)


def test_bucket_edges():
    assert bucket_of(-5.0) == bucket_of(0.0) == bucket_of(MIN_SECONDS / 2) == 0
    assert bucket_value(0) == 0.0
    assert bucket_of(MIN_SECONDS) == 1
    assert math.isnan(estimate_percentiles([], [50])[0])
