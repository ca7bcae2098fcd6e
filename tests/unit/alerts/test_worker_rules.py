"""worker_offline and orphaned_tasks on a real store and collector-shaped readings: who is
offline, when a worker is retired, and that a silent Flower is "cannot tell", not "all down"."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.alerts.evaluate import evaluate
from lib.alerts.model import Match, Rule
from lib.alerts.orphans import orphaned_tasks
from lib.alerts.readings import CannotTell
from lib.alerts.rules import load_rule_book
from lib.alerts.workers import worker_offline
from tests.factories import task_payload
from tests.unit.alerts.polls import NOW, POLL, context, worker, workers_at

OFFLINE = Rule("worker_offline", "worker_offline", "critical", for_seconds=30)
ORPHANS = Rule("orphaned_tasks", "orphaned_tasks", "warning")


def test_an_offline_worker_is_one_condition_with_its_silence(store):
    seen = workers_at(NOW, w1=worker(False, silent=45.2), w2=worker(True))
    (found,) = worker_offline(OFFLINE, context(store, workers=seen))
    assert (found.rule, found.subject, found.severity) == ("worker_offline", "w1@host", "critical")
    assert found.summary == "Worker w1@host is offline (no heartbeat for 45 s)."
    assert found.link == "workers?worker=w1@host"
    assert found.value == 45.2 and found.cause is None and found.key == "worker_offline/w1@host"


def test_no_heartbeat_kept_still_says_offline_without_a_value(store):
    (found,) = worker_offline(
        OFFLINE, context(store, workers=workers_at(NOW, w1=worker(False, None)))
    )
    assert found.value is None and "no heartbeat seen" in found.summary


def test_match_limits_the_workers(store):
    seen = workers_at(NOW, w1=worker(False), eu1=worker(False))
    rule = Rule("eu", "worker_offline", "warning", match=Match(worker=("eu*",)))
    assert [c.subject for c in worker_offline(rule, context(store, workers=seen))] == ["eu1@host"]


def test_a_worker_offline_longer_than_forget_after_is_retired(store):
    rule = load_rule_book(None).rules[0]
    assert rule.name == "worker_offline" and rule.options["forget_after"] == 86400
    seen = workers_at(NOW, old=worker(False, 86400.5), new=worker(False, 86399.5))
    assert [c.subject for c in worker_offline(rule, context(store, workers=seen))] == ["new@host"]


@pytest.mark.parametrize(
    ("read_at", "started"),
    [
        (NOW - 5, NOW - 2),  # the last poll began after the workers were read
        (NOW - POLL - 0.5, None),  # this poll's own reading failed: the last is a poll old
    ],
)
def test_flower_silent_this_poll_is_cannot_tell_not_all_offline(store, read_at, started):
    stale = workers_at(read_at, w1=worker(True), w2=worker(True))
    silent = context(store, workers=stale, read_at=read_at, poll_started=started or read_at - 1)
    with pytest.raises(CannotTell, match="Flower did not answer this poll"):
        worker_offline(OFFLINE, silent)
    evaluation = evaluate([OFFLINE, ORPHANS], silent)
    assert evaluation.conditions == []
    assert set(evaluation.unknown) == {"worker_offline", "orphaned_tasks"}
    assert "whether workers are online is unknown" in evaluation.unknown["worker_offline"]


def test_never_read_workers_cannot_tell(store):
    with pytest.raises(CannotTell, match="not been read"):
        worker_offline(OFFLINE, context(store))


def running(uuid: str, worker_name: str, name: str = "demo.sleep") -> dict:
    task = task_payload(uuid, "STARTED", at=NOW - 60, worker=worker_name, name=name)
    task.update(timestamp=NOW - 60)
    return task


def test_orphaned_tasks_per_offline_worker_name_its_offline_alert_as_cause(store):
    tasks = [running("a", "w1@host"), running("b", "w1@host"), running("c", "w2@host")]
    tasks.append(task_payload("done", "SUCCESS", at=NOW - 30, worker="w1@host"))
    store.upsert_tasks(tasks, NOW)
    seen = workers_at(NOW, w1=worker(False, 40), w2=worker(True))
    (found,) = orphaned_tasks(ORPHANS, context(store, workers=seen))
    assert (found.subject, found.value) == ("w1@host", 2)
    assert found.summary == "2 tasks are orphaned on worker w1@host (it is offline)."
    assert found.link == "tasks?flag=orphaned&worker=w1@host"
    assert found.cause == "worker_offline/w1@host"


def test_orphans_of_a_restarted_worker_have_no_cause(store):
    store.upsert_tasks([running("a", "w1@host")], NOW)
    seen = workers_at(NOW, w1=worker(True))
    seen["up_since"] = seen["up_since"] + pd.Timedelta(seconds=86400 - 10)  # restarted 10 s ago
    (found,) = orphaned_tasks(ORPHANS, context(store, workers=seen))
    assert found.cause is None and "restarted after they started" in found.summary
    assert found.summary.startswith("1 task is orphaned")


def test_orphans_threshold_match_and_no_cause_rule(store):
    store.upsert_tasks([running("a", "w1@host"), running("b", "w1@host", "billing.charge")], NOW)
    seen = workers_at(NOW, w1=worker(False))
    read = context(store, workers=seen)
    assert orphaned_tasks(Rule("o", "orphaned_tasks", "info", threshold=2), read) == []
    assert len(orphaned_tasks(Rule("o", "orphaned_tasks", "info", threshold=1), read)) == 1
    billing = Rule("o", "orphaned_tasks", "info", match=Match(task=("billing.*",)))
    assert [c.value for c in orphaned_tasks(billing, read)] == [1]
    alone = Rule("o", "orphaned_tasks", "info", options={"cause_rule": ""})
    assert [c.cause for c in orphaned_tasks(alone, read)] == [None]
