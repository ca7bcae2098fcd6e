"""queue_depth (queue_backlog) and queue_growing on a real store with samples recorded as the
collector records them: thresholds, unknown depths, dead consumers as cause, the window."""

from __future__ import annotations

import pytest

from lib.alerts.model import Match, Rule
from lib.alerts.queues import queue_depth, queue_growing
from lib.alerts.readings import CannotTell
from lib.alerts.rules import load_rule_book
from tests.unit.alerts.polls import NOW, POLL, context, sampled, worker, workers_at

BACKLOG = next(r for r in load_rule_book(None).rules if r.name == "queue_backlog")
GROWING = Rule("queue_growing", "queue_growing", "warning", window_seconds=600)
ALIVE = workers_at(NOW, w1=worker(True, queues=("default", "mail")))


def test_a_depth_above_the_threshold_is_a_condition_exactly_at_it_is_not(store):
    depths = {"default": 101, "mail": 100, "idle": 0}
    (found,) = queue_depth(BACKLOG, context(store, workers=ALIVE, depths=depths))
    assert found.key == "queue_backlog/default" and found.severity == "warning"
    assert found.value == 101 and found.threshold == 100
    assert found.summary == "Queue default has 101 messages waiting (above 100)."
    assert found.link == "queues?queue=default" and found.cause is None


def test_every_consumer_offline_names_its_offline_alert_as_cause(store):
    dead = workers_at(NOW, w1=worker(False, queues=("default",)), w2=worker(True, queues=("mail",)))
    depths = {"default": 500, "mail": 500, "orphan": 500}
    found = {
        c.subject: c for c in queue_depth(BACKLOG, context(store, workers=dead, depths=depths))
    }
    assert found["default"].cause == "worker_offline/w1@host"
    assert "its worker w1@host is offline" in found["default"].summary
    assert found["mail"].cause is None
    assert found["orphan"].cause is None, "a queue with no consumers at all has no worker to blame"
    some = workers_at(NOW, w1=worker(False), w2=worker(True))
    (half,) = queue_depth(BACKLOG, context(store, workers=some, depths={"default": 500}))
    assert half.cause is None, "one consumer still alive: the backlog is its own problem"


def test_an_unknown_depth_repeats_last_polls_condition_and_is_silent_fresh(store):
    memory: dict = {}
    first = queue_depth(
        BACKLOG, context(store, workers=ALIVE, depths={"default": 300}, memory=memory)
    )
    later = context(store, workers=ALIVE, depths={"default": None}, now=NOW + POLL, memory=memory)
    assert queue_depth(BACKLOG, later) == first
    fresh = context(store, workers=ALIVE, depths={"default": None})
    assert queue_depth(BACKLOG, fresh) == []


def test_match_limits_the_queues(store):
    rule = Rule("mail", "queue_depth", "warning", threshold=1, match=Match(queue=("ma*",)))
    depths = {"default": 5, "mail": 5}
    assert [c.subject for c in queue_depth(rule, context(store, depths=depths))] == ["mail"]


def test_depths_not_read_this_poll_cannot_tell(store):
    with pytest.raises(CannotTell, match="not read this poll"):
        queue_depth(BACKLOG, context(store, depths={"default": 500}, read_at=NOW - POLL - 1))
    with pytest.raises(CannotTell, match="not been read"):
        queue_depth(BACKLOG, context(store))


def samples(store, series: dict[float, dict], workers=ALIVE) -> None:
    """Record queue samples: seconds before NOW → depths."""
    for ago, depths in sorted(series.items(), reverse=True):
        sampled(store, NOW - ago, depths, workers)


def test_growing_over_the_whole_window_with_consumers(store):
    samples(store, {600: {"default": 40}, 300: {"default": 90}, 10: {"default": 170}})
    read = context(store, workers=ALIVE, depths={"default": 180})
    (found,) = queue_growing(GROWING, read)
    assert (found.subject, found.value, found.threshold) == ("default", 180, 40)
    assert found.summary == (
        "Queue default grew from 40 to 180 messages over the last 10 min although it has 1 consumer."
    )
    assert found.link == "queues?queue=default"


@pytest.mark.parametrize(
    ("series", "now_depth"),
    [
        ({600: {"default": 40}, 300: {"default": 0}, 10: {"default": 170}}, 180),  # emptied between
        ({600: {"default": 180}, 300: {"default": 90}}, 180),  # not above the depth then
        ({600 - 1: {"default": 40}, 300: {"default": 90}}, 180),  # samples start inside the window
        ({600 + 3 * POLL + 1: {"default": 40}, 300: {"default": 90}}, 180),  # too old to be "then"
    ],
)
def test_not_growing(store, series, now_depth):
    samples(store, series)
    assert (
        queue_growing(GROWING, context(store, workers=ALIVE, depths={"default": now_depth})) == []
    )


def test_a_then_sample_a_little_older_than_the_window_still_counts(store):
    samples(store, {600 + 3 * POLL - 1: {"default": 40}, 300: {"default": 90}})
    read = context(store, workers=ALIVE, depths={"default": 180})
    assert [c.threshold for c in queue_growing(GROWING, read)] == [40]


def test_growing_without_an_online_consumer_is_not_this_rules(store):
    dead = workers_at(NOW, w1=worker(False))
    samples(store, {600: {"default": 40}, 300: {"default": 90}}, workers=dead)
    assert queue_growing(GROWING, context(store, workers=dead, depths={"default": 180})) == []
    none = workers_at(NOW, w1=worker(True, queues=("other",)))
    assert queue_growing(GROWING, context(store, workers=none, depths={"default": 180})) == []
