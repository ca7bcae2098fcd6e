"""The action door over a real socket: roles, dry run, audit before send, one action per op id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.actions import ACTIONS, ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.flower import FlowerClient
from tests.scripted_server import ScriptedServer

TASKS = {
    "queued": {
        "uuid": "queued",
        "name": "demo.sleep",
        "state": "RECEIVED",
        "routing_key": "default",
        "args": "(30,)",
        "kwargs": "{}",
    },
    "running": {
        "uuid": "running",
        "name": "demo.sleep",
        "state": "STARTED",
        "routing_key": "default",
        "args": "(30,)",
        "kwargs": "{}",
    },
    "failed": {
        "uuid": "failed",
        "name": "demo.echo",
        "state": "FAILURE",
        "routing_key": "etl",
        "args": "('a', 1)",
        "kwargs": "{'k': [1, 2]}",
    },
    "truncated": {
        "uuid": "truncated",
        "name": "demo.echo",
        "state": "FAILURE",
        "routing_key": "etl",
        "args": "('" + "x" * 1019 + "...",
        "kwargs": "{}",
    },
    "done": {
        "uuid": "done",
        "name": "demo.add",
        "state": "SUCCESS",
        "routing_key": "default",
        "args": "(1, 2)",
        "kwargs": "{}",
    },
}
PARAMS = {
    "revoke": ({}, ["queued"]),
    "terminate": ({"signal": "SIGKILL"}, ["running"]),
    "retry": ({}, ["failed"]),
    "pool_grow": ({"n": 2}, ["w1@h"]),
    "pool_shrink": ({"n": 1}, ["w1@h"]),
    "pool_autoscale": ({"min": 1, "max": 3}, ["w1@h"]),
    "pool_restart": ({}, ["w1@h"]),
    "add_consumer": ({"queue": "extra"}, ["w1@h"]),
    "cancel_consumer": ({"queue": "extra"}, ["w1@h"]),
    "shutdown": ({"confirm_name": "w1@h"}, ["w1@h"]),
    "rate_limit": ({"worker": "w1@h", "rate": "10/m"}, ["demo.add"]),
    "time_limit": ({"worker": "w1@h", "soft": 5, "hard": 10}, ["demo.add"]),
    "reveal": ({}, ["failed"]),
}
ROLE_OF = {name: spec.role for name, spec in ACTIONS.items()}


class FakeFlowerScript:
    """Answers like Flower 2.2 and records, for each POST, whether its audit row existed."""

    def __init__(self, audit: AuditLog):
        self.audit = audit
        self.posts: list[tuple[str, dict]] = []
        self.intent_first: list[bool] = []
        self.worker_status = 200
        self.post_answer: tuple | None = None

    def __call__(self, method: str, path: str):
        url = urlsplit(path)
        if method == "GET" and url.path == "/api/workers":
            name = parse_qs(url.query).get("workername", ["?"])[0]
            if name != "w1@h" or self.worker_status != 200:
                return 404, f"Unknown worker '{name}'", {}
            return 200, json.dumps({name: {"stats": {}}}), {}
        rows = self.audit.rows()
        self.intent_first.append(bool(rows) and rows[0].outcome is None)
        if self.post_answer:
            return self.post_answer
        if "send-task" in url.path:
            return 200, json.dumps({"task-id": f"new-{len(self.posts)}", "state": "PENDING"}), {}
        return 200, json.dumps({"message": f"done {url.path}"}), {}


@pytest.fixture
def desk(tmp_path):
    audit = AuditLog(tmp_path / "audit.sqlite3")
    script = FakeFlowerScript(audit)
    with ScriptedServer(script) as server:
        client = FlowerClient(server.url, timeout=3)
        desk = ActionDesk(client, audit, TASKS.get, bulk_limit=3)
        desk.script, desk.server = script, server
        yield desk


def posts(desk) -> list[tuple[str, str]]:
    return [
        (path, body.decode()) for method, path, body, _ in desk.server.requests if method == "POST"
    ]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_checks_the_role_in_lib(desk, action, role):
    params, targets = PARAMS[action]
    result = desk.perform(Actor("ann", role), action, targets, params, op_id=f"{action}-{role}")
    allowed = ["viewer", "operator", "admin"].index(role) >= ["viewer", "operator", "admin"].index(
        ROLE_OF[action]
    )
    row = desk.audit.row(result.audit_id)
    assert row.user == "ann" and row.role == role and row.action == action
    if allowed and action == "reveal":  # audited, but nothing to send to Flower
        assert result.outcome == "sent" and posts(desk) == [] and row.outcome == "sent"
    elif allowed:
        assert result.outcome == "sent", result.message
        assert len(posts(desk)) == 1 and desk.script.intent_first == [True]
    else:
        assert result.outcome == "refused" and f"needs the {ROLE_OF[action]} role" in result.message
        assert posts(desk) == [], "a refused action sends nothing"
        assert row.outcome == "refused"


def test_revoke_sends_one_request_per_eligible_task_and_skips_finished(desk):
    preview = desk.preview("revoke", ["queued", "running", "done", "ghost"])
    assert preview.eligible == ("queued", "running")
    assert dict(preview.skipped) == {
        "done": "already finished (SUCCESS)",
        "ghost": "unknown to Flower",
    }
    result = desk.perform(
        Actor("ann", "operator"), "revoke", ["queued", "running", "done"], {}, "op1"
    )
    assert result.outcome == "sent"
    assert [p for p, _ in posts(desk)] == ["/api/task/revoke/queued", "/api/task/revoke/running"]
    assert desk.audit.row(result.audit_id).preview_count == 2


def test_terminate_sends_the_chosen_signal(desk):
    desk.perform(Actor("ann", "operator"), "terminate", ["running"], {"signal": "SIGKILL"}, "op1")
    assert posts(desk) == [("/api/task/revoke/running", "terminate=true&signal=SIGKILL")]


def test_an_unknown_signal_is_refused(desk):
    result = desk.perform(
        Actor("ann", "operator"), "terminate", ["running"], {"signal": "SIGHUP"}, "op1"
    )
    assert result.outcome == "refused" and posts(desk) == []


def test_retry_resends_the_original_call_and_links_old_to_new(desk):
    result = desk.perform(Actor("ann", "operator"), "retry", ["failed"], {}, "op1")
    path, body = posts(desk)[0]
    assert path == "/api/task/send-task/demo.echo"
    assert json.loads(body) == {"args": ["a", 1], "kwargs": {"k": [1, 2]}, "queue": "etl"}
    assert result.links == {"failed": "new-0"}
    assert desk.audit.retry_links("failed") == {"retried_as": ["new-0"], "retry_of": []}
    assert desk.audit.retry_links("new-0") == {"retried_as": [], "retry_of": ["failed"]}


def test_retry_of_truncated_args_is_refused_and_nothing_is_sent(desk):
    result = desk.perform(Actor("ann", "operator"), "retry", ["truncated"], {}, "op1")
    assert result.outcome == "refused" and "truncated" in result.message
    assert posts(desk) == []


def test_bulk_retry_preview_says_what_is_skipped(desk):
    preview = desk.preview("retry", ["failed", "truncated", "queued"])
    assert preview.count == 1
    reasons = dict(preview.skipped)
    assert "truncated" in reasons["truncated"] and "only failed" in reasons["queued"]


def test_the_same_op_id_acts_once(desk):
    actor = Actor("ann", "operator")
    first = desk.perform(actor, "revoke", ["queued"], {}, "same-click")
    again = desk.perform(actor, "revoke", ["queued"], {}, "same-click")
    assert len(posts(desk)) == 1
    assert len(desk.audit.rows()) == 1
    assert again.audit_id == first.audit_id and again.outcome == "sent"


def test_bulk_limit(desk):
    result = desk.perform(Actor("ann", "admin"), "revoke", ["a", "b", "c", "d"], {}, "op1")
    assert result.outcome == "refused" and "bulk limit of 3" in result.message


def test_worker_actions_refresh_workers_first_and_refuse_unknown_ones(desk):
    desk.perform(Actor("ann", "admin"), "pool_grow", ["w1@h"], {"n": 1}, "op1")
    methods = [(m, p.split("?")[0]) for m, p, _, _ in desk.server.requests]
    assert methods == [("GET", "/api/workers"), ("POST", "/api/worker/pool/grow/w1@h")]
    assert "refresh=1" in desk.server.requests[0][1]
    result = desk.perform(Actor("ann", "admin"), "pool_grow", ["ghost@h"], {"n": 1}, "op2")
    assert result.outcome == "refused" and "does not know worker" in result.message


def test_shutdown_needs_the_typed_name(desk):
    result = desk.perform(
        Actor("ann", "admin"), "shutdown", ["w1@h"], {"confirm_name": "w1"}, "op1"
    )
    assert result.outcome == "refused" and posts(desk) == []


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("pool_grow", {"n": 0}),
        ("pool_autoscale", {"min": 4, "max": 2}),
        ("add_consumer", {"queue": " "}),
        ("rate_limit", {"worker": "w1@h", "rate": "fast"}),
        ("time_limit", {"worker": "w1@h", "soft": 10, "hard": 5}),
    ],
    ids=["grow-0", "min>max", "blank-queue", "bad-rate", "soft>hard"],
)
def test_bad_parameters_are_refused(desk, action, params):
    target = ["demo.add"] if action in ("rate_limit", "time_limit") else ["w1@h"]
    assert desk.perform(Actor("ann", "admin"), action, target, params, "op1").outcome == "refused"
    assert posts(desk) == []


def test_flowers_403_reason_is_kept_as_failed(desk):
    desk.script.post_answer = (
        403,
        "Failed to autoscale 'w1@h' worker: ValueError('Autoscale not enabled')",
        {},
    )
    result = desk.perform(
        Actor("ann", "admin"), "pool_autoscale", ["w1@h"], {"min": 1, "max": 2}, "op1"
    )
    row = desk.audit.row(result.audit_id)
    assert result.outcome == "failed" and "Autoscale not enabled" in result.message
    assert row.http_status == 403 and row.outcome == "failed"


def test_a_crash_between_intent_and_send_leaves_outcome_unknown(tmp_path):
    db = tmp_path / "audit.sqlite3"
    code = (
        f"import os, sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from lib.audit import AuditLog\n"
        f"AuditLog({str(db)!r}).record_intent('op-crash', 'ann', 'operator', 'revoke', ['t1'], {{}}, 1)\n"
        "os._exit(9)  # the process dies before the request and the outcome\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 9
    rows = AuditLog(db).rows()
    assert len(rows) == 1 and rows[0].outcome is None and rows[0].outcome_text == "outcome unknown"
    assert AuditLog(db).frame()["outcome"].tolist() == ["outcome unknown"]
