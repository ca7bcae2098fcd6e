"""Charts carry the frames' numbers, at the viewer's wall-clock time, with labels as data.

Every chart is checked against the frame it draws, built by the real builders of
``lib/trends.py`` and ``lib/failures.py`` from factory payloads: one series per group (named
as the group, the label verbatim: Vega-Lite draws it as text), x the frame's bucket times as
the viewer's wall clock on a UTC scale and sorted, y exactly the documented column — read
from the chart's Vega-Lite spec and dataset (``tests/vega.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from lib import charts, failures, frames, trends
from tests import factories
from tests.vega import Drawn, drawn

PARIS = ZoneInfo("Europe/Paris")  # UTC+1 in November
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: a half-hour offset shows a wrong conversion
BUCKETS = pd.to_datetime(["2026-11-22 11:58", "2026-11-22 11:59"]).tz_localize("UTC")

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp()
# 11:50:30–12:00 in 1 min buckets: the first bucket has 30 s inside the range, so a rate
# (per second of the bucket inside the range) differs from count ÷ 60 there.
START = NOW - timedelta(minutes=9, seconds=30)
SIZE = trends.bucket_size(START, NOW)
ODD = "<b>x</b> & co"  # a task name and queue: must reach the chart verbatim, never as markup

task = factories.task_payload
PAYLOADS = [
    *(task(f"s{i}", at=T0 - 20 - 55 * i, runtime=0.5 + i) for i in range(10)),
    *(task(f"o{i}", at=T0 - 65 * i, name=ODD, routing_key=ODD, runtime=2.0) for i in range(1, 8)),
    task("q1", at=T0 - 200, name="demo.mail", routing_key="mail", runtime=3.0),
    task("f1", "FAILURE", at=T0 - 100, exception="TimeoutError('read timed out')"),
    task("f2", "FAILURE", at=T0 - 530, exception="ValueError('bad input 7')", name=ODD),
    task("f3", "FAILURE", at=T0 - 400, exception="MemoryError()", routing_key="mail"),
    task("f4", "FAILURE", at=T0 - 40, exception="ValueError('bad input 8')"),
    task("r1", "REVOKED", at=T0 - 300),
    task("p1", "STARTED", at=T0 - 250, received=T0 - 250),
]


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    return trends.window_frame(frames.tasks_frame(PAYLOADS), START, NOW)


@pytest.fixture(scope="module")
def failed(window) -> pd.DataFrame:
    return failures.failures_frame(window, failures.load_rules())


def local_times(buckets: pd.Series, tz: ZoneInfo) -> list[pd.Timestamp]:
    """Bucket starts as the wall-clock times a viewer in ``tz`` reads."""
    return [pd.Timestamp(b).tz_convert(tz).tz_localize(None) for b in buckets]


def per_group(frame: pd.DataFrame, by: str, column: str) -> dict[str, tuple[pd.DataFrame, str]]:
    """The expected series of a chart with one per ``by`` group: the name as is → rows."""
    return {str(g): (frame[frame[by] == g], column) for g in dict.fromkeys(frame[by])}


def assert_time_series(
    chart: Drawn, expected: dict[str, tuple[pd.DataFrame, str]], tz: ZoneInfo
) -> None:
    """One series per expected one, in order; x the rows' buckets in ``tz``, y the column."""
    series = chart.series()
    assert list(series) == list(expected)
    assert len(chart.rows) == sum(len(rows) for rows, _ in expected.values()), "extra rows"
    for name, drawn_rows in series.items():
        rows, column = expected[name]
        xs = chart.times(drawn_rows)
        assert xs == sorted(xs), f"{name}: x runs back in time"
        assert xs == local_times(rows["bucket"], tz), name
        np.testing.assert_array_equal(
            drawn_rows[chart.field("y")].to_numpy(dtype="float64"),
            rows[column].to_numpy(dtype="float64"),
            err_msg=f"{name}: y is not the frame's {column}",
        )
    assert chart.title("x") == f"time ({tz})"


def assert_has_data(frame: pd.DataFrame, column: str) -> None:
    """The fixture must give the test something to see: a non-zero, non-NaN value."""
    assert (frame[column].fillna(0) != 0).any(), column


# -- every chart against the frame it draws ---------------------------------------------------


def check_state_trend(window, failed):
    frame = trends.state_trend_frame(window, START, NOW, SIZE)
    assert set(frame["state"]) == {"SUCCESS", "FAILURE", "REVOKED", "STARTED"}
    assert_time_series(
        drawn(charts.state_trend_chart(frame, KOLKATA)), per_group(frame, "state", "tasks"), KOLKATA
    )


