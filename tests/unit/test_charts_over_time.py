"""The past on screen (issue 13): the pulse, queue depths and worker figures drawn exactly as the
frames the store and ``lib.frames.over_time`` give, at the viewer's wall-clock time.

The frames come from a real SQLite store: tasks upserted (their rollups counted by the store),
samples recorded per poll as the collector records them, read back downsampled per step.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lib import charts
from lib.frames import over_time
from lib.store import Store
from tests import factories
from tests.unit.test_charts import KOLKATA, PARIS, local_times
from tests.vega import Drawn, drawn

NOW = datetime(2026, 11, 22, 12, 0, 40, tzinfo=UTC)
T0 = NOW.timestamp()
ODD = "<b>x</b> & co"  # a queue and a worker: must reach the chart verbatim, never as markup
STEP = 60
#: Queue depths per poll (every 20 s over the last 10 minutes): mail rises, ODD has a gap.
POLLS = [T0 - 600 + 20 * i for i in range(30)]

task = factories.task_payload
#: Finished tasks in the last hour: (state, seconds before NOW).
FINISHED = [("SUCCESS", s) for s in (5, 30, 70, 70, 400, 1900, 3700)] + [
    ("FAILURE", s) for s in (10, 15, 75, 2000)
]


def _queues(i: int) -> pd.DataFrame:
    odd = None if 10 <= i < 14 else (i * 7) % 5
    frame = pd.DataFrame({"queue": ["mail", ODD], "messages": [i, odd], "consumers": [1, 1]})
    return frame.astype({"messages": "Int64"})


def _workers(i: int) -> pd.DataFrame:
    rows = [
        {"worker": "w1@h", "online": True, "active": i % 5, "processed": i, "load_1m": 0.1 * i,
         "concurrency": 4, "main_peak_rss_mib": 50.0 + i},
        {"worker": ODD, "online": i < 20, "active": i % 2 if i < 20 else 0, "processed": i,
         "load_1m": 1.5, "concurrency": 2 if i >= 5 else None, "main_peak_rss_mib": 80.0},
    ]  # fmt: skip
    return pd.DataFrame(rows).astype({"active": "Int64", "concurrency": "Int64"})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    opened = Store(f"sqlite:///{tmp_path_factory.mktemp('charts')}/store.sqlite3")
    payloads = [task(f"t{i}", state, at=T0 - s) for i, (state, s) in enumerate(FINISHED)]
    opened.upsert_tasks(payloads, T0)
    for i, at in enumerate(POLLS):
        opened.record_samples(_queues(i), _workers(i), at)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def pulse(store) -> pd.DataFrame:
    counts = store.rollup_counts(over_time.pulse_start(NOW), NOW, ("state",), 1)
    return over_time.pulse_frame(counts, NOW)


@pytest.fixture(scope="module")
def figures(store) -> pd.DataFrame:
    return store.worker_figures(NOW - timedelta(minutes=10), NOW, STEP)


def assert_series(chart: Drawn, expected: dict[str, tuple[pd.DataFrame, str]], tz) -> None:
    """One series per expected one, in order; x the rows' ``at`` in ``tz``, y the column."""
    series = chart.series()
    assert list(series) == list(expected)
    assert len(chart.rows) == sum(len(rows) for rows, _ in expected.values()), "extra rows"
    for name, drawn_rows in series.items():
        rows, column = expected[name]
        assert chart.times(drawn_rows) == local_times(rows["at"], tz), name
        np.testing.assert_array_equal(
            drawn_rows[chart.field("y")].to_numpy(dtype="float64"),
            rows[column].astype("float64").to_numpy(),
            err_msg=f"{name}: y is not the frame's {column}",
        )
    assert chart.title("x") == f"time ({tz})"


def per_subject(frame: pd.DataFrame, by: str, column: str) -> dict:
    return {str(s): (frame[frame[by] == s], column) for s in sorted(set(frame[by]))}


# -- the frames themselves, against the raw data ---------------------------------------------


def test_the_pulse_counts_each_finished_task_in_its_minute_and_every_minute_is_there(pulse):
    assert len(pulse) == over_time.PULSE_MINUTES
    assert pulse["at"].iloc[-1] == pd.Timestamp("2026-11-22 12:00", tz="UTC")  # the current one
    minute = {state: Counter() for state in ("SUCCESS", "FAILURE")}
    for state, s in FINISHED:
        minute[state][pd.Timestamp(T0 - s, unit="s", tz="UTC").floor("1min")] += 1
    for row in pulse.itertuples():
        ok, failed = minute["SUCCESS"][row.at], minute["FAILURE"][row.at]
        assert (row.processed, row.failed) == (ok + failed, failed), row.at
    assert pulse["processed"].sum() == len(FINISHED) - 1  # 3700 s ago is before the hour's start


