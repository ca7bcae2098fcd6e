"""Purge marks (``lib.purge_marks``): the task id a kombu message carries, and the sentence a
purged PENDING task shows."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lib.purge_marks import PurgedReply, PurgeMark, purged_column, task_id_of, with_purged

AT = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (json.dumps({"headers": {"id": "t-1", "task": "demo.add"}, "body": "..."}), "t-1"),
        (json.dumps({"headers": {}, "properties": {"correlation_id": "t-2"}}).encode(), "t-2"),
        (b"not json", None),
        (json.dumps([1, 2]), None),
        (json.dumps({"headers": {"id": 7}, "properties": {}}), None),
        (b"\xff\xfe", None),
    ],
    ids=["protocol 2", "correlation id", "not json", "a list", "id not text", "not text"],
)
def test_the_task_id_a_message_carries(message, expected):
    assert task_id_of(message) == expected


def test_only_pending_tasks_a_purge_removed_carry_the_sentence():
    tasks = pd.DataFrame(
        {"uuid": ["a", "b", "c"], "state": ["PENDING", "SUCCESS", "PENDING"]}, index=[4, 5, 6]
    )
    marks = {"a": PurgeMark("jobs", AT, "olga"), "b": PurgeMark("jobs", AT, "olga")}
    said = purged_column(tasks, marks, ZoneInfo("Europe/Paris"))
    assert said.tolist() == [
        "purged from jobs at 2027-01-15 09:00:00 (Europe/Paris) by olga",
        "",  # seen running after the purge (a re-sent retry): its state says what it is
        "",
    ]
    assert said.index.tolist() == [4, 5, 6]


def test_a_purged_reply_is_its_text_with_the_ids_once():
    reply = PurgedReply("2 messages removed", ["x", "y", "x"])
    assert reply == "2 messages removed" and reply.task_ids == ("x", "y")


def test_the_purged_column_comes_after_the_states():
    tasks = pd.DataFrame(
        {"uuid": ["a"], "state": ["PENDING"], "flower_state": ["PENDING"], "name": ["n"]}
    )
    marked = with_purged(tasks, {"a": PurgeMark("jobs", AT, "olga")})
    assert list(marked.columns) == ["uuid", "state", "flower_state", "purged", "name"]
    assert marked.loc[0, "purged"].startswith("purged from jobs at 2027-01-15 08:00:00 (UTC)")
    assert list(tasks.columns) == ["uuid", "state", "flower_state", "name"], "a copy"