def check_throughput(window, failed):
    frame = trends.trend_frame(window, START, NOW, SIZE)
    assert_has_data(frame, "failed_per_s")
    # The counts differ from the rates, so drawing a count would show.
    assert (frame["succeeded"] != frame["succeeded_per_s"]).any()
    expected = {"succeeded": (frame, "succeeded_per_s"), "failed": (frame, "failed_per_s")}
    chart = drawn(charts.throughput_chart(frame, KOLKATA))
    assert_time_series(chart, expected, KOLKATA)
    assert chart.title("y") == "tasks / s"


def check_failure_rate(window, failed):
    frame = trends.trend_frame(window, START, NOW, SIZE)
    assert frame["failure_rate"].isna().any() and frame["failure_rate"].gt(0).any()
    chart = drawn(charts.failure_rate_chart(frame, KOLKATA))
    assert_time_series(chart, {"": (frame, "failure_rate")}, KOLKATA)
    assert chart.encoding["y"]["axis"]["labelExpr"].endswith("'%'")


def check_failure_rate_by(window, failed, by):
    frame = trends.trend_frame(window, START, NOW, SIZE, by=by, top=2)
    assert trends.OTHER in set(frame[by]) and ODD in set(frame[by])
    assert_time_series(
        drawn(charts.failure_rate_chart(frame, KOLKATA, by)),
        per_group(frame, by, "failure_rate"),
        KOLKATA,
    )


def check_breakdown(window, failed, by):
    frame = trends.trend_frame(window, START, NOW, SIZE, by=by, top=2)
    assert trends.OTHER in set(frame[by]) and ODD in set(frame[by])
    assert_time_series(
        drawn(charts.breakdown_chart(frame, KOLKATA, by)), per_group(frame, by, "tasks"), KOLKATA
    )


def check_runtime_trend(window, failed):
    frame = trends.runtime_trend_frame(window, START, NOW, SIZE, top=2)
    assert trends.ALL in set(frame["name"]) and ODD in set(frame["name"])
    assert frame["p95"].isna().any() and frame["p95"].notna().any()
    assert_time_series(
        drawn(charts.runtime_trend_chart(frame, KOLKATA)), per_group(frame, "name", "p95"), KOLKATA
    )


def check_category_trend(window, failed):
    frame = failures.category_trend_frame(failed, START, NOW, SIZE)
    assert frame["category"].nunique() >= 3
    assert_time_series(
        drawn(charts.category_trend_chart(frame, KOLKATA)),
        per_group(frame, "category", "failures"),
        KOLKATA,
    )


def check_queue_wait(window, failed):
    frame = trends.queue_wait_frame(window)
    assert ODD in set(frame["queue"])
    chart = drawn(charts.queue_wait_chart(frame))
    assert chart.encoding["xOffset"]["field"] == "percentile", "bars grouped, not stacked"
    series = chart.series()
    assert list(series) == ["p50", "p95", "p99"]
    for name, rows in series.items():
        assert rows[chart.field("x")].tolist() == [str(q) for q in frame["queue"]]
        np.testing.assert_array_equal(rows[chart.field("y")].to_numpy("float64"), frame[name])


def check_category(window, failed):
    frame = failures.category_frame(failed)
    assert len(frame) >= 3
    chart = drawn(charts.category_chart(frame))
    assert chart.rows[chart.field("y")].tolist() == [str(c) for c in frame["category"]]
    assert chart.encoding["y"]["sort"] == [str(c) for c in frame["category"]], "the frame's order"
    np.testing.assert_array_equal(chart.rows[chart.field("x")], frame["failures"])


#: Every chart of lib/charts.py with the check(s) of the figure against its frame.
CHECKS: dict[str, list[Callable]] = {
    "state_trend_chart": [check_state_trend],
    "throughput_chart": [check_throughput],
    "failure_rate_chart": [
        check_failure_rate,
        partial(check_failure_rate_by, by="name"),
        partial(check_failure_rate_by, by="queue"),
    ],
    "breakdown_chart": [partial(check_breakdown, by="name"), partial(check_breakdown, by="queue")],
    "runtime_trend_chart": [check_runtime_trend],
    "category_trend_chart": [check_category_trend],
    "queue_wait_chart": [check_queue_wait],
    "category_chart": [check_category],
}


