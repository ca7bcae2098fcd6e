"""The All clusters frame (one row per cluster, from what its monitor holds) and the cluster a
deep link carries: figures as a careful person counts them, "—" for what is not known."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from lib.frames import over_time
from lib.frames.clusters import (
    CLUSTER_COLUMNS,
    NONE,
    STALE_POLLS,
    ClusterFigures,
    clusters_frame,
    with_cluster,
)

NOW = datetime(2026, 11, 22, 12, 0, 30, tzinfo=UTC).timestamp()


def pulse(processed: int, failed: int) -> pd.DataFrame:
    """An hour's pulse holding ``processed`` finished tasks, ``failed`` of them failures,
    spread over its first minutes (one task a minute)."""
    frame = over_time.pulse_frame(
        pd.DataFrame(columns=["at", "state", "tasks"]), datetime.fromtimestamp(NOW, UTC)
    )
    frame["processed"] = [1] * processed + [0] * (len(frame) - processed)
    frame["failed"] = [1] * failed + [0] * (len(frame) - failed)
    return frame


def workers(*online: bool) -> pd.DataFrame:
    return pd.DataFrame({"worker": [f"w{i}" for i in range(len(online))], "online": online})


def figures(**kw) -> ClusterFigures:
    base = {"name": "prod", "title": "Production", "poll_seconds": 10.0}
    return ClusterFigures(**(base | kw))


def row(**kw) -> dict:
    return clusters_frame([figures(**kw)], NOW).iloc[0].to_dict()


def test_a_healthy_cluster_row_counts_its_last_hour():
    got = row(
        workers=workers(True, True, False),
        pulse=pulse(45, 3),
        depths={"default": 10, "etl": 5, "unknown": None},
        has_broker=True,
        firing=2,
        data_until=NOW - 12,
    )
    assert got == {
        "cluster": "Production",
        "name": "prod",
        "workers_online": "2 of 3",
        "tasks_per_min": "0.8",  # 45 finished ÷ 60 minutes
        "failure_rate_1h": "6.7%",  # 3 ÷ 45
        "backlog": "15",  # a queue whose depth is unknown adds nothing
        "firing": "2",
        "data_age": "12 s ago",
        "problem": "",
        "open": "./?cluster=prod",
    }


def test_rows_keep_the_files_order_and_the_columns():
    frame = clusters_frame([figures(name="b", title="B"), figures(name="a", title="A")], NOW)
    assert list(frame.columns) == list(CLUSTER_COLUMNS)
    assert frame["name"].tolist() == ["b", "a"]


def test_nothing_known_is_a_dash_never_a_zero():
    got = row(problem="Flower has not answered for 2 min (timeout 5 s).")
    assert [got[c] for c in ("workers_online", "tasks_per_min", "failure_rate_1h")] == [NONE] * 3
    assert [got["backlog"], got["firing"], got["data_age"]] == [NONE, NONE, "no data yet"]
    assert got["problem"] == "Flower has not answered for 2 min (timeout 5 s)."
    assert got["open"] == "./?cluster=prod"  # the cluster is still one click away


def test_an_hour_without_finished_tasks_has_no_failure_rate():
    got = row(pulse=pulse(0, 0))
    assert got["tasks_per_min"] == "0.0" and got["failure_rate_1h"] == NONE


@pytest.mark.parametrize(
    ("has_broker", "depths", "shown"),
    [
        (False, {"default": 4}, NONE),  # depths from Flower's counts: not the broker's
        (True, None, NONE),  # not read yet
        (True, {"default": None}, NONE),  # the broker could not say
        (True, {"default": 0}, "0"),
        (True, {"a": 1200, "b": 34}, "1,234"),
    ],
    ids=["no broker", "not read", "unknown depth", "empty", "summed"],
)
def test_backlog_is_the_brokers_waiting_messages(has_broker, depths, shown):
    assert row(has_broker=has_broker, depths=depths)["backlog"] == shown


@pytest.mark.parametrize(
    ("age", "failing", "shown"),
    [
        (5, False, "5 s ago"),
        (STALE_POLLS * 10, False, "30 s ago"),
        (STALE_POLLS * 10 + 1, False, "31 s ago, stale"),
        (5, True, "5 s ago, stale"),
        (3 * 3600, False, "3 h ago, stale"),
    ],
    ids=["fresh", "three polls", "past three polls", "last poll failed", "hours"],
)
def test_data_age_marks_stale_data(age, failing, shown):
    assert row(data_until=NOW - age, failing=failing)["data_age"] == shown


@pytest.mark.parametrize(
    ("link", "cluster", "scoped"),
    [
        ("tasks?task=abc", "b", "tasks?cluster=b&task=abc"),
        ("workers?worker=w1@host", "staging", "workers?cluster=staging&worker=w1@host"),
        ("alerts", "b", "alerts?cluster=b"),
        ("./", "b", "./?cluster=b"),
        ("tasks?task=abc", None, "tasks?task=abc"),
        ("tasks?cluster=a&task=abc", "b", "tasks?cluster=a&task=abc"),
    ],
    ids=["task", "worker", "no query", "overview", "one cluster", "names one already"],
)
def test_a_link_names_the_cluster_first(link, cluster, scoped):
    assert with_cluster(link, cluster) == scoped


def test_a_link_columns_display_text_still_finds_the_id():
    """The link columns show ``task=(.*)$``'s group: the cluster goes before the id."""
    found = re.search(r"task=(.*)$", with_cluster("tasks?task=abc-123", "batch"))
    assert found and found.group(1) == "abc-123"
