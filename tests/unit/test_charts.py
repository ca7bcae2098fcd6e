"""Charts carry the frames' numbers, at the viewer's wall-clock time, with labels made inert."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from lib import charts

PARIS = ZoneInfo("Europe/Paris")  # UTC+1 in November
BUCKETS = pd.to_datetime(["2026-11-22 11:58", "2026-11-22 11:59"]).tz_localize("UTC")


def x_values(trace) -> list[pd.Timestamp]:
    return [pd.Timestamp(x) for x in np.asarray(trace.x)]


def test_state_chart_stacks_the_counts_at_local_time():
    frame = pd.DataFrame(
        {
            "bucket": BUCKETS.repeat(2),
            "state": ["SUCCESS", "FAILURE"] * 2,
            "tasks": [3, 1, 0, 2],
        }
    )
    fig = charts.state_trend_chart(frame, PARIS)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["SUCCESS", "FAILURE"]
    assert list(traces["SUCCESS"].y) == [3, 0] and list(traces["FAILURE"].y) == [1, 2]
    assert x_values(traces["SUCCESS"]) == [
        pd.Timestamp("2026-11-22 12:58"),
        pd.Timestamp("2026-11-22 12:59"),
    ]
    assert traces["FAILURE"].marker.color == charts.STATE_COLORS["FAILURE"]
    assert fig.layout.xaxis.title.text == "time (Europe/Paris)"


@pytest.mark.parametrize(
    ("label", "shown"),
    [("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"), ("a & b", "a &amp; b"), ("it's", "it's")],
    ids=["tags", "ampersand", "quote-kept"],
)
def test_cluster_labels_are_escaped(label, shown):
    frame = pd.DataFrame(
        {
            "bucket": BUCKETS,
            "name": [label, label],
            "tasks": [1, 2],
            "failure_rate": [0.0, 50.0],
        }
    )
    assert charts.breakdown_chart(frame, PARIS, "name").data[0].name == shown
    assert charts.failure_rate_chart(frame, PARIS, "name").data[0].name == shown


def test_category_chart_says_count_and_share():
    frame = pd.DataFrame(
        {"category": ["memory", "timeout"], "failures": [3, 1], "share": [75.0, 25.0]}
    )
    bar = charts.category_chart(frame).data[0]
    assert list(bar.x) == [3, 1]
    assert list(bar.text) == ["3 (75.0%)", "1 (25.0%)"]


def test_throughput_chart_has_one_line_per_outcome():
    frame = pd.DataFrame(
        {"bucket": BUCKETS, "succeeded_per_s": [0.5, 0.25], "failed_per_s": [0.0, 0.1]}
    )
    fig = charts.throughput_chart(frame, ZoneInfo("UTC"))
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines == {"succeeded": [0.5, 0.25], "failed": [0.0, 0.1]}