def test_every_chart_is_checked_against_its_frame():
    from tests.unit.test_charts_over_time import CHECKS as OVER_TIME  # the past on screen

    drawn = {name for name in charts.__all__ if name.endswith("_chart")}
    assert drawn == set(CHECKS) | set(OVER_TIME)


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(check, id=f"{chart}-{i}")
        for chart, checks in CHECKS.items()
        for i, check in enumerate(checks)
    ],
)
def test_chart_draws_exactly_its_frame(check, window, failed):
    check(window, failed)


# -- details ----------------------------------------------------------------------------------


def test_state_chart_colours_axis_title_and_bars_spanning_their_bucket():
    frame = pd.DataFrame(
        {
            "bucket": BUCKETS.repeat(2),
            "state": ["SUCCESS", "FAILURE"] * 2,
            "tasks": [3, 1, 0, 2],
        }
    )
    chart = drawn(charts.state_trend_chart(frame, PARIS))
    ok = chart.series()["SUCCESS"]
    paris = [pd.Timestamp("2026-11-22 12:58"), pd.Timestamp("2026-11-22 12:59")]
    assert chart.times(ok) == paris
    assert chart.times(ok, "x2") == [t + pd.Timedelta(minutes=1) for t in paris]
    # Ranged on x, a bar would lie flat (a thin line at its value) unless it stands upright.
    assert chart.spec["mark"]["orient"] == "vertical" and "stack" not in chart.encoding["y"]
    scale = chart.encoding["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "SUCCESS": charts.STATE_COLORS["SUCCESS"],
        "FAILURE": charts.STATE_COLORS["FAILURE"],
    }
    assert chart.title("x") == "time (Europe/Paris)"


def test_times_are_the_viewers_wall_clock_stamped_utc_so_no_browser_shifts_them():
    """Kolkata is UTC+5:30: 11:58 UTC is 17:28 there, and the data says 17:28 in UTC, on a UTC
    scale with UTC tooltips — a browser in any zone shows 17:28."""
    frame = pd.DataFrame({"bucket": BUCKETS, "name": ["a", "a"], "failure_rate": [0.0, 50.0]})
    chart = drawn(charts.failure_rate_chart(frame, KOLKATA, "name"))
    assert chart.rows["bucket"].tolist() == [
        "2026-11-22T17:28:00+00:00",
        "2026-11-22T17:29:00+00:00",
    ]
    assert chart.encoding["x"]["scale"] == {"type": "utc"}
    (tip,) = [t for t in chart.encoding["tooltip"] if t["field"] == "bucket"]
    assert tip["timeUnit"].startswith("utc") and tip["title"] == "time (Asia/Kolkata)"


@pytest.mark.parametrize("label", ["<b>x</b>", "a & b", "it's", "&lt;"], ids=str)
def test_cluster_labels_are_drawn_verbatim_as_data(label):
    """Vega-Lite draws legends as text and its tooltips escape HTML: escaping here would show
    ``&lt;b&gt;``; the label reaches the chart as the cluster sent it."""
    frame = pd.DataFrame(
        {
            "bucket": BUCKETS,
            "name": [label, label],
            "tasks": [1, 2],
            "failure_rate": [0.0, 50.0],
        }
    )
    for chart in (
        charts.breakdown_chart(frame, PARIS, "name"),
        charts.failure_rate_chart(frame, PARIS, "name"),
    ):
        assert list(drawn(chart).series()) == [label]


def test_lines_mark_every_value_break_at_gaps_and_tell_values_on_hover():
    """A series with one value is a point, not nothing; a missing value is a gap."""
    frame = pd.DataFrame({"bucket": BUCKETS, "failure_rate": [float("nan"), 50.0]})
    chart = drawn(charts.failure_rate_chart(frame, PARIS))
    assert chart.spec["mark"]["point"] is True
    assert chart.spec["mark"]["invalid"].startswith("break-paths")
    assert {t["field"] for t in chart.encoding["tooltip"]} == {"bucket", "failure_rate"}


def test_category_chart_says_count_and_share():
    frame = pd.DataFrame(
        {"category": ["memory", "timeout"], "failures": [3, 1], "share": [75.0, 25.0]}
    )
    chart = drawn(charts.category_chart(frame))
    assert chart.rows["failures"].tolist() == [3, 1]
    (text,) = [layer for layer in chart.spec["layer"] if "text" in layer["encoding"]]
    assert chart.rows[text["encoding"]["text"]["field"]].tolist() == ["3 (75.0%)", "1 (25.0%)"]


# -- training curves: drawn from the store's progress samples, checked there ------------------
CHECKS["training_curve_chart"] = [
    "tests/unit/test_training_curves.py::test_the_chart_draws_exactly_its_frame"
]
