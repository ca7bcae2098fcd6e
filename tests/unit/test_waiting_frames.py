"""The frames of what waits on the workers (``lib.frames.waiting``), from kept rounds."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.frames import waiting as frames

NOW = pd.Timestamp("2026-11-30T19:56:00Z")


def round_of(**workers: dict) -> dict:
    return {"read_at": NOW.timestamp(), "workers": workers}


def scheduled(uuid: str, eta: object, queue: str = "ml", priority: object = 0) -> dict:
    return {"id": uuid, "name": "demo.train", "queue": queue, "eta": eta, "priority": priority}


WAITING = round_of(
    **{
        "w1@a": {
            "read_at": NOW.timestamp(),
            "error": "",
            "scheduled": [
                scheduled("late", "2026-11-30T21:00:00+00:00"),
                scheduled("soon", "2026-11-30T20:00:00.5+01:00", queue="etl", priority=9),
            ],
            "reserved": [{"id": "r1", "name": "demo.add", "queue": "etl"}],
            "active": [{"id": "a1", "name": "demo.add", "queue": "etl", "time_start": 1.8e9}],
            "revoked": ["x1", "x2"],
        },
        "w2@b": {
            "read_at": NOW.timestamp() - 30,
            "error": "No answer within 2 s (FLOWER_TIMEOUT).",
            "scheduled": [scheduled("naive", "2026-11-30T20:30:00", priority="high")],
            "reserved": [{"id": "r2", "name": None, "queue": "ml"}],
            "revoked": ["x3"],
        },
    }
)


def test_scheduled_rows_are_in_eta_order_with_utc_times_and_their_worker():
    frame = frames.scheduled_frame(WAITING)
    assert list(frame.columns) == list(frames.SCHEDULED_COLUMNS)
    assert frame["uuid"].tolist() == ["soon", "naive", "late"]
    assert frame["eta"].tolist() == [
        pd.Timestamp("2026-11-30T19:00:00.5Z"),
        pd.Timestamp("2026-11-30T20:30:00Z"),  # no zone: UTC, Celery's enable_utc default
        pd.Timestamp("2026-11-30T21:00:00Z"),
    ]
    assert frame["worker"].tolist() == ["w1@a", "w2@b", "w1@a"]
    assert frame["priority"].tolist() == [9, pd.NA, 0], "a priority that is no number: missing"


def test_an_eta_that_is_no_time_is_missing_and_sorted_last():
    frame = frames.scheduled_frame(round_of(w={"scheduled": [scheduled("odd", "soon-ish")]}))
    assert frame["eta"].isna().all() and frame["uuid"].tolist() == ["odd"]


def test_reserved_active_and_revoked_per_worker():
    reserved = frames.reserved_frame(WAITING)
    assert list(reserved.columns) == list(frames.RESERVED_COLUMNS)
    assert reserved["uuid"].tolist() == ["r1", "r2"]
    assert reserved["name"].iloc[0] == "demo.add" and pd.isna(reserved["name"].iloc[1])
    assert reserved[["queue", "worker"]].values.tolist() == [["etl", "w1@a"], ["ml", "w2@b"]]
    active = frames.active_frame(WAITING)
    assert list(active.columns) == list(frames.ACTIVE_COLUMNS)
    assert active["started"].tolist() == [pd.Timestamp(1.8e9, unit="s", tz="UTC")]
    revoked = frames.revoked_frame(WAITING)
    assert revoked.values.tolist() == [["w1@a", "x1"], ["w1@a", "x2"], ["w2@b", "x3"]]


def test_filters_per_queue_and_per_worker():
    frame = frames.scheduled_frame(WAITING)
    assert frames.for_queue(frame, "ml")["uuid"].tolist() == ["naive", "late"]
    assert frames.for_worker(frame, "w2@b")["uuid"].tolist() == ["naive"]
    assert frames.for_queue(frames.reserved_frame(WAITING), "nope").empty


@pytest.mark.parametrize("waiting", [None, {}, {"workers": "junk"}, round_of(w="junk")])
def test_nothing_read_yet_gives_empty_frames_with_their_columns(waiting):
    assert list(frames.scheduled_frame(waiting).columns) == list(frames.SCHEDULED_COLUMNS)
    assert frames.reserved_frame(waiting).empty and frames.revoked_frame(waiting).empty
    assert frames.active_frame(waiting).empty and frames.unanswered(waiting) == {}


def test_the_workers_that_did_not_answer_are_named_with_why():
    assert frames.unanswered(WAITING) == {"w2@b": "No answer within 2 s (FLOWER_TIMEOUT)."}


@pytest.mark.parametrize(
    ("eta", "words"),
    [
        ("2026-11-30T20:00:00Z", "in 4 min"),
        ("2026-11-30T19:56:45Z", "in 45 s"),
        ("2026-11-30T22:01:00Z", "in 2 h 05 min"),
        ("2026-12-05T20:00:00Z", "in 5 d"),
        ("2026-11-30T19:53:00Z", "due 3 min ago"),
        (None, "—"),
    ],
    ids=["minutes", "seconds", "hours", "days", "passed", "unknown"],
)
def test_an_eta_in_words(eta, words):
    when = None if eta is None else pd.Timestamp(eta)
    assert frames.until_words(when, NOW) == words