def test_the_step_keeps_every_range_within_the_points_and_is_said():
    for span in (timedelta(minutes=15), timedelta(hours=1), timedelta(days=7), timedelta(days=14)):
        step = over_time.sample_step(NOW - span, NOW)
        assert span.total_seconds() / step <= over_time.MAX_POINTS
        assert step == min(s for s in over_time.STEPS if span.total_seconds() / s <= 500)
    assert over_time.sample_step(NOW - timedelta(hours=1), NOW) == 10
    assert over_time.step_label(10) == "10 s"
    assert over_time.step_label(1800) == "30 min"
    assert over_time.step_label(7200) == "2 h"


def test_workers_over_time_counts_online_workers_and_divides_busy_by_slots(figures):
    frame = over_time.workers_over_time_frame(figures)
    for row in frame.itertuples():
        step = figures[(figures["at"] == row.at) & figures["online"].fillna(False)]
        sized = step[step["pool_size"].notna()]
        assert row.online == len(step)
        assert row.slots == sized["pool_size"].sum()
        assert row.utilization == pytest.approx(100 * sized["active"].sum() / row.slots)
    assert frame["online"].tolist()[-1] == 1 and frame["online"].max() == 2
    assert frame["slots"].nunique() > 1  # a pool size that starts unknown, a worker that leaves


# -- every new chart against the frame it draws -----------------------------------------------


def check_pulse(pulse, figures, store):
    expected = {"processed": (pulse, "processed"), "failed": (pulse, "failed")}
    assert pulse["failed"].gt(0).any()
    chart = drawn(charts.pulse_chart(pulse, KOLKATA))
    assert_series(chart, expected, KOLKATA)
    assert chart.title("y") == "tasks / min"


def check_queue_depth(pulse, figures, store):
    depths = store.queue_depths(NOW - timedelta(minutes=10), NOW, STEP)
    assert depths["messages"].isna().any() and ODD in set(depths["queue"])
    chart = drawn(charts.queue_depth_chart(depths, KOLKATA))
    assert_series(chart, per_subject(depths, "queue", "messages"), KOLKATA)


def check_workers_online(pulse, figures, store):
    frame = over_time.workers_over_time_frame(figures)
    chart = drawn(charts.workers_online_chart(frame, PARIS))
    assert_series(chart, {"": (frame, "online")}, PARIS)
    assert chart.spec["mark"]["interpolate"] == "step-after", "a count holds until the next"


def check_pool_utilization(pulse, figures, store):
    frame = over_time.workers_over_time_frame(figures)
    chart = drawn(charts.pool_utilization_chart(frame, PARIS))
    assert_series(chart, {"": (frame, "utilization")}, PARIS)
    assert chart.encoding["y"]["axis"]["labelExpr"].endswith("'%'")


def check_worker_figure(pulse, figures, store, figure):
    assert (figures[figure].fillna(0) != 0).any()
    chart = drawn(charts.worker_figure_chart(figures, KOLKATA, figure))
    assert_series(chart, per_subject(figures, "worker", figure), KOLKATA)
    assert chart.title("y") == charts.WORKER_FIGURES[figure]


CHECKS = {
    "pulse_chart": [check_pulse],
    "queue_depth_chart": [check_queue_depth],
    "workers_online_chart": [check_workers_online],
    "pool_utilization_chart": [check_pool_utilization],
    "worker_figure_chart": [
        lambda *a: check_worker_figure(*a, figure="active"),
        lambda *a: check_worker_figure(*a, figure="load"),
        lambda *a: check_worker_figure(*a, figure="main_peak_rss_mib"),
    ],
}


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(check, id=f"{chart}-{i}")
        for chart, checks in CHECKS.items()
        for i, check in enumerate(checks)
    ],
)
def test_chart_draws_exactly_its_frame(check, pulse, figures, store):
    check(pulse, figures, store)


def test_memory_is_labelled_as_the_main_process_and_never_as_the_workers():
    title = charts.WORKER_FIGURES["main_peak_rss_mib"]
    assert "main process" in title
    assert "cpu" not in " ".join(charts.WORKER_FIGURES.values()).lower()
