"""A queue's outlook (``lib.queue_outlook``): its consumers, the oldest waiting age and the drain
estimate, each from counts a careful person can check by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.queue_outlook import (
    NOT_DRAINING,
    age_text,
    consumers_frame,
    drain_estimate,
    duration_text,
    oldest_waiting,
)
from lib.store.waiting import QueueFlow

NOW = 1_800_000_000.0


def workers(*rows: tuple[str, bool, str | None, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["worker", "online", "queues", "active"])
    frame["last_heartbeat"] = pd.Timestamp(NOW, unit="s", tz="UTC")
    return frame


def test_the_consumers_are_the_online_workers_listing_the_queue_with_their_links():
    frame = consumers_frame(
        workers(
            ("w2@h", True, "default, q", 1),
            ("w1@h", True, "q", 0),
            ("off@h", False, "q", 0),  # offline: consumes nothing now
            ("other@h", True, "qq, default", 2),  # a name containing "q" is not "q"
            ("none@h", True, None, 0),
        ),
        "q",
    )
    assert frame["worker"].tolist() == ["w1@h", "w2@h"]
    assert frame["link"].tolist() == ["workers?worker=w1%40h", "workers?worker=w2%40h"]
    assert frame["active"].tolist() == [0, 1]


@pytest.mark.parametrize("given", [None, pd.DataFrame()], ids=["no frame", "no workers"])
def test_without_workers_a_queue_has_no_consumers(given):
    frame = consumers_frame(given, "q")
    assert frame.empty and list(frame.columns) == ["worker", "link", "active", "last_heartbeat"]


@pytest.mark.parametrize(
    ("depth", "sent", "flow", "text", "why"),
    [
        (5, NOW - 250, QueueFlow(0, 1, 1), "4 min 10 s", "oldest PENDING task's sent time"),
        (0, None, QueueFlow(3, 3, 3), "—", "no task waiting"),
        (0, NOW - 250, QueueFlow(3, 3, 3), "—", "no task waiting"),  # its events were lost
        (5, None, QueueFlow(3, 0, 0), "—", "no sent events seen"),
        (None, None, QueueFlow(0, 0, 0), "—", "no sent events seen"),
        (5, None, QueueFlow(3, 3, 3), "—", "no waiting task of this queue is in the store"),
    ],
    ids=[
        "sent",
        "empty",
        "empty, a stale PENDING task",
        "events off",
        "depth unknown, events off",
        "not in the store",
    ],
)
def test_the_oldest_waiting_age_or_why_not(depth, sent, flow, text, why):
    figure = oldest_waiting(depth, sent, flow, NOW)
    assert figure.text == text and why in figure.why
    assert figure.known is (text != "—")


@pytest.mark.parametrize(
    ("depth", "flow", "then", "text", "why"),
    [
        # 120 consumed, 60 sent in 10 min: net 6/min, 72 waiting → 12 min
        (
            72,
            QueueFlow(120, 60, 150),
            10,
            "drains in about 12 min at the current rate",
            "120 consumed, 60 arrived in 10 min",
        ),
        # no sent events: arrived = consumed + growth = 30 + (90 − 60) = 60 → net −30
        (90, QueueFlow(30, 0, 0), 60, NOT_DRAINING, "30 consumed, 60 arrived in 10 min"),
        # no sent events, shrinking: arrived = 50 + (20 − 70) = 0 → net 50/10 min → 4 min
        (
            20,
            QueueFlow(50, 0, 0),
            70,
            "drains in about 4 min at the current rate",
            "depth's change",
        ),
        (10, QueueFlow(5, 5, 5), 10, NOT_DRAINING, "arrivals from sent events"),  # net 0
        (0, QueueFlow(5, 5, 5), 0, "empty", "5 consumed"),
        (10, QueueFlow(5, 0, 0), None, "—", "too little history"),
        (None, QueueFlow(5, 0, 0), 3, "—", "depth can't be read"),
    ],
    ids=["sent events", "growing", "depth change", "net zero", "empty", "no history", "no depth"],
)
def test_the_drain_estimate_is_depth_over_the_net_rate(depth, flow, then, text, why):
    figure = drain_estimate(depth, flow, then)
    assert figure.text == text and why in figure.why, figure


@pytest.mark.parametrize(
    ("seconds", "coming", "past"),
    [
        (30, "under a minute", "30 s"),
        (250, "4 min", "4 min 10 s"),
        (720, "12 min", "12 min"),
        (3 * 3600 + 20 * 60, "3 h 20 min", "3 h 20 min"),
        (5 * 86400, "5 days", "5 days 0 h"),
    ],
)
def test_durations_in_words(seconds, coming, past):
    assert (duration_text(seconds), age_text(seconds)) == (coming, past)
