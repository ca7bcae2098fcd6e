"""Roles per cluster at the action door (issue 17): one actor, two clusters, each desk checking
the role on its own cluster, both writing the one shared audit log with their cluster named.

Real parts: two Flowers over real sockets (``ScriptedServer``, each recording its requests), one
audit log in a real store (SQLite and PostgreSQL), a store per cluster for the alert actions.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.flower import FlowerClient
from lib.store import Store
from tests.alert_rows import Episode, seed
from tests.scripted_server import ScriptedServer

TASKS = {
    "queued": {"uuid": "queued", "name": "demo.sleep", "state": "RECEIVED", "args": "(30,)",
               "kwargs": "{}", "routing_key": "default"},
    "failed": {"uuid": "failed", "name": "demo.echo", "state": "FAILURE", "args": "('a',)",
               "kwargs": "{}", "routing_key": "etl"},
}  # fmt: skip
#: An operator of staging, a viewer everywhere else (``role = { default = "viewer", ... }``).
SAM = Actor("sam", "viewer", (("staging", "operator"),))


def flower(method: str, path: str):
    if "send-task" in path:
        return 200, json.dumps({"task-id": f"new-{time.monotonic_ns()}", "state": "PENDING"}), {}
    return 200, json.dumps({"message": f"done {path}"}), {}


@pytest.fixture
def desks(any_store_url):
    """``{"production": desk, "staging": desk}``: each its own Flower, one shared audit log."""
    audit = AuditLog(any_store_url)
    with ExitStack() as stack:
        made = {}
        for name in ("production", "staging"):
            server = stack.enter_context(ScriptedServer(flower))
            client = FlowerClient(server.url, timeout=3)
            made[name] = ActionDesk(client, audit, TASKS.get, cluster=name)
            made[name].server = server
        yield made


def posts(desk) -> list[str]:
    return [path for method, path, _, _ in desk.server.requests if method == "POST"]


def test_one_actor_is_refused_on_production_and_allowed_on_staging_both_audited(desks):
    production, staging = desks["production"], desks["staging"]
    refused = production.perform(SAM, "revoke", ["queued"], {}, "op-prod")
    assert refused.outcome == "refused"
    assert refused.message == (
        "sam (viewer on production) may not revoke: it needs the operator role."
    )
    allowed = staging.perform(SAM, "revoke", ["queued"], {}, "op-staging")
    assert allowed.outcome == "sent", allowed.message
    assert posts(production) == [], "a refusal sends nothing"
    assert posts(staging) == ["/api/task/revoke/queued"], "the action reached staging's Flower"
    log = staging.audit  # the one log both desks write
    assert production.audit is log
    rows = {r.op_id: r for r in log.rows()}
    assert (rows["op-prod"].cluster, rows["op-prod"].role, rows["op-prod"].outcome) == (
        "production", "viewer", "refused",
    )  # fmt: skip
    assert "viewer on production" in rows["op-prod"].message
    assert (rows["op-staging"].cluster, rows["op-staging"].role, rows["op-staging"].outcome) == (
        "staging", "operator", "sent",
    )  # fmt: skip
    assert [r.op_id for r in log.rows(clusters=["production"])] == ["op-prod"]
    assert log.count(clusters=["staging"]) == 1 and log.count() == 2
    frame = log.frame()
    assert dict(zip(frame["op_id"], frame["cluster"], strict=True)) == {
        "op-prod": "production",
        "op-staging": "staging",
    }


def test_a_request_naming_another_cluster_acts_on_the_desks_own(desks):
    result = desks["staging"].perform(SAM, "revoke", ["queued"], {"cluster": "production"}, "x1")
    assert result.outcome == "sent", result.message
    row = desks["staging"].audit.row(result.audit_id)
    assert (row.cluster, row.role) == ("staging", "operator")
    assert "cluster" not in row.params, "the audited parameters don't name another cluster"
    assert posts(desks["production"]) == []


def test_a_retry_is_held_back_only_by_an_earlier_retry_on_the_same_cluster(desks):
    ada = Actor("ada", "admin")
    first = desks["production"].perform(ada, "retry", ["failed"], {}, "r1")
    assert first.outcome == "sent", first.message
    elsewhere = desks["staging"].perform(ada, "retry", ["failed"], {}, "r2")
    assert elsewhere.outcome == "sent", "another cluster's task of that id is another task"
    again = desks["staging"].perform(ada, "retry", ["failed"], {}, "r3")
    assert again.outcome != "sent" and "already retried" in again.message
    assert len(posts(desks["production"])) == len(posts(desks["staging"])) == 1


@pytest.fixture
def alert_desks(tmp_path):
    """Each cluster's alerts in its own store (as namespaces keep them), one audit log."""
    audit, now = AuditLog(tmp_path / "store.sqlite3"), time.time()
    made = {}
    for name in ("production", "staging"):
        store = Store(f"sqlite:///{tmp_path / f'store.{name}.sqlite3'}")
        seed(store, Episode("worker_offline", "w1@h", fired=now - 60, cluster=name))
        # A Flower at no address: an alert action never asks Flower anything.
        client = FlowerClient("http://127.0.0.1:9", timeout=1)
        made[name] = ActionDesk(client, audit, lambda _: None, store=store, cluster=name)
    yield made
    for desk in made.values():
        desk.store.close()


def acked_by(desk, cluster: str) -> str | None:
    return desk.store.current_alerts(cluster, 0)[0]["acked_by"]


def test_alert_actions_act_on_the_desks_cluster_and_check_the_role_there(alert_desks):
    production, staging = alert_desks["production"], alert_desks["staging"]
    refused = production.perform(SAM, "acknowledge", ["worker_offline/w1@h"], {}, "a1")
    assert refused.outcome == "refused" and "viewer on production" in refused.message
    done = staging.perform(SAM, "acknowledge", ["worker_offline/w1@h"], {}, "a2")
    assert done.outcome == "sent", done.message
    assert acked_by(staging, "staging") == "sam"
    assert acked_by(production, "production") is None
    silenced = staging.perform(
        SAM, "silence", ["worker_offline/*"], {"minutes": 5, "reason": "deploy"}, "a3"
    )
    assert silenced.outcome == "sent", silenced.message
    assert len(staging.store.active_silences("staging", time.time())) == 1
    assert production.store.active_silences("production", time.time()) == []
    clusters = [(r.op_id, r.cluster, r.role) for r in staging.audit.rows()]
    assert sorted(clusters) == [
        ("a1", "production", "viewer"),
        ("a2", "staging", "operator"),
        ("a3", "staging", "operator"),
    ]
