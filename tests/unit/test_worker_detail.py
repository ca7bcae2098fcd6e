"""One worker's detail from the workers frame, inspect facts, running tasks and usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from lib import frames
from lib.frames.filters import TaskFilter
from lib.frames.worker_detail import (
    ACTIVE_COLUMNS,
    RangeUsage,
    active_tasks_frame,
    running_filter,
    worker_detail,
)
from lib.frames.worker_facts import facts_by_worker
from lib.trends.usage import worker_usage_frame
from tests.factories import task_payload
from tests.recorded import recorded

NOW = recorded("workers")["w1@vm"]["timestamp"] + 30.0


@pytest.fixture
def workers() -> pd.DataFrame:
    return frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), recorded("workers_status"), NOW
    )


@pytest.fixture
def facts() -> dict:
    return facts_by_worker(recorded("workers"))


def running_tasks() -> pd.DataFrame:
    return frames.tasks_frame(
        [
            task_payload("a", "STARTED", at=NOW - 50, worker="w1@vm"),
            task_payload("b", "PROGRESS", at=NOW - 100, worker="w1@vm", started=None),
            task_payload("c", "STARTED", at=NOW - 10, worker="w2@vm"),
        ]
    )


def test_online_worker_has_status_since_its_process_start_and_its_facts(workers, facts):
    detail = worker_detail("w1@vm", workers, facts, running_tasks(), None, NOW)
    assert detail.known and detail.online is True
    started = facts["w1@vm"].started_at
    assert detail.since == datetime.fromtimestamp(started, UTC)
    assert detail.facts is facts["w1@vm"] and detail.facts.prefetch_count == 4
    row = workers.set_index("worker").loc["w1@vm"]
    assert detail.heartbeat_age == pytest.approx(row["heartbeat_age"])
    assert detail.main_peak_rss_mib == pytest.approx(row["main_peak_rss_mib"])


def test_active_tasks_are_the_workers_running_ones_longest_busy_first(workers, facts):
    active = worker_detail("w1@vm", workers, facts, running_tasks(), None, NOW).active
    assert list(active.columns) == list(ACTIVE_COLUMNS)
    assert active["uuid"].tolist() == ["b", "a"]  # b was received 101.5 s ago, a started 51 s ago
    assert active["since_what"].tolist() == ["received", "started"]
    assert active["busy_for"].tolist() == pytest.approx([101.5, 51.0])
    assert active["task"].tolist() == ["tasks?task=b", "tasks?task=a"]


def test_offline_worker_is_offline_since_its_last_heartbeat(workers, facts):
    workers = workers.assign(online=workers["worker"] != "w2@vm")
    detail = worker_detail("w2@vm", workers, facts, running_tasks().iloc[:0], None, NOW)
    assert detail.online is False and detail.since == detail.last_heartbeat
    assert detail.since is not None and detail.active.empty


def test_unknown_worker_is_said_unknown(workers, facts):
    detail = worker_detail("nobody@x", workers, facts, running_tasks(), None, NOW)
    assert not detail.known and detail.facts is None and detail.active is None


def test_no_inspect_yet_still_shows_the_workers_row(workers):
    detail = worker_detail("w2@vm", workers, None, running_tasks(), None, NOW)
    assert detail.known and detail.facts is None and detail.since is None
    assert detail.active["uuid"].tolist() == ["c"]


def test_facts_alone_make_a_worker_known_with_unknown_status(facts):
    detail = worker_detail("w2@vm", None, facts, running_tasks(), None, NOW)
    assert detail.known and detail.online is None and detail.since is None


def usage_over(tasks: pd.DataFrame, workers: pd.DataFrame, seconds: float) -> RangeUsage:
    """The usage of the last ``seconds`` before NOW as the analytics reads it: the tasks
    placed in the range (finished: at their finish; unfinished: at their receipt)."""
    end = datetime.fromtimestamp(NOW, UTC)
    start = end - timedelta(seconds=seconds)
    placed = tasks["succeeded"].fillna(tasks["received"])
    window = tasks[placed >= start]
    return RangeUsage(worker_usage_frame(window, start, end, workers), start, start, end)


def test_utilization_is_busy_time_over_wall_time_per_slot(workers, facts):
    done = frames.tasks_frame(
        [
            task_payload("d", at=NOW - 20, worker="w2@vm", started=NOW - 120, runtime=100.0),
            task_payload("e", "STARTED", at=NOW - 10, worker="w2@vm"),
        ]
    )
    detail = worker_detail("w2@vm", workers, facts, done, usage_over(done, workers, 200), NOW)
    busy = 100.0 + 11.0  # d from its start to its finish; e from its start to the range's end
    assert detail.usage["busy_seconds"] == pytest.approx(busy)
    assert detail.usage["utilization"] == pytest.approx(100 * busy / 200)
    assert detail.usage["pool_utilization"] == pytest.approx(100 * busy / 200 / 2)


def test_a_task_running_since_before_the_range_is_counted_once_as_trends_count_it(workers, facts):
    # The analytics count it (lib.trends.history, Sources.running): the detail shows that
    # figure, it does not add the task's busy time again.
    long = frames.tasks_frame([task_payload("t", "PROGRESS", at=NOW - 7200, worker="w2@vm")])
    end = datetime.fromtimestamp(NOW, UTC)
    start = end - timedelta(seconds=600)
    counted = worker_usage_frame(long, start, end, workers, window=long.iloc[:0])
    detail = worker_detail(
        "w2@vm", workers, facts, long, RangeUsage(counted, start, start, end), NOW
    )
    assert detail.usage["busy_seconds"] == pytest.approx(600.0)
    assert (detail.usage["utilization"], detail.usage["pool_utilization"]) == (100.0, 50.0)


def test_no_busy_time_in_the_range_is_none(workers, facts):
    nothing = frames.tasks_frame([])
    usage = usage_over(nothing, workers, 600)
    assert worker_detail("w2@vm", workers, facts, nothing, usage, NOW).usage is None


def test_per_slot_falls_back_to_the_inspect_pool_size(facts):
    end = datetime.fromtimestamp(NOW, UTC)
    usage = pd.DataFrame(
        {"worker": ["w1@vm"], "busy_seconds": [60.0], "utilization": [50.0],
         "concurrency": pd.array([None], dtype="Int64"), "pool_utilization": [float("nan")]}
    )  # fmt: skip
    ranged = RangeUsage(usage, end - timedelta(seconds=120), end - timedelta(seconds=120), end)
    detail = worker_detail("w1@vm", None, facts, running_tasks().iloc[:0], ranged, NOW)
    assert detail.usage["concurrency"] == 4 and detail.usage["pool_utilization"] == 12.5


def test_active_tasks_of_an_empty_frame_are_empty():
    active = active_tasks_frame(frames.tasks_frame([]), "w1@vm", NOW)
    assert active.empty and list(active.columns) == list(ACTIVE_COLUMNS)


def test_running_filter_asks_for_started_and_custom_states_on_that_worker():
    wanted = running_filter("w1@vm", ["FAILURE", "PROGRESS", "STARTED", "SUCCESS", "RETRY"])
    assert wanted == TaskFilter(states=("PROGRESS", "STARTED"), workers=("w1@vm",))
    assert running_filter("w1@vm", ["SUCCESS", "PENDING"]) is None
