"""Trends against numbers worked out by hand (small fixtures) or in plain Python (generated ones).

Quantile method under test: linear interpolation between the two nearest ranks, i.e. for
sorted values v[0..n-1] the q-quantile is v[k] + (v[k+1] − v[k]) · f where (n−1)·q = k + f.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import frames, trends
from lib.trends.buckets import MAX_BUCKETS
from tests import factories
from tests.recorded import recorded_tasks

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp()
HOUR = timedelta(hours=1)
MINUTE = pd.Timedelta("1min")


task = partial(factories.task_payload, at=T0 - 60)


def window_of(*payloads: dict, start: datetime = NOW - HOUR, end: datetime = NOW) -> pd.DataFrame:
    return trends.window_frame(frames.tasks_frame(payloads), start, end)


def ts(seconds_before_now: float) -> pd.Timestamp:
    return pd.Timestamp(T0 - seconds_before_now, unit="s", tz="UTC")


# -- buckets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "size"),
    [
        (timedelta(minutes=15), "1min"),
        (timedelta(hours=1), "1min"),
        (timedelta(hours=6), "5min"),
        (timedelta(hours=24), "15min"),
        (timedelta(days=2), "15min"),
        (timedelta(days=7), "1h"),
        (timedelta(days=30), "6h"),
        (timedelta(days=365), "7D"),
    ],
    ids=["15m", "1h", "6h", "24h", "2d-custom", "7d", "30d-custom", "1y-custom"],
)
def test_bucket_size_follows_the_range(span, size):
    assert trends.bucket_size(NOW - span, NOW) == pd.Timedelta(size)
    assert span / trends.bucket_size(NOW - span, NOW) <= MAX_BUCKETS


@pytest.mark.parametrize(
    ("size", "label"),
    [("1min", "1 min"), ("15min", "15 min"), ("1h", "1 h"), ("6h", "6 h"), ("1D", "1 d")],
    ids=["1min", "15min", "1h", "6h", "1d"],
)
def test_bucket_label(size, label):
    assert trends.bucket_label(pd.Timedelta(size)) == label


def test_bucket_starts_cover_the_range_on_the_utc_grid():
    start = NOW - timedelta(minutes=2, seconds=30)  # 11:57:30
    starts = trends.bucket_starts(start, NOW, MINUTE)
    assert list(starts) == [ts(180), ts(120), ts(60)]  # 11:57, 11:58, 11:59; 12:00 excluded


# -- placement -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (task("s", "SUCCESS", succeeded=T0 - 10, timestamp=T0 - 9), T0 - 10),
        (task("f", "FAILURE", failed=T0 - 20, timestamp=T0 - 9), T0 - 20),
        (task("r", "REVOKED", revoked=T0 - 30, timestamp=T0 - 9), T0 - 30),
        (task("j", "REJECTED", rejected=T0 - 40, timestamp=T0 - 9), T0 - 40),
        (task("s2", "SUCCESS", succeeded=None, timestamp=T0 - 50), T0 - 50),
        (task("st", "STARTED", received=T0 - 60, timestamp=T0 - 5), T0 - 60),
        (task("p", "PENDING", received=None, timestamp=T0 - 70, sent=T0 - 71), T0 - 70),
        (task("p2", "PENDING", received=None, timestamp=None, sent=T0 - 80), T0 - 80),
        (task("c", "PROGRESS", received=T0 - 90), T0 - 90),
        # Terminated mid-PROGRESS: Flower keeps PROGRESS, the effective state is REVOKED.
        (task("cr", "PROGRESS", received=T0 - 90, revoked=T0 - 3), T0 - 3),
        (task("u", None, received=T0 - 100), T0 - 100),
        (task("n", "STARTED", sent=None, received=None, started=None, timestamp=None), None),
    ],
    ids=[
        "success-at-succeeded",
        "failure-at-failed",
        "revoked-at-revoked",
        "rejected-at-rejected",
        "success-missing-finish-uses-timestamp",
        "started-at-received",
        "pending-at-timestamp",
        "pending-at-sent",
        "custom-state-at-received",
        "custom-state-revoked-at-revoked",
        "unknown-state-at-received",
        "no-times-unplaced",
    ],
)
def test_placed_at(payload, expected):
    got = trends.placed_at(frames.tasks_frame([payload])).iloc[0]
    if expected is None:
        assert pd.isna(got)
    else:
        assert got == pd.Timestamp(expected, unit="s", tz="UTC")


def test_window_is_half_open():
    start = NOW - HOUR
    at_start = task("a", at=start.timestamp())
    at_end = task("b", at=T0)
    before = task("c", at=start.timestamp() - 0.001)
    window = window_of(at_start, at_end, before, start=start, end=NOW)
    assert list(window["uuid"]) == ["a"]
    assert window["at"].iloc[0] == pd.Timestamp(start)


def test_window_rejects_naive_or_empty_ranges():
    empty = frames.tasks_frame([])
    with pytest.raises(ValueError, match="timezone"):
        trends.window_frame(empty, datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="empty range"):
        trends.window_frame(empty, NOW, NOW)


# -- counts per bucket (by hand) -------------------------------------------------------------

# Range 11:57:30–12:00:00, 1 min buckets: 11:57 (30 s inside), 11:58, 11:59.
START = NOW - timedelta(minutes=2, seconds=30)
HAND = [
    task("s1", "SUCCESS", at=T0 - 170),  # 11:57:10 — before START: out
    task("s2", "SUCCESS", at=T0 - 145),  # 11:57:35
    task("f1", "FAILURE", at=T0 - 140),  # 11:57:40
    task("s3", "SUCCESS", at=T0 - 100),  # 11:58:20
    task("s4", "SUCCESS", at=T0 - 90, name="demo.slow", routing_key="slow"),  # 11:58:30
    task("r1", "REVOKED", at=T0 - 80),  # 11:58:40
    task("st", "STARTED", at=T0 - 30, received=T0 - 50, name=None),  # received 11:59:10
    task("f2", "FAILURE", at=T0 - 5, name="demo.slow", routing_key="slow"),  # 11:59:55
    task("odd", "WEIRD", at=T0 - 20, received=T0 - 20),  # unknown state, 11:59:40
]


def hand_window() -> pd.DataFrame:
    return trends.window_frame(frames.tasks_frame(HAND), START, NOW)


def test_state_counts_per_bucket_by_hand():
    got = trends.state_trend_frame(hand_window(), START, NOW, MINUTE)
    nonzero = {(b, s): n for b, s, n in got.itertuples(index=False) if n}
    assert nonzero == {
        (ts(180), "SUCCESS"): 1,
        (ts(180), "FAILURE"): 1,
        (ts(120), "SUCCESS"): 2,
        (ts(120), "REVOKED"): 1,
        (ts(60), "STARTED"): 1,
        (ts(60), "FAILURE"): 1,
        (ts(60), "WEIRD"): 1,
    }
    assert len(got) == 3 * 5, "every bucket × every state seen, zeros included"
    assert list(dict.fromkeys(got["state"])) == [
        "SUCCESS",
        "FAILURE",
        "REVOKED",
        "STARTED",
        "WEIRD",
    ]


def test_throughput_and_failure_rate_by_hand():
    got = trends.trend_frame(hand_window(), START, NOW, MINUTE).set_index("bucket")
    assert list(got["seconds"]) == [30.0, 60.0, 60.0]  # the first bucket is cut by the range
    assert list(got["tasks"]) == [2, 3, 3]
    assert list(got["succeeded"]) == [1, 2, 0]
    assert list(got["failed"]) == [1, 0, 1]
    assert list(got["succeeded_per_s"]) == pytest.approx([1 / 30, 2 / 60, 0.0])
    assert list(got["failed_per_s"]) == pytest.approx([1 / 30, 0.0, 1 / 60])
    assert list(got["failure_rate"]) == pytest.approx([50.0, 0.0, 100.0])


def test_failure_rate_is_nan_where_nothing_finished():
    window = window_of(task("st", "STARTED", at=T0 - 30, received=T0 - 30))
    got = trends.trend_frame(window, NOW - timedelta(minutes=2), NOW, MINUTE)
    assert list(got["tasks"]) == [0, 1]
    assert got["failure_rate"].isna().all()


def test_breakdown_by_name_keeps_top_n_and_adds_up_the_rest():
    got = trends.trend_frame(hand_window(), START, NOW, MINUTE, by="name", top=1)
    totals = got.groupby("name")[["tasks", "succeeded", "failed"]].sum()
    # demo.add: s2 f1 s3 r1 odd = 5; demo.slow: s4 f2 = 2; (unknown): st = 1
    assert totals.loc["demo.add"].tolist() == [5, 2, 1]
    assert totals.loc["(other)"].tolist() == [3, 1, 1]
    assert list(dict.fromkeys(got["name"])) == ["demo.add", "(other)"]
    assert len(got) == 3 * 2


def test_breakdown_by_queue_and_unknown_names():
    got = trends.trend_frame(hand_window(), START, NOW, MINUTE, by="name", top=5)
    assert got.groupby("name")["tasks"].sum().to_dict() == {
        "demo.add": 5,
        "demo.slow": 2,
        "(unknown)": 1,
    }
    by_queue = trends.trend_frame(hand_window(), START, NOW, MINUTE, by="queue")
    rates = by_queue[by_queue["finished"] > 0].set_index(["bucket", "queue"])["failure_rate"]
    assert rates.to_dict() == {
        (ts(180), "default"): 50.0,
        (ts(120), "default"): 0.0,
        (ts(120), "slow"): 0.0,
        (ts(60), "slow"): 100.0,
    }


def test_window_summary_by_hand():
    assert trends.window_summary(hand_window()) == {
        "tasks": 8,
        "succeeded": 3,
        "failed": 2,
        "finished": 5,
        "failure_rate": 40.0,
    }


def test_a_job_terminated_mid_progress_counts_as_revoked_when_it_was_revoked():
    # Received long before the range, terminated inside it: Flower still says PROGRESS.
    job = task("job", "PROGRESS", received=T0 - 7200, started=T0 - 7100, revoked=T0 - 100)
    running = task("run", "PROGRESS", received=T0 - 50)
    window = trends.window_frame(frames.tasks_frame([job, running]), START, NOW)
    assert dict(zip(window["uuid"], window["state"], strict=True)) == {
        "job": "REVOKED",
        "run": "PROGRESS",
    }
    got = trends.state_trend_frame(window, START, NOW, MINUTE)
    nonzero = {(b, s): n for b, s, n in got.itertuples(index=False) if n}
    assert nonzero == {(ts(120), "REVOKED"): 1, (ts(60), "PROGRESS"): 1}
    assert trends.window_summary(window)["tasks"] == 2


# -- runtimes, waits, workers ----------------------------------------------------------------


def test_runtime_percentiles_by_hand():
    runs = [
        task("a", "SUCCESS", at=T0 - 50, runtime=1.0),
        task("b", "SUCCESS", at=T0 - 40, runtime=4.0),
        task("c", "SUCCESS", at=T0 - 30, runtime=2.0),
        task("d", "FAILURE", at=T0 - 20, started=T0 - 23.0),  # failed − started = 3.0
        task("e", "STARTED", at=T0 - 10),  # runs still: counted as a task, not a run
        task("x", "SUCCESS", at=T0 - 10, name="demo.other", runtime=7.0),
    ]
    got = trends.runtime_percentiles_frame(window_of(*runs)).set_index("name")
    add = got.loc["demo.add"]
    # sorted 1, 2, 3, 4: p50 → (n−1)·0.5 = 1.5 → 2.5; p95 → 2.85 → 3.85; p99 → 2.97 → 3.97
    assert (add["tasks"], add["succeeded"], add["failed"], add["runs"]) == (5, 3, 1, 4)
    assert add["failure_rate"] == pytest.approx(25.0)
    assert add[["mean", "p50", "p95", "p99", "max"]].tolist() == pytest.approx(
        [2.5, 2.5, 3.85, 3.97, 4.0]
    )
    assert add["busy_seconds"] == pytest.approx(10.0)
    assert got.loc["demo.other", ["p50", "p95", "max"]].tolist() == [7.0, 7.0, 7.0]
    assert list(got.index) == ["demo.add", "demo.other"], "busiest first"


def test_busiest_and_slowest_names():
    names = pd.DataFrame(
        {"name": ["a", "b", "c", "d"], "tasks": [5, 9, 5, 1], "p95": [1.0, 0.5, float("nan"), 3.0]}
    )
    assert list(trends.top_names_frame(names, "tasks", 3)["name"]) == ["b", "a", "c"]
    assert list(trends.top_names_frame(names, "p95", 3)["name"]) == ["d", "a", "b"]


def test_runtime_p95_over_time_by_hand():
    runs = [
        task("a", at=T0 - 100, runtime=1.0),
        task("b", at=T0 - 95, runtime=3.0),
        task("c", at=T0 - 30, runtime=5.0, name="demo.other"),
    ]
    got = trends.runtime_trend_frame(window_of(*runs), NOW - timedelta(minutes=2), NOW, MINUTE)
    table = got.set_index(["name", "bucket"])
    assert table.loc[("demo.add", ts(120)), "p95"] == pytest.approx(1.0 + 0.95 * 2.0)
    assert pd.isna(table.loc[("demo.add", ts(60)), "p95"]), "a gap, not a zero"
    assert table.loc[("demo.other", ts(60)), "p95"] == 5.0
    assert table.loc[("(all)", ts(120)), "runs"] == 2
    assert table.loc[("(all)", ts(60)), "p95"] == 5.0


def test_queue_wait_percentiles_by_hand():
    waits = [
        task("a", at=T0 - 50, sent=T0 - 60, started=T0 - 51),  # 9 s
        task("b", at=T0 - 40, sent=T0 - 44, started=T0 - 41),  # 3 s
        task("c", at=T0 - 30, sent=None, received=T0 - 36, started=T0 - 31),  # 5 s, from received
        task("d", "RECEIVED", at=T0 - 20, started=None),  # no wait yet
        task("e", at=T0 - 10, routing_key="ml", sent=T0 - 12.5, started=T0 - 12.0),  # 0.5 s
    ]
    got = trends.queue_wait_frame(window_of(*waits)).set_index("queue")
    assert got.loc["default", "tasks"] == 3
    # sorted 3, 5, 9: p50 = 5; p95 → (n−1)·0.95 = 1.9 → 5 + 0.9·4 = 8.6
    assert got.loc["default", ["mean", "p50", "p95", "max"]].tolist() == pytest.approx(
        [17 / 3, 5.0, 8.6, 9.0]
    )
    assert got.loc["ml", ["tasks", "p99"]].tolist() == pytest.approx([1, 0.5])


def test_worker_usage_by_hand():
    start = NOW - timedelta(minutes=10)
    payloads = [
        # started 2 min before the range, finished 1 min into it: 60 s busy inside
        task("a", at=start.timestamp() + 60, started=start.timestamp() - 120, runtime=180.0),
        task("b", "FAILURE", at=T0 - 100, started=T0 - 130),  # 30 s
        # still running since 2 min ago: busy until the end of the range
        task("c", "STARTED", at=T0 - 120, started=T0 - 120, worker="w2@host"),
        # finished before the range: no share of it
        task("d", at=start.timestamp() - 10, started=start.timestamp() - 20, worker="w2@host"),
        # waiting for a retry: not busy
        task("e", "RETRY", at=T0 - 50, started=T0 - 60, worker="w2@host"),
    ]
    workers = frames.workers_frame([], {}, {"w1@host": True, "w2@host": True})
    workers["concurrency"] = pd.array([4, 2], dtype="Int64")
    got = trends.worker_usage_frame(frames.tasks_frame(payloads), start, NOW, workers)
    got = got.set_index("worker")
    assert got.loc["w1@host", ["processed", "failed"]].tolist() == [2, 1]
    assert got.loc["w1@host", "avg_runtime"] == pytest.approx((180.0 + 30.0) / 2)
    assert got.loc["w1@host", "busy_seconds"] == pytest.approx(90.0)
    assert got.loc["w1@host", "utilization"] == pytest.approx(100 * 90 / 600)
    assert got.loc["w1@host", "pool_utilization"] == pytest.approx(100 * 90 / 600 / 4)
    assert got.loc["w2@host", ["processed", "busy_seconds"]].tolist() == pytest.approx([0, 120.0])
    assert got.loc["w2@host", "concurrency"] == 2


# -- edge cases: every function on odd inputs ------------------------------------------------

EDGE = {
    "no-tasks": [],
    "one-task": [task("one")],
    "missing-timestamps": [task("t", sent=None, received=None, started=None), {"uuid": "bare"}],
    "unknown-states": [task("u", None), task("w", "WEIRD", received=T0 - 9)],
    "name-none": [task("n", name=None, routing_key=None, worker=None)],
}


@pytest.mark.parametrize("payloads", list(EDGE.values()), ids=list(EDGE))
def test_every_frame_copes_with_edge_cases(payloads):
    tasks = frames.tasks_frame(payloads)
    start, end = NOW - HOUR, NOW
    window = trends.window_frame(tasks, start, end)
    size = trends.bucket_size(start, end)
    states = trends.state_trend_frame(window, start, end, size)
    assert states["tasks"].sum() == len(window)
    overall = trends.trend_frame(window, start, end, size)
    assert len(overall) == 60 and overall["tasks"].sum() == len(window)
    for by in ("name", "queue"):
        assert trends.trend_frame(window, start, end, size, by=by)["tasks"].sum() == len(window)
    names = trends.runtime_percentiles_frame(window)
    assert names["tasks"].sum() == len(window)
    trends.runtime_trend_frame(window, start, end, size)
    trends.queue_wait_frame(window)
    trends.worker_usage_frame(tasks, start, end)


def test_name_none_is_unknown_not_dropped():
    window = window_of(task("n", name=None, routing_key=None, worker=None))
    assert trends.runtime_percentiles_frame(window)["name"].tolist() == ["(unknown)"]
    assert trends.queue_wait_frame(window)["queue"].tolist() == ["(unknown)"]
    usage = trends.worker_usage_frame(window, NOW - HOUR, NOW).set_index("worker")
    assert usage.loc["(unknown)", ["processed", "busy_seconds"]].tolist() == [1, 1.0]


# -- generated tasks vs plain Python ---------------------------------------------------------

FINISH_KEY = {"SUCCESS": "succeeded", "FAILURE": "failed", "REVOKED": "revoked"}


def plain_state(t: dict) -> str | None:
    """The contract's effective state, restated: revoked unless it succeeded or failed."""
    if t.get("revoked") is not None and t.get("state") not in ("SUCCESS", "FAILURE"):
        return "REVOKED"
    return t.get("state")


