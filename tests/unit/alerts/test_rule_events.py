"""events_stopped on a real SQLite store: workers' counters rise, no task event reached Flower."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.alerts.evaluate import evaluate
from lib.alerts.events import events_stopped, processed_rise
from lib.alerts.model import Match
from lib.store import Store
from tests.factories import task_payload
from tests.unit.alerts.history_rules import NOW, context, rule

QUEUES = pd.DataFrame({"queue": [], "messages": [], "consumers": []})


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


def sample(store: Store, at: float, processed: dict[str, int], online: bool = True) -> None:
    workers = pd.DataFrame(
        {"worker": list(processed), "online": online, "processed": list(processed.values())}
    )
    store.record_samples(QUEUES, workers, at)


def counters(store: Store, *values: int, worker: str = "w1@h", online: bool = True) -> None:
    """One sample every 60 s up to ``NOW``, the worker's counter at ``values``."""
    for i, value in enumerate(values):
        sample(store, NOW - 60 * (len(values) - 1 - i), {worker: value}, online)


def stopped(store: Store, **kw) -> list:
    return events_stopped(
        rule("events_stopped", "critical", window_seconds=300), context(store, **kw)
    )


def test_counters_rising_without_task_events_fire_with_what_to_check(store):
    store.upsert_tasks([task_payload("old", "SUCCESS", at=NOW - 900)], now=NOW - 900)
    counters(store, 10, 14, 20)
    (found,) = stopped(store)
    assert (found.rule, found.subject, found.severity) == ("events_stopped", "cluster", "critical")
    assert found.value == 10
    assert found.link == "setup_check"
    assert "-E" in found.summary and "the newest task was received 20:13 UTC" in found.summary


def test_flat_counters_mean_nothing_runs(store):
    counters(store, 20, 20, 20)
    assert stopped(store) == []


def test_a_task_event_in_the_window_means_events_arrive(store):
    counters(store, 10, 14, 20)
    store.upsert_tasks([task_payload("new", "SUCCESS", at=NOW - 120)], now=NOW)
    assert stopped(store) == []


def test_an_event_just_before_the_window_does_not_count(store):
    counters(store, 10, 14, 20)
    store.upsert_tasks([task_payload("late", "SUCCESS", at=NOW - 301)], now=NOW)
    assert len(stopped(store)) == 1


def test_sent_events_alone_do_not_count(store):
    # task_send_sent_event on, workers without -E: producers' task-sent events still arrive.
    counters(store, 10, 14, 20)
    pending = {
        "uuid": "p1",
        "name": "demo.add",
        "state": "PENDING",
        "sent": NOW - 30,
        "timestamp": NOW - 30,
    }
    store.upsert_tasks([pending], now=NOW)
    assert len(stopped(store)) == 1


def test_the_events_window_ends_when_flowers_tasks_last_reached_the_store(store):
    counters(store, 10, 14, 20)
    store.upsert_tasks([task_payload("t", "SUCCESS", at=NOW - 400)], now=NOW - 390)
    assert stopped(store, data_until=NOW - 390) == []
    assert len(stopped(store, data_until=NOW)) == 1


def test_offline_and_unmatched_workers_are_not_read(store):
    counters(store, 10, 14, 20, worker="gone@h", online=False)
    assert stopped(store) == []
    counters(store, 10, 14, 20, worker="batch@h")
    assert len(stopped(store)) == 1
    narrowed = rule("events_stopped", window_seconds=300, match=Match(worker=("w*",)))
    assert events_stopped(narrowed, context(store)) == []


@pytest.mark.parametrize(
    ("values", "rise"),
    [((5, 9, 2, 3), 5), ((7, 7), 0), ((None, 4, 6), 2)],
    ids=["restart", "flat", "missing"],
)
def test_processed_rise_counts_only_rises(values, rise):
    frame = pd.DataFrame(
        {
            "at": range(len(values)),
            "worker": "w1",
            "online": pd.array([True] * len(values), dtype="boolean"),
            "processed": pd.array(values, dtype="Int64"),
        }
    )
    assert processed_rise(frame) == rise


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"flower_down": True}, "Flower is not answering"),
        ({"never_synced": True}, "No tasks have reached"),
    ],
    ids=["flower-silent", "no-task-data"],
)
def test_flower_silent_is_not_events_stopped_but_unknown(store, kw, why):
    counters(store, 10, 14, 20)
    found = evaluate([rule("events_stopped", window_seconds=300)], context(store, **kw))
    assert found.conditions == []
    assert why in found.unknown["events_stopped"]
