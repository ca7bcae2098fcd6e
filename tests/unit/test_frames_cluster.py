"""Frames of the cluster around the tasks: workers, queues and the Overview's KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pandas as pd
import pytest

from lib import frames, trends
from tests import factories

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp()

#: Successes run 0.9 s here, so a duration taken from the wrong field would show.
task_payload = partial(factories.task_payload, at=T0 - 60, runtime=0.9)
#: A job terminated mid-PROGRESS: Flower keeps PROGRESS and sets ``revoked`` (test_frames.py).
TERMINATED_IN_PROGRESS = task_payload("job", "PROGRESS", revoked=T0 - 30, timestamp=T0 - 30)


def test_overview_kpis_by_hand():
    tasks = [task_payload(f"s{i}", "SUCCESS", runtime=float(i + 1)) for i in range(4)]  # 1,2,3,4 s
    tasks.append(task_payload("f1", "FAILURE"))  # duration 1.0
    tasks.append(task_payload("old", "FAILURE", at=T0 - 2 * 86400))  # outside the 24 h window
    tasks.append(task_payload("run", "STARTED"))
    workers = frames.workers_frame([], {}, {"w1@h": True, "w2@h": False})
    kpi = frames.overview_kpis(frames.tasks_frame(tasks), workers, 7, NOW)
    assert (kpi["workers_online"], kpi["workers_total"]) == (1, 2)
    assert kpi["processed"] == 5 and kpi["failed"] == 1
    assert kpi["error_rate"] == pytest.approx(20.0)
    assert kpi["avg_runtime"] == pytest.approx((1 + 2 + 3 + 4 + 1) / 5)
    # linear interpolation over [1, 1, 2, 3, 4]: position 0.95 * 4 = 3.8 → 3 + 0.8 * (4 - 3)
    assert kpi["p95_runtime"] == pytest.approx(3.8)
    assert kpi["backlog"] == 7
    assert kpi["holds_less_than_window"] is False and kpi["oldest_task"] is None


def test_overview_kpis_empty_and_short_history():
    empty = frames.overview_kpis(frames.tasks_frame([]), frames.workers_frame([]), None, NOW)
    assert empty["processed"] == 0 and empty["error_rate"] is None and empty["p95_runtime"] is None
    recent = frames.tasks_frame([task_payload("a", at=T0 - 600)])
    kpi = frames.overview_kpis(recent, frames.workers_frame([]), None, NOW)
    assert kpi["holds_less_than_window"] is True
    assert kpi["oldest_task"] == trends.held_since(recent, NOW - timedelta(days=1))
    assert kpi["oldest_task"] == recent["timestamp"].iloc[0]  # the task's last event


def test_workers_frame_keeps_offline_workers_and_reads_pool_and_queues():
    summaries = [
        {
            "hostname": "w1@h",
            "status": True,
            "active": 2,
            "processed": 40,
            "loadavg": [0.5, 0.4, 0.3],
            "heartbeats": [T0 - 4, T0 - 2],
            "pid": 11,
            "sw_ident": "py-celery",
            "sw_ver": "5.7.0",
        },
        {
            "hostname": "w2@h",
            "status": False,
            "active": 0,
            "processed": 7,
            "heartbeats": [T0 - 300],
        },
    ]
    info = {
        "w1@h": {
            "stats": {
                "pool": {
                    "implementation": "celery.concurrency.prefork:TaskPool",
                    "max-concurrency": 4,
                },
                "uptime": 99,
            },
            "active_queues": [{"name": "ml"}, {"name": "default"}],
        }
    }
    df = frames.workers_frame(summaries, info, {"w1@h": True}, now=T0).set_index("worker")
    assert list(df.index) == ["w1@h", "w2@h"]
    assert bool(df.loc["w1@h", "online"]) and not bool(df.loc["w2@h", "online"])
    assert df.loc["w1@h", "heartbeat_age"] == pytest.approx(2.0)
    assert df.loc["w2@h", "heartbeat_age"] == pytest.approx(300.0)
    assert df.loc["w1@h", "pool"] == "TaskPool" and df.loc["w1@h", "concurrency"] == 4
    assert df.loc["w1@h", "queues"] == "default, ml"
    assert df.loc["w1@h", "load_1m"] == 0.5 and pd.isna(df.loc["w2@h", "load_1m"])
    assert df.loc["w1@h", "version"] == "py-celery 5.7.0"


def test_queues_frame_counts_consumers_running_and_rate():
    workers = frames.workers_frame(
        [{"hostname": "w1@h", "status": True}, {"hostname": "w2@h", "status": False}],
        {
            "w1@h": {"active_queues": [{"name": "default"}]},
            "w2@h": {"active_queues": [{"name": "ml"}]},
        },
    )
    tasks = frames.tasks_frame(
        [task_payload(f"d{i}", at=T0 - 30) for i in range(3)]
        + [task_payload("r", "STARTED", routing_key="ml", at=T0 - 5)]
        + [{"uuid": "no-route", "name": None, "state": None, "timestamp": T0}]
    )
    df = frames.queues_frame({"default": 4, "ml": 9}, workers, tasks, NOW).set_index("queue")
    assert df.loc["default", "messages"] == 4 and df.loc["default", "consumers"] == 1
    assert df.loc["ml", "consumers"] == 0, "an offline worker consumes nothing"
    assert df.loc["ml", "running"] == 1
    assert df.loc["default", "received_per_min"] == pytest.approx(3 / 10)
    assert df.loc["default", "avg_wait"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("consumers", "messages", "idle"),
    [(0, 3, True), (1, 3, False), (0, 0, False), (0, None, False)],
    ids=["waiting-unconsumed", "consumed", "empty", "depth-unknown"],
)
def test_idle_queues_are_the_ones_with_messages_and_no_consumer(consumers, messages, idle):
    queues = pd.DataFrame(
        {"queue": ["q", "busy"], "messages": [messages, 5], "consumers": [consumers, 2]}
    )
    assert frames.idle_queues(queues) == (["q"] if idle else [])


def test_queue_running_counts_custom_states_but_not_a_terminated_job():
    # Contract: running is STARTED or a custom state; a job terminated mid-PROGRESS is REVOKED.
    workers = frames.workers_frame([{"hostname": "w2@h", "status": True}], {})
    tasks = frames.tasks_frame(
        [
            task_payload("started", "STARTED", routing_key="ml"),
            task_payload("training", "PROGRESS", routing_key="ml"),
            {**TERMINATED_IN_PROGRESS, "routing_key": "ml"},
            task_payload("done", "SUCCESS", routing_key="ml"),
            task_payload("waiting", "RECEIVED", routing_key="ml"),
        ]
    )
    df = frames.queues_frame({"ml": 0}, workers, tasks, NOW).set_index("queue")
    assert df.loc["ml", "running"] == 2


def test_odd_worker_values_are_text_or_blank_and_named():
    summaries = [
        {"hostname": "w1@h", "loadavg": {"1m": 5.0}, "heartbeats": "often", "active": [1]},
        {"hostname": "w2@h", "pid": "abc", "sw_ident": "py-celery", "sw_ver": {"major": 5}},
        ["not", "a", "row"],
    ]
    info = {
        "w1@h": {"stats": ["a list"]},
        "w2@h": {"stats": {"rusage": [1, 2]}, "active_queues": [{"name": 7}, "etl", None]},
        "w3@h": ["a list where a dict was"],
    }
    odd = frames.OddValues("worker")
    df = frames.workers_frame(summaries, info, {"w1@h": "yes", "w2@h": True}, T0, odd)
    df = df.set_index("worker")
    assert list(df.index) == ["w1@h", "w2@h", "w3@h"]
    assert pd.isna(df.loc["w1@h", "load_1m"]) and pd.isna(df.loc["w1@h", "active"])
    assert not df.loc["w1@h", "online"]  # "yes" is not a heartbeat verdict
    assert df.loc["w2@h", "version"] == "py-celery {'major': 5}"
    assert df.loc["w2@h", "queues"] == "7, etl"
    assert odd.sentence() == (
        "4 workers had fields of an unexpected type (shown as text, or blank where a number or "
        "time belongs): active, active_queues, heartbeats, inspect info, loadavg, pid, rusage, "
        "stats, status, sw_ver, worker list."
    )


def test_flower_depths_read_odd_names_as_text_and_odd_counts_as_unknown():
    odd = frames.OddValues("queue")
    rows = [{"name": 7, "messages": "lots"}, {"name": ["a"], "messages": 1}, {"name": "ml"}]
    depths = frames.flower_depths(rows, ["default"], odd)
    assert depths == {"default": None, "7": None, "['a']": 1, "ml": None}
    assert odd.sentence().startswith("2 queues had fields of an unexpected type")
    assert odd.sentence().endswith(": messages, name.")


def test_backlog_sums_the_known_depths_and_is_unknown_when_none_is():
    import pandas as pd

    depths = pd.DataFrame({"messages": pd.array([3, None, 4], dtype="Int64")})
    assert frames.backlog(depths) == 7
    unknown = pd.DataFrame({"messages": pd.array([None, None], dtype="Int64")})
    assert frames.backlog(unknown) is None and frames.backlog(None) is None