def plain_place(t: dict) -> float | None:
    """The placement rule, restated without pandas."""
    state = plain_state(t)
    if state in FINISH_KEY:
        return t.get(FINISH_KEY[state]) or t.get("timestamp")
    return t.get("received") or t.get("timestamp") or t.get("sent")


def maybe_time(draw_value):
    return st.one_of(st.none(), draw_value)


@st.composite
def generated_tasks(draw) -> list[dict]:
    # whole milliseconds within ±2 h of NOW: bucket edges then fall exactly on whole seconds
    offset = st.integers(-7_200_000, 600_000).map(lambda ms: T0 + ms / 1000)
    out = []
    for i in range(draw(st.integers(0, 40))):
        state = draw(st.sampled_from(["SUCCESS", "FAILURE", "REVOKED", "STARTED", "PENDING", None]))
        t = {"uuid": f"t{i}", "state": state, "name": draw(st.sampled_from(["a", "b", None]))}
        for key in ("sent", "received", "started", "timestamp", "succeeded", "failed", "revoked"):
            t[key] = draw(maybe_time(offset))
        out.append(t)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tasks=generated_tasks(),
    span_minutes=st.sampled_from([15, 60, 360, 1440]),
    end_shift_ms=st.integers(-600_000, 0),
)
def test_bucket_counts_equal_plain_python(tasks, span_minutes, end_shift_ms):
    end = NOW + timedelta(milliseconds=end_shift_ms)
    start = end - timedelta(minutes=span_minutes)
    size = trends.bucket_size(start, end)
    step = size.total_seconds()
    expected = Counter()
    for t in tasks:
        at = plain_place(t)
        if at is not None and start.timestamp() <= at < end.timestamp():
            expected[math.floor(at / step) * step] += 1
    window = trends.window_frame(frames.tasks_frame(tasks), start, end)
    got = trends.trend_frame(window, start, end, size)
    counted = {b.timestamp(): n for b, n in zip(got["bucket"], got["tasks"], strict=True) if n}
    assert counted == dict(expected)
    assert got["tasks"].sum() == sum(expected.values()) == len(window)
    assert trends.state_trend_frame(window, start, end, size)["tasks"].sum() == len(window)


