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
    "purge": ({"confirm_name": "celery", "previewed": 3}, ["celery"]),
    "pause": ({}, ["etl"]),
    "resume": ({}, ["etl"]),
    "silence": ({"minutes": 60, "reason": "deploy"}, ["queue_backlog/etl"]),
    "lift_silence": ({"silence_id": 1}, ["queue_backlog/etl"]),
    "acknowledge": ({}, ["worker_offline/w1@h"]),
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
        self.infos: dict[str, dict] = {}  # Flower's own task records, for /api/task/info

    def __call__(self, method: str, path: str):
        url = urlsplit(path)
        if method == "GET" and url.path.startswith("/api/task/info/"):
            info = self.infos.get(url.path.rsplit("/", 1)[-1])
            return (200, json.dumps(info), {}) if info else (404, "", {})
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
    audit = AuditLog(tmp_path / "store.sqlite3")
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
    elif allowed and action == "purge":  # sent to the broker, which this desk has none of
        assert result.outcome == "refused" and "CELERY_BROKER_URL is not set" in result.message
        assert posts(desk) == [] and row.outcome == "refused"
    elif allowed and action in ("pause", "resume"):  # kept in the store, which this desk lacks
        assert result.outcome == "refused" and "store is not available" in result.message
        assert posts(desk) == [] and row.outcome == "refused"
    elif allowed and ACTIONS[action].target == "alert":  # the store's tables, which it lacks
        assert result.outcome == "failed" and "store is not available" in result.message
        assert posts(desk) == [] and row.outcome == "failed"
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
    db = tmp_path / "store.sqlite3"
    code = (
        f"import os, sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from lib.audit import AuditLog\n"
        f"AuditLog({str(db)!r}).claim('op-crash', 'ann', 'operator', 'revoke', ['t1'], {{}}, 1)\n"
        "os._exit(9)  # the process dies before the request and the outcome\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 9
    rows = AuditLog(db).rows()
    assert len(rows) == 1 and rows[0].outcome is None and rows[0].outcome_text == "outcome unknown"
    assert AuditLog(db).frame()["outcome"].tolist() == ["outcome unknown"]


# -- issue 10: readable refusals, the bulk stop rule, per-target outcomes, double retries ------

WAITING = {
    f"w{i}": {"uuid": f"w{i}", "name": "demo.sleep", "state": "RECEIVED", "routing_key": "default"}
    for i in range(10)
}


def bulk_desk(audit: AuditLog, server: ScriptedServer, timeout: float = 3, **kw) -> ActionDesk:
    client = FlowerClient(server.url, timeout=timeout)
    return ActionDesk(client, audit, {**TASKS, **WAITING}.get, bulk_limit=500, **kw)


def test_skip_reasons_are_full_sentences_grouped_by_reason(desk):
    preview = desk.preview("retry", ["failed", "truncated", "queued", "ghost", "other ghost"])
    assert preview.reasons == (
        "1 task skipped: the args Flower shows are truncated or masked ('...'), so the original "
        "values are unknown. Run the workers with result_extended=True and set "
        "CELERY_RESULT_BACKEND so the console reads the real arguments.",
        "1 task skipped: task is RECEIVED: only failed, revoked or succeeded tasks are retried.",
        "2 tasks skipped: unknown to Flower.",
    )


def test_a_failing_flower_stops_a_bulk_action_after_three_failures_in_a_row(tmp_path):
    audit = AuditLog(tmp_path / "store.sqlite3")
    answers = iter([(200, '{"message": "ok"}', {})] * 2 + [(500, "Internal Server Error", {})] * 8)
    with ScriptedServer(lambda method, path: next(answers)) as server:
        desk, seen = bulk_desk(audit, server), []
        targets = [f"w{i}" for i in range(10)]
        result = desk.perform(
            Actor("ann", "operator"),
            "revoke",
            targets,
            {},
            "op-stop",
            progress=lambda *a: seen.append(a),
        )
        assert len(server.requests) == 5, "2 sent, 3 failed, then no more requests"
        assert result.outcome == "partial"
        assert "stopped after 5 of 10: Flower stopped answering" in result.message
        assert "5 not sent" in result.message
        assert result.not_sent == ("w5", "w6", "w7", "w8", "w9")
        assert seen[-1] == (5, 10) and [done for done, _ in seen] == [1, 2, 3, 4, 5]
        outcomes = {t.target: (t.outcome, t.reason) for t in audit.targets(result.audit_id)}
        assert [outcomes[f"w{i}"][0] for i in range(10)] == ["sent"] * 2 + ["failed"] * 3 + [
            "not tried"
        ] * 5
        assert "500" in outcomes["w2"][1] or "server" in outcomes["w2"][1].lower()
        # A rerun of the same operation id sends nothing twice.
        again = desk.perform(Actor("ann", "operator"), "revoke", targets, {}, "op-stop")
        assert len(server.requests) == 5 and again.audit_id == result.audit_id


def test_a_hanging_flower_stops_after_three_timeouts(tmp_path):
    audit = AuditLog(tmp_path / "store.sqlite3")
    with ScriptedServer(lambda method, path: "hang") as server:
        desk = bulk_desk(audit, server, timeout=0.3)
        result = desk.perform(
            Actor("ann", "operator"), "revoke", [f"w{i}" for i in range(10)], {}, "op-hang"
        )
        assert len(server.requests) == 3
        assert result.outcome == "failed" and "stopped after 3 of 10" in result.message
        assert len(result.not_sent) == 7


def test_the_time_budget_stops_a_bulk_action(tmp_path):
    audit = AuditLog(tmp_path / "store.sqlite3")
    now = [0.0]

    def slow_flower(method, path):
        now[0] += 25  # each send "takes" 25 s of the clock the desk reads
        return 200, '{"message": "ok"}', {}

    with ScriptedServer(slow_flower) as server:
        desk = bulk_desk(audit, server, bulk_budget=60, clock=lambda: now[0])
        targets = [f"w{i}" for i in range(10)]
        result = desk.perform(Actor("ann", "operator"), "revoke", targets, {}, "op-budget")
        assert len(server.requests) == 3
        assert result.outcome == "partial" and "stopped after 3 of 10" in result.message
        assert "OPS_BULK_BUDGET_SECONDS" in result.message and "7 not sent" in result.message
        # Sending the rest is a new action (a new operation id) that sends exactly the rest.
        desk.bulk_budget = 600
        rest = desk.perform(Actor("ann", "operator"), "revoke", result.not_sent, {}, "op-rest")
        assert rest.audit_id != result.audit_id
        revoked = [p.rsplit("/", 1)[-1] for _, p, _, _ in server.requests]
        assert sorted(revoked) == sorted(targets)


def test_each_targets_outcome_is_recorded_including_skipped_ones(desk):
    result = desk.perform(Actor("ann", "operator"), "revoke", ["queued", "done"], {}, "op1")
    assert {(t.target, t.outcome) for t in desk.audit.targets(result.audit_id)} == {
        ("queued", "sent"),
        ("done", "skipped"),
    }
    frame = desk.audit.targets_frame("op1")
    assert frame.set_index("target").loc["done", "reason"] == "already finished (SUCCESS)"


def test_over_the_bulk_limit_nothing_is_looked_up(tmp_path):
    looked: list[str] = []

    def lookup(task_id):
        looked.append(task_id)
        return TASKS.get(task_id)

    desk = ActionDesk(
        FlowerClient("http://127.0.0.1:9", timeout=1),
        AuditLog(tmp_path / "a"),
        lookup,
        bulk_limit=3,
    )
    assert desk.limit_refusal(4) == (
        "4 tasks is over the bulk limit of 3 per action (OPS_BULK_LIMIT); narrow the selection."
    )
    result = desk.perform(Actor("ann", "operator"), "retry", ["a", "b", "c", "d"], {}, "op1")
    assert result.outcome == "refused" and "bulk limit of 3" in result.message
    assert looked == []


def test_a_second_retry_of_one_task_needs_the_explicit_again(desk):
    ann = Actor("ann", "operator")
    first = desk.perform(ann, "retry", ["failed"], {}, "op1")
    assert first.links == {"failed": "new-0"}
    earlier = desk.audit.earlier_retries(["failed"])["failed"]
    assert [(e.audit_id, e.new_id, e.user) for e in earlier] == [(first.audit_id, "new-0", "ann")]
    second = desk.perform(ann, "retry", ["failed"], {}, "op2")
    assert second.outcome == "refused"
    assert "already retried as new-0" in second.message and "Retry again anyway" in second.message
    assert len(posts(desk)) == 1
    third = desk.perform(ann, "retry", ["failed"], {"retry_again": [first.audit_id]}, "op3")
    assert third.outcome == "sent" and len(posts(desk)) == 2


def test_two_sessions_retrying_one_task_at_once_send_one_task(tmp_path):
    import threading

    path = tmp_path / "store.sqlite3"
    both_looked = threading.Barrier(2)
    local = threading.local()

    def lookup(task_id):  # hold each session until both have built their preview
        if not getattr(local, "waited", False):
            local.waited = True
            both_looked.wait(10)
        return TASKS.get(task_id)

    sent = []

    def flower(method, path_):
        sent.append(path_)
        return 200, json.dumps({"task-id": f"new-{len(sent)}", "state": "PENDING"}), {}

    with ScriptedServer(flower) as server:
        desks = [
            ActionDesk(FlowerClient(server.url, timeout=3), AuditLog(path), lookup)
            for _ in range(2)
        ]
        results = [None, None]

        def tab(i):
            results[i] = desks[i].perform(
                Actor("ann", "operator"), "retry", ["failed"], {}, f"tab{i}"
            )

        threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert len(sent) == 1, "one task, not two"
    assert sorted(r.outcome for r in results) == ["refused", "sent"]


def test_an_audit_error_after_the_send_is_a_result_not_a_traceback(tmp_path):
    import sqlite3

    path = tmp_path / "store.sqlite3"
    audit = AuditLog(path, timeout=0.2)
    holder: list[sqlite3.Connection] = []

    def flower_then_lock(method, path_):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("BEGIN EXCLUSIVE")  # another process holds the audit file (a lock, a full disk)
        holder.append(db)
        return 200, '{"message": "revoked"}', {}

    with ScriptedServer(flower_then_lock) as server:
        desk = ActionDesk(FlowerClient(server.url, timeout=3), audit, TASKS.get)
        result = desk.perform(Actor("ann", "operator"), "revoke", ["queued"], {}, "op1")
    holder[0].execute("ROLLBACK")
    assert result.outcome == "outcome unknown"
    assert "could not be recorded" in result.message and "queued" in result.message
    assert "sent 1 of 1" in result.message
    row = audit.row(result.audit_id)
    assert row.outcome is None and row.outcome_text == "outcome unknown"


def test_an_audit_file_from_before_per_target_records_keeps_working(tmp_path):
    from lib.audit.legacy import import_legacy_audit
    from tests.legacy_audit import write_legacy_file

    path, store = tmp_path / "audit.sqlite3", f"sqlite:///{tmp_path / 'store.sqlite3'}"
    old = {"id": 1, "op_id": "old", "at": 1.0, "user": "bob", "action": "retry"}
    old |= {"targets": ["failed"], "outcome": "sent", "links": {"failed": "new-old"}}
    write_legacy_file(path, [old], per_target=False)  # as the version before issue 10 wrote it
    assert import_legacy_audit(store, path).rows == 1
    audit = AuditLog(store)
    assert [e.new_id for e in audit.earlier_retries(["failed"])["failed"]] == ["new-old"]
    assert audit.targets_frame("old").empty
    desk = ActionDesk(FlowerClient("http://127.0.0.1:9", timeout=1), audit, TASKS.get)
    result = desk.perform(Actor("ann", "operator"), "retry", ["failed"], {}, "op-new")
    assert result.outcome == "refused" and "already retried as new-old" in result.message


def test_a_task_flower_cannot_be_asked_about_is_skipped_with_the_reason(tmp_path, closed_flower):
    # A selected task the sync no longer holds is looked up in Flower; Flower is down. The dry
    # run is shown in the confirmation dialog: it must say why, not raise into the page.
    held = {"queued": TASKS["queued"]}
    client = FlowerClient(closed_flower, timeout=0.5)

    def lookup(uuid: str) -> dict | None:
        return held.get(uuid) or {**client.task_info(uuid), "uuid": uuid}

    desk = ActionDesk(client, AuditLog(tmp_path / "store.sqlite3"), lookup)
    preview = desk.preview("revoke", ["queued", "evicted"])
    assert preview.eligible == ("queued",)
    ((task, why),) = preview.skipped
    assert task == "evicted" and "could not be looked up" in why and "Flower" in why
    result = desk.perform(Actor("ann", "operator"), "revoke", ["evicted"], {}, op_id="gone")
    assert result.outcome == "refused" and "could not be looked up" in result.message


@pytest.fixture
def closed_flower() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_the_dialogs_sample_shows_the_effective_state(tmp_path):
    # Terminated mid-PROGRESS: Flower keeps PROGRESS with `revoked` set; the Tasks table says
    # REVOKED, so the confirmation's sample must too (a second terminate stays possible).
    job = {"uuid": "job", "name": "ml.fit", "state": "PROGRESS", "revoked": 1.7e9}
    desk = ActionDesk(
        FlowerClient("http://127.0.0.1:9"), AuditLog(tmp_path / "a"), {"job": job}.get
    )
    preview = desk.preview("terminate", ["job"])
    assert preview.eligible == ("job",)
    assert preview.sample[0]["state"] == "REVOKED"


# -- declarations: one entry per action ------------------------------------------------------


def declare(monkeypatch, name: str, role: str, target: str, send, **fields) -> None:
    """Add one action the way the console does: one declaration, nothing else."""
    from lib.actions import ActionSpec

    label = name.replace("_", " ").capitalize()
    monkeypatch.setitem(ACTIONS, name, ActionSpec(name, label, role, target, send=send, **fields))


def test_a_new_action_is_one_declaration(desk, monkeypatch):
    def needs_a_reason(targets, params):
        return "" if params.get("reason") else "Say why."

    def restart(cluster, target, params):
        return cluster.client.pool_restart(target)

    declare(monkeypatch, "ping_pool", "admin", "worker", restart, checks=(needs_a_reason,))
    admin = Actor("ann", "admin")
    refused = desk.perform(admin, "ping_pool", ["w1@h"], {}, "op-bad")
    assert refused.outcome == "refused" and refused.message == "Say why." and posts(desk) == []
    sent = desk.perform(admin, "ping_pool", ["w1@h"], {"reason": "stuck"}, "op-ok")
    assert sent.outcome == "sent" and sent.message.startswith("Ping pool: w1@h.")
    assert [path for path, _ in posts(desk)] == ["/api/worker/pool/restart/w1@h"]
    assert desk.audit.row(sent.audit_id).action == "ping_pool"
    viewer = desk.perform(Actor("vic", "operator"), "ping_pool", ["w1@h"], {"reason": "x"}, "v")
    assert "needs the admin role" in viewer.message


def test_a_task_actions_eligibility_is_its_declaration(desk, monkeypatch):
    def only_sleeps(cluster, task):
        return "" if task["name"] == "demo.sleep" else "not a sleep"

    def revoke(cluster, target, params):
        return cluster.client.revoke(target)

    declare(monkeypatch, "nudge", "operator", "task", revoke, why_not=only_sleeps, past="nudged")
    preview = desk.preview("nudge", ["queued", "done"])
    assert preview.eligible == ("queued",) and preview.reasons == ("1 task skipped: not a sleep.",)
    refused = desk.perform(Actor("ann", "operator"), "nudge", ["done"], {}, "op1")
    assert refused.message == "None of the selected tasks can be nudged: not a sleep"


def test_every_declaration_is_complete():
    from lib.actions import control_groups

    assert set(PARAMS) == set(ACTIONS), "every action has a test case here"
    for spec in ACTIONS.values():
        assert spec.target in ("task", "worker", "task_type", "queue", "alert"), spec.name
        assert spec.role in ("operator", "admin"), spec.name
        params = [item.param for item in (*spec.form, *spec.asks)]
        assert len(params) == len(set(params)), f"{spec.name} asks for a parameter twice"
        assert (spec.target in ("task", "queue", "alert")) == (not spec.group), spec.name
    assert list(control_groups()) == ["Pool", "Consumers", "Task limits", "Shut down"]


@pytest.mark.parametrize("action", [a for a, spec in ACTIONS.items() if spec.checks])
def test_the_test_parameters_pass_every_declared_check(action):
    params, targets = PARAMS[action]
    assert ACTIONS[action].refusal(targets, params) == ""


# -- tasks Flower no longer holds (the store keeps them, ``in_flower`` False) -----------------

GONE = {
    "gone-running": {**TASKS["running"], "uuid": "gone-running", "in_flower": False},
    "gone-masked": {
        **TASKS["failed"],
        "uuid": "gone-masked",
        "kwargs": "{'password': '***'}",  # as the store keeps it: masked at rest
        "in_flower": False,
    },
    "gone-cut": {
        **TASKS["failed"],
        "uuid": "gone-cut",
        "args": "('" + "x" * 1070 + " …[cut by the store]",
        "in_flower": False,
    },
    "gone-whole": {**TASKS["failed"], "uuid": "gone-whole", "in_flower": False},
}


@pytest.fixture
def gone_desk(desk):
    desk.lookup_task = {**TASKS, **GONE}.get
    return desk


def test_revoke_of_a_task_flower_no_longer_holds_is_broadcast_and_said_first(gone_desk):
    preview = gone_desk.preview("revoke", ["gone-running", "queued"])
    assert preview.eligible == ("gone-running", "queued") and preview.gone == ("gone-running",)
    assert "broadcast to the workers by id" in ACTIONS["revoke"].gone
    result = gone_desk.perform(Actor("ann", "operator"), "revoke", ["gone-running"], {}, "op1")
    assert result.ok and posts(gone_desk)[0][0] == "/api/task/revoke/gone-running"
    assert gone_desk.audit.rows()[0].outcome == "sent"


@pytest.mark.parametrize("task", ["gone-masked", "gone-cut"])
def test_retry_of_a_gone_task_with_masked_or_cut_arguments_is_refused(gone_desk, task):
    result = gone_desk.perform(Actor("ann", "operator"), "retry", [task], {}, "op1")
    assert result.outcome == "refused"
    assert "Flower no longer holds this task" in result.message
    assert "result backend" in result.message and "result_extended=True" in result.message
    assert posts(gone_desk) == []
    assert gone_desk.audit.rows()[0].outcome == "refused", "audited as today"


def test_retry_of_a_gone_task_with_whole_stored_arguments_resends_them(gone_desk):
    result = gone_desk.perform(Actor("ann", "operator"), "retry", ["gone-whole"], {}, "op1")
    assert result.ok
    path, body = posts(gone_desk)[0]
    assert path == "/api/task/send-task/demo.echo"
    assert json.loads(body) == {"args": ["a", 1], "kwargs": {"k": [1, 2]}, "queue": "etl"}


def test_reveal_of_a_gone_task_is_refused_the_store_keeps_masked_values(gone_desk):
    result = gone_desk.perform(Actor("ann", "admin"), "reveal", ["gone-whole"], {}, "op1")
    assert result.outcome == "refused" and "store keeps only masked values" in result.message
    assert gone_desk.perform(Actor("ann", "admin"), "reveal", ["failed"], {}, "op2").ok


def test_retry_of_a_held_task_whose_stored_text_is_masked_asks_flower(gone_desk):
    # The store masked the kwargs at rest; Flower still holds the task with its own text.
    stored = {**TASKS["failed"], "uuid": "held-masked", "kwargs": "{'password': '***'}"}
    gone_desk.lookup_task = {"held-masked": {**stored, "in_flower": True}}.get
    gone_desk.script.infos["held-masked"] = {**stored, "kwargs": "{'password': 'hunter2'}"}
    result = gone_desk.perform(Actor("ann", "operator"), "retry", ["held-masked"], {}, "op1")
    assert result.ok, result.message
    body = json.loads(posts(gone_desk)[0][1])
    assert body["kwargs"] == {"password": "hunter2"}, "the original call, not the masked text"


def test_retry_of_a_held_masked_task_flower_cannot_find_keeps_the_reason(gone_desk):
    stored = {**TASKS["failed"], "uuid": "held-masked", "kwargs": "{'password': '***'}"}
    gone_desk.lookup_task = {"held-masked": stored}.get
    result = gone_desk.perform(Actor("ann", "operator"), "retry", ["held-masked"], {}, "op1")
    assert result.outcome == "refused" and "masked" in result.message
    assert posts(gone_desk) == []
