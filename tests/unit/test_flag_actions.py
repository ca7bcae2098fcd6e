"""Retry and revoke of flagged tasks through the action door (a real socket, a scripted Flower):
an orphaned task still STARTED in Flower is retried, any other running one is not."""

from __future__ import annotations

import json

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.flower import FlowerClient
from tests.scripted_server import ScriptedServer
from tests.unit.test_actions import TASKS, FakeFlowerScript, posts

OPERATOR = Actor("ann", "operator")
ORPHANED = {"flag": "orphaned", "cause": "offline", "worker": "w1@h"}
FLAGGED = {
    "orphaned": {**TASKS["running"], "uuid": "orphaned", "flag": ORPHANED},
    "progress": {**TASKS["running"], "uuid": "progress", "state": "PROGRESS", "flag": ORPHANED},
    "stuck": {**TASKS["running"], "uuid": "stuck", "flag": {"flag": "stuck", "cause": "stuck"}},
    "running": {**TASKS["running"], "flag": None},
}


@pytest.fixture
def desk(tmp_path):
    audit = AuditLog(tmp_path / "store.sqlite3")
    script = FakeFlowerScript(audit)
    with ScriptedServer(script) as server:
        desk = ActionDesk(FlowerClient(server.url, timeout=3), audit, FLAGGED.get)
        desk.script, desk.server = script, server
        yield desk


def test_bulk_retry_takes_orphaned_tasks_and_skips_other_running_ones(desk):
    preview = desk.preview("retry", ["orphaned", "progress", "stuck", "running"])
    assert preview.eligible == ("orphaned", "progress")
    assert preview.orphaned == ("orphaned", "progress"), "said in the dry run"
    skipped = dict(preview.skipped)
    assert "only failed, revoked or succeeded" in skipped["stuck"]
    assert "only failed, revoked or succeeded" in skipped["running"]
    result = desk.perform(OPERATOR, "retry", ["orphaned", "progress"], {}, "op1")
    assert result.ok, result.message
    sent = [(path, json.loads(body)) for path, body in posts(desk)]
    assert (
        sent
        == [("/api/task/send-task/demo.sleep", {"args": [30], "kwargs": {}, "queue": "default"})]
        * 2
    )


def test_an_orphaned_task_with_masked_stored_text_is_retried_with_flowers_text(desk):
    stored = {**FLAGGED["orphaned"], "kwargs": "{'password': '***'}"}
    desk.lookup_task = {"orphaned": stored}.get
    desk.script.infos["orphaned"] = {
        **TASKS["running"],
        "uuid": "orphaned",
        "kwargs": "{'password': 'pw'}",
    }
    result = desk.perform(OPERATOR, "retry", ["orphaned"], {}, "op1")
    assert result.ok, result.message
    assert json.loads(posts(desk)[0][1])["kwargs"] == {"password": "pw"}


def test_flagged_tasks_are_revoked_in_bulk(desk):
    result = desk.perform(OPERATOR, "revoke", ["orphaned", "stuck"], {}, "op1")
    assert result.ok
    assert [p for p, _ in posts(desk)] == ["/api/task/revoke/orphaned", "/api/task/revoke/stuck"]
