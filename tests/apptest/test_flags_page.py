"""The Tasks page's flags over a real collector and store: ``?flag=orphaned`` / ``?flag=stuck``
filter to exactly the tasks the definitions name, the counts filter too, a task's detail says
why, and the flagged rows are retried or revoked in bulk through the door."""

from __future__ import annotations

import json
import time

import pytest

from lib import frames
from lib.frames.state import running
from tests.apptest.conftest import console_on, open_page, texts
from tests.factories import task_payload
from tests.recorded import RecordedFlower, recorded

#: Up for ten years: no recorded task started before the workers' processes.
UPTIME = 10 * 365 * 86400


def flower_with_flags() -> RecordedFlower:
    """The recorded Flower with w1@vm offline, 25 quick runs of demo.quick in the last hour,
    a demo.quick STARTED 10 min ago on w2@vm (stuck) and a demo.add STARTED on w1@vm
    (orphaned)."""
    now = time.time()
    script = RecordedFlower()
    quick = {
        f"quick-{i}": task_payload(f"quick-{i}", at=now - 60 * i, name="demo.quick", worker="w2@vm")
        for i in range(1, 26)
    }
    slow = task_payload("slow", "STARTED", at=now - 600, name="demo.quick", worker="w2@vm")
    lost = task_payload("lost", "STARTED", at=now - 30, worker="w1@vm")
    script.extra_tasks = {**quick, "slow": slow, "lost": lost}
    info = recorded("workers")
    for worker in info.values():
        worker["stats"]["uptime"] = UPTIME
    script.answers["workers"] = (200, json.dumps(info), {})
    status = {"w1@vm": False, "w2@vm": True}
    script.answers["workers_status"] = (200, json.dumps(status), {})
    return script


@pytest.fixture
def flagging(monkeypatch, tmp_path):
    with console_on(flower_with_flags(), monkeypatch, tmp_path) as script:
        yield script


def orphans(script: RecordedFlower) -> set[str]:
    """What a careful person finds: every running task (STARTED or a custom state, by the
    effective state) on the offline w1@vm."""
    served = [{**t, "uuid": u} for u, t in {**script.tasks, **script.extra_tasks}.items()]
    tasks = frames.tasks_frame(served)
    run = running(tasks["state"]) & (tasks["worker"] == "w1@vm").fillna(False)
    return set(tasks.loc[run.astype(bool), "uuid"])


def test_flag_orphaned_shows_exactly_the_running_tasks_of_the_offline_worker(flagging):
    at = open_page("Tasks", query={"flag": "orphaned"})
    assert not at.exception
    shown = at.dataframe[0].value
    assert "lost" in orphans(flagging)
    assert set(shown["uuid"]) == orphans(flagging)
    assert set(shown["flag"]) == {"orphaned"}
    assert at.selectbox(key="filter_flag").value == "orphaned"


def test_flag_stuck_and_the_counts_line(flagging):
    at = open_page("Tasks", query={"flag": "stuck"})
    assert not at.exception
    assert at.dataframe[0].value["uuid"].tolist() == ["slow"]
    labels = {b.label for b in at.button}
    assert f"{len(orphans(flagging))} orphaned" in labels and "1 stuck" in labels
    at.button(key="flag_count_orphaned").click().run()
    assert set(at.dataframe[0].value["uuid"]) == orphans(flagging)
    assert at.query_params["flag"] == "orphaned"


def test_the_table_has_a_flag_column_and_no_flag_shows_every_task(flagging):
    at = open_page("Tasks")
    shown = at.dataframe[0].value.set_index("uuid")
    assert shown.loc["lost", "flag"] == "orphaned" and shown.loc["slow", "flag"] == "stuck"
    assert shown.loc["quick-1", "flag"] == ""


def test_a_flagged_task_detail_says_why(flagging):
    at = open_page("Tasks", query={"task": "lost"})
    assert "orphaned: worker w1@vm went offline at" in texts(at)
    at = open_page("Tasks", query={"task": "slow"})
    assert "stuck: running 10 min, 3× p99 is" in texts(at)


def test_an_unknown_flag_is_said_in_plain_words(flagging):
    at = open_page("Tasks", query={"flag": "lost"})
    assert not at.exception
    assert "There is no flag 'lost'" in texts(at)
    assert len(at.dataframe[0].value) > len(orphans(flagging))


def test_orphaned_tasks_are_retried_in_bulk_through_the_door(flagging):
    at = open_page("Tasks", query={"flag": "orphaned"})
    at.checkbox(key="act_on_all").check().run()
    at.button(key="bulk_retry").click().run()
    said = "".join(m.value for m in at.markdown)
    eligible = int(said.split("**")[1])
    assert eligible >= 1, "lost's arguments are plain literals: it is retried"
    assert "orphaned: Flower still says it runs" in texts(at), "why a running task is retried"
    at.button(key="dialog_confirm").click().run()
    sent = [p for p in flagging.posts if "/api/task/send-task/" in p]
    assert len(sent) == eligible and "/api/task/send-task/demo.add" in sent
