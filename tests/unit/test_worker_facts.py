"""Worker facts from inspect data: the recorded real payloads, limits, secrets, kept state."""

from __future__ import annotations

import copy
import json

import pytest

from lib.frames.worker_facts import TaskLimits, WorkerFacts, facts_by_worker, worker_facts
from tests.recorded import recorded


def test_recorded_inspect_gives_pool_prefetch_queues_and_types():
    info = recorded("workers")
    facts = facts_by_worker(info)
    w1, w2 = facts["w1@vm"], facts["w2@vm"]
    stats = info["w1@vm"]["stats"]
    assert w1.pool == w2.pool == "prefork"
    assert w1.concurrency == stats["autoscaler"]["current"]  # --autoscale: the scaler's size
    assert w1.autoscale == "2–4" and w2.autoscale is None
    assert w2.concurrency == info["w2@vm"]["stats"]["pool"]["max-concurrency"]
    assert w1.prefetch_count == stats["prefetch_count"] and w1.prefetch_multiplier == 1
    assert w1.queues == ("default", "email", "etl") and w2.queues == ("default", "etl", "ml")
    assert w1.registered == tuple(sorted(info["w1@vm"]["registered"]))
    assert w1.started_at == pytest.approx(info["w1@vm"]["timestamp"] - stats["uptime"])
    assert w1.limits == ()  # the demo sets none: timeouts [0, 0], no annotations


def test_limits_come_from_registered_items_annotations_then_worker_wide():
    info = copy.deepcopy(recorded("workers")["w1@vm"])
    info["registered"] = ["demo.add [rate_limit=10/m time_limit=30]", "demo.echo", "demo.sleep"]
    info["conf"]["task_annotations"] = {
        "demo.add": {"rate_limit": "5/s"},
        "*": {"soft_time_limit": 9},
    }
    info["conf"]["task_default_rate_limit"] = "100/m"
    info["stats"]["pool"]["timeouts"] = [0, 60]
    limits = {lim.task: lim for lim in worker_facts("w1@vm", info).limits}
    assert limits["demo.add"] == TaskLimits("demo.add", "10/m", "30", "9")
    assert limits["demo.echo"] == TaskLimits("demo.echo", "100/m", "60", "9")
    assert worker_facts("w1@vm", info).registered == ("demo.add", "demo.echo", "demo.sleep")


def test_annotations_as_a_list_merge_in_order_and_a_class_is_skipped():
    info = copy.deepcopy(recorded("workers")["w2@vm"])
    info["conf"]["task_annotations"] = [{"demo.add": {"rate_limit": "1/s"}}, "<MyAnnotations>"]
    limits = worker_facts("w2@vm", info).limits
    assert limits == (TaskLimits("demo.add", rate_limit="1/s"),)


def test_only_shown_conf_keys_are_kept_and_secrets_are_scrubbed():
    info = copy.deepcopy(recorded("workers"))
    info["w1@vm"]["conf"]["result_backend"] = "redis://:hunter2@cache:6379/1"
    info["w1@vm"]["active_queues"].append({"name": "q-hunter2"})
    kept = json.dumps(facts_by_worker(info, secrets=["hunter2"])["w1@vm"].to_kept())
    assert "hunter2" not in kept and "cache:6379" not in kept and "q-" in kept


@pytest.mark.parametrize(
    "odd",
    [
        {"stats": "down", "registered": {"a": 1}, "active_queues": [None, 3], "conf": []},
        {"stats": {"pool": {"max-concurrency": "four", "timeouts": "x"}, "prefetch_count": True}},
        {},
    ],
    ids=["wrong-shapes", "wrong-types", "empty"],
)
def test_odd_inspect_values_are_left_out_not_invented(odd):
    facts = worker_facts("w9@h", odd)
    assert facts == WorkerFacts("w9@h")


def test_kept_facts_round_trip_and_odd_kept_values_read_as_none():
    facts = facts_by_worker(recorded("workers"))["w1@vm"]
    assert WorkerFacts.from_kept(json.loads(json.dumps(facts.to_kept()))) == facts
    assert WorkerFacts.from_kept({"pool": "prefork"}) is None
    assert WorkerFacts.from_kept("w1@vm") is None
    partial = WorkerFacts.from_kept({"worker": "w1@vm", "concurrency": "4", "queues": ["a", 1]})
    assert partial == WorkerFacts("w1@vm", queues=("a",))


@pytest.mark.parametrize(
    ("implementation", "name"),
    [
        ("celery.concurrency.prefork:TaskPool", "prefork"),
        ("celery.concurrency.thread:TaskPool", "threads"),
        ("celery.concurrency.solo:TaskPool", "solo"),
        ("mypkg.pools:FancyPool", "FancyPool"),
    ],
)
def test_pool_is_named_as_celery_names_it(implementation, name):
    info = {"stats": {"pool": {"implementation": implementation}}}
    assert worker_facts("w@h", info).pool == name
