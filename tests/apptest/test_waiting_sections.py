"""Scheduled, reserved and revoked tasks on ``Queues?queue=`` and ``Workers?worker=`` through
AppTest, from a round an external collector kept in the store (``OPS_COLLECTOR=external``):
ETAs in the viewer's timezone with "in N min", a worker that did not answer said by name,
``Revoke`` on a selected row through the dialog (sent, audited), a task's ETA on its detail."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from lib.audit import AuditLog
from lib.collector import Collector
from lib.collector.waiting import waiting_key
from lib.settings import load_settings
from lib.store import Store
from tests.apptest.conftest import open_page, texts
from tests.factories import task_payload

TASK = "eta-task-0001"


def task_tables(at) -> list:
    """The page's tables of tasks (those with a uuid column)."""
    return [d.value for d in at.dataframe if "uuid" in d.value.columns]


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


@pytest.fixture
def seeded(recorded_flower, monkeypatch):
    """The recorded Flower plus a task waiting for its ETA (10 min off), polled into the store
    by a collector (what `./ops collect` does), and a round of the workers' inspect kept."""
    now = time.time()
    eta = iso(now + 600)
    recorded_flower.extra_tasks[TASK] = task_payload(
        TASK, "RECEIVED", at=now, name="demo.train", routing_key="ml", eta=eta, started=None
    )
    settings = load_settings(os.environ, {})
    store = Store.from_settings(settings)
    Collector(settings, store).poll()
    record = {
        "read_at": now,
        "error": "",
        "counts": {"scheduled": 1, "reserved": 1, "active": 0, "revoked": 2},
        "scheduled": [{"id": TASK, "name": "demo.train", "queue": "ml", "eta": eta, "priority": 3}],
        "reserved": [{"id": "res-1", "name": "demo.add", "queue": "ml"}],
        "active": [],
        "revoked": ["gone-1", "gone-2"],
    }
    silent = {**record, "error": "No answer within 2 s (FLOWER_TIMEOUT).", "revoked": []}
    silent["reserved"] = []
    silent["scheduled"] = [{**record["scheduled"][0], "id": "other-1", "queue": "etl"}]
    waiting = {"read_at": now, "workers": {"w1@vm": record, "w2@vm": silent}}
    store.keep(waiting_key("default"), waiting, now)
    store.close()
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    return eta


def test_the_queue_panel_lists_its_scheduled_and_reserved_tasks(seeded):
    at = open_page("Queues", {"queue": "ml"}, tz="Europe/Berlin")
    assert not at.exception
    scheduled = next(v for v in task_tables(at) if "eta" in v.columns)
    assert scheduled["uuid"].tolist() == [TASK], "only this queue's: other-1 is in etl"
    assert scheduled["due"].tolist() in (["in 9 min"], ["in 10 min"]), "10 min off when seeded"
    assert str(scheduled["eta"].dt.tz) == "Europe/Berlin", "in the viewer's timezone"
    assert scheduled["worker"].tolist() == ["w1@vm"]
    reserved = next(v for v in task_tables(at) if v["uuid"].tolist() == ["res-1"])
    assert reserved["queue"].tolist() == ["ml"]
    said = texts(at)
    assert "w2@vm did not answer (No answer within 2 s (FLOWER_TIMEOUT).)" in said


def test_revoke_a_scheduled_task_from_the_queue_panel(seeded, recorded_flower, tmp_path):
    at = open_page("Queues", {"queue": "ml"})
    key = "scheduled_queue_ml"
    assert at.button(key=f"{key}_revoke").disabled, "nothing selected yet"
    at.session_state[key] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key=f"{key}_revoke").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert recorded_flower.posts == [f"/api/task/revoke/{TASK}"]
    (row,) = AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()
    assert (row.action, row.outcome) == ("revoke", "sent")


def test_the_worker_detail_lists_its_scheduled_reserved_and_revoked(seeded):
    at = open_page("Workers", {"worker": "w1@vm"})
    assert not at.exception
    values = task_tables(at)
    assert any(v["uuid"].tolist() == [TASK] and "eta" in v for v in values)
    revoked = next(v for v in values if list(v.columns) == ["worker", "uuid"])
    assert revoked["uuid"].tolist() == ["gone-1", "gone-2"]
    assert "other-1" not in str([v.to_dict() for v in values]), "w2@vm's are not listed"
    assert "w2@vm did not answer" not in texts(at), "another worker's silence is not this one's"
    silent = open_page("Workers", {"worker": "w2@vm"})
    assert "w2@vm did not answer (No answer within 2 s" in texts(silent)


def test_before_any_round_the_sections_say_so(recorded_flower, monkeypatch):
    monkeypatch.setenv("OPS_COLLECTOR", "external")  # and no collector has written the store
    queue = open_page("Queues", {"queue": "ml"})
    worker = open_page("Workers", {"worker": "w1@vm"})
    for at in (queue, worker):
        assert not at.exception
        assert "Not read from the workers yet" in texts(at)


def test_a_task_s_detail_shows_its_eta(seeded):
    at = open_page("Tasks", {"task": TASK}, tz="UTC")
    assert not at.exception
    when = datetime.fromisoformat(seeded).strftime("%Y-%m-%d %H:%M:%S")
    assert any(f"**ETA** {when} UTC (in " in m.value for m in at.markdown), texts(at)