def test_recorded_flower_counts_equal_plain_python():
    raw = recorded_tasks()
    end = datetime.fromtimestamp(max(t["timestamp"] for t in raw) + 1, UTC)
    start = end - timedelta(minutes=15)
    window = trends.window_frame(frames.tasks_frame(raw), start, end)
    got = trends.state_trend_frame(window, start, end, MINUTE)
    expected = Counter()
    for t in raw:
        at = plain_place(t)
        if at is not None and start.timestamp() <= at < end.timestamp():
            expected[(math.floor(at / 60) * 60, plain_state(t))] += 1
    counted = {(b.timestamp(), s): n for b, s, n in got.itertuples(index=False) if n}
    assert counted == dict(expected)
    done = [t for t in raw if t["state"] in ("SUCCESS", "FAILURE")]
    failed = sum(t["state"] == "FAILURE" for t in done)
    rate = trends.window_summary(window)["failure_rate"]
    assert f"{rate:.1f}" == f"{100 * failed / len(done):.1f}"


# -- how far back Flower's tasks reach -------------------------------------------------------


@pytest.mark.parametrize(
    ("last_events", "expected"),
    [
        ([], None),
        ([T0 - 7200, T0 - 60], None),
        ([T0 - 3600, T0 - 60], None),
        ([T0 - 600, T0 - 60], T0 - 600),
        ([None, T0 - 300, T0 - 60], T0 - 300),
        ([None], None),
    ],
    ids=[
        "empty",
        "oldest-before-start",
        "oldest-at-start",
        "oldest-after-start",
        "missing-timestamp-ignored",
        "no-timestamps",
    ],
)
def test_held_since_is_the_oldest_last_event_after_the_range_start(last_events, expected):
    payloads = [task(f"t{i}", timestamp=at) for i, at in enumerate(last_events)]
    got = trends.held_since(frames.tasks_frame(payloads), NOW - HOUR)
    if expected is None:
        assert got is None
    else:
        assert got == datetime.fromtimestamp(expected, UTC)
        assert isinstance(got, datetime) and got.tzinfo is not None
