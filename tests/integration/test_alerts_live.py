"""Alerts end to end on a real cluster: the collector's rules, states and webhook outbox, with a
local HTTP receiver as the webhook and an ``OPS_ALERTS_FILE`` of short durations.

A stopped worker → exactly one ``firing`` POST naming it, ``resolved`` once it is back; a burst
of failures fires the failure-rate rule once; a receiver that is down → the notification is
retried and recorded, and delivered when the receiver is back, across a console restart that
neither re-sends nor loses it; a silence (audited) suppresses the notification, not the record.

This module runs its own one-worker cluster: its worker is stopped and started (never the
session's shared ``cluster``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.collector import Collector
from lib.flower import FlowerClient
from lib.settings import load_settings
from lib.store import Store
from lib.store.engine import reading
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES, ALERTS
from tests.live import producer_app, send, wait_final, wait_until
from tests.scripted_server import ScriptedServer

QUEUE = "alerting"
TOKEN = "T0ken-s3cret-path"
PUBLIC = "https://ops.example.com/console"
OPERATOR = Actor("olga", "operator")
RULES = """
replace_defaults = true

[rules.worker_offline]
kind = "worker_offline"
severity = "critical"
for = "1s"
cooldown = "1s"

[rules.failure_rate]
kind = "failure_rate"
severity = "critical"
threshold = 10
window = "10m"
min_count = 5
cooldown = "1s"
"""


@pytest.fixture(scope="module")
def alert_cluster(tmp_path_factory):
    """One worker on ``alerting``: this module's own, stopped and started by its tests."""
    from demo.cluster import Cluster, WorkerSpec

    workers = (WorkerSpec("aw1@%h", (QUEUE,), concurrency=2),)
    with Cluster(tmp_path_factory.mktemp("alert-cluster"), workers=workers) as running:
        yield running


@pytest.fixture
def worker(alert_cluster) -> Iterator[str]:
    """The worker's name; running again at the end whatever the test did to it."""
    (name,) = alert_cluster.worker_names
    yield name
    if not _online(alert_cluster, name):
        alert_cluster.start_worker(name)


@pytest.fixture
def port() -> int:
    """A free loopback port for the receiver (nothing listens on it yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def settings(alert_cluster, tmp_path, port):
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES, encoding="utf-8")
    environ = {
        **alert_cluster.env(),
        "OPS_DATA_DIR": str(tmp_path / "data"),
        "OPS_POLL_SECONDS": "1",
        "FLOWER_TIMEOUT": "3",
        "OPS_ALERTS_FILE": str(rules),
        "OPS_ALERT_WEBHOOK": f"http://127.0.0.1:{port}/hooks/{TOKEN}",
        "OPS_PUBLIC_URL": PUBLIC,
    }
    return load_settings(environ, {})


@pytest.fixture
def store(settings) -> Iterator[Store]:
    store = Store.from_settings(settings)
    yield store
    store.close()


def receiver(port: int) -> ScriptedServer:
    return ScriptedServer(lambda method, path: (200, "ok", {}), port=port)


def collector(settings, store) -> Collector:
    return Collector(settings, store, client=FlowerClient.from_settings(settings))


def posts(server: ScriptedServer, rule: str, subject: str) -> list[dict]:
    bodies = [json.loads(body) for method, _, body, _ in server.requests if method == "POST"]
    return [b for b in bodies if (b["rule"], b["subject"]) == (rule, subject)]


def states(server: ScriptedServer, rule: str, subject: str) -> list[str]:
    return [p["state"] for p in posts(server, rule, subject)]


def polls_pass(running: Collector, count: int) -> None:
    """Let ``count`` more polls finish (a repeat would have been sent by then)."""
    version = running.snapshot.version
    assert running.wait_polled(version + count - 1, 30), f"{count} polls did not finish"


def deliveries(store: Store, rule: str) -> list[dict]:
    """The outbox rows of ``rule``'s notifications, oldest first (the module's cluster keeps
    earlier tests' failed tasks: other rules may notify too)."""
    rows = sorted(_rows(store, ALERT_DELIVERIES), key=lambda d: d["id"])
    return [d for d in rows if json.loads(d["payload"])["rule"] == rule]


def _online(cluster, name: str) -> bool:
    rows = cluster.flower_get("/workers", json=1).json().get("data", [])
    return any(r.get("hostname") == name and r.get("status") for r in rows)


def _rows(store: Store, table) -> list[dict]:
    with reading(store.engine) as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def test_a_stopped_worker_fires_once_and_resolves_when_it_is_back(
    alert_cluster, worker, settings, store, port
):
    with receiver(port) as hook, collector(settings, store) as running:
        polls_pass(running, 2)
        assert states(hook, "worker_offline", worker) == [], "a healthy worker alerts nobody"
        alert_cluster.stop_worker(worker)
        wait_until(lambda: states(hook, "worker_offline", worker), "the firing POST")
        polls_pass(running, 3)
        assert states(hook, "worker_offline", worker) == ["firing"], "one POST, not one per poll"
        alert_cluster.start_worker(worker)
        wait_until(lambda: len(posts(hook, "worker_offline", worker)) == 2, "the resolved POST")
        polls_pass(running, 2)
    firing, resolved = posts(hook, "worker_offline", worker)
    assert (firing["state"], resolved["state"]) == ("firing", "resolved")
    assert firing["severity"] == "critical" and worker in firing["summary"]
    assert firing["url"].startswith(f"{PUBLIC}/workers?worker=")
    assert firing["text"].startswith("🔴 FIRING") and firing["since"].endswith("+00:00")
    assert resolved["since"] == firing["since"] and "resolved_at" in resolved
    keys = {json.loads(body)["id"]: h["Idempotency-Key"] for m, _, body, h in hook.requests}
    assert keys[firing["id"]] == str(firing["id"])
    stored = json.dumps([_rows(store, t) for t in (ALERTS, ALERT_CHANGES, ALERT_DELIVERIES)])
    assert TOKEN not in stored, "the webhook URL is never stored"


def test_a_burst_of_failures_fires_the_failure_rate_once(alert_cluster, settings, store, port):
    producer = producer_app(alert_cluster)
    try:
        with receiver(port) as hook, collector(settings, store) as running:
            ids = [send(producer, "demo.flaky", queue=QUEUE, kind="validation") for _ in range(8)]
            wait_final(alert_cluster, ids)
            wait_until(lambda: states(hook, "failure_rate", "demo.flaky"), "the firing POST")
            polls_pass(running, 3)
    finally:
        producer.close()
    (firing,) = posts(hook, "failure_rate", "demo.flaky")
    assert firing["state"] == "firing" and firing["value"] == 100.0
    assert firing["threshold"] == 10.0 and "demo.flaky" in firing["summary"]


def test_a_receiver_that_is_down_gets_the_notification_later_across_a_restart(
    alert_cluster, worker, settings, store, port
):
    def queued() -> list[dict]:
        return [d for d in deliveries(store, "worker_offline") if d["status"] == "queued"]

    with collector(settings, store):  # nothing listens on the webhook's port yet
        alert_cluster.stop_worker(worker)
        wait_until(lambda: any(d["attempts"] >= 1 for d in queued()), "a failed attempt")
    (row,) = queued()
    assert "refused" in row["last_error"] or "did not answer" in row["last_error"]
    assert TOKEN not in row["last_error"] and "127.0.0.1" not in row["last_error"]
    with receiver(port) as hook, collector(settings, store) as running:  # a console restart
        wait_until(lambda: states(hook, "worker_offline", worker), "the retried POST", timeout=60)
        polls_pass(running, 3)
        assert states(hook, "worker_offline", worker) == ["firing"], "delivered once, not resent"
        alert_cluster.start_worker(worker)
        wait_until(lambda: len(posts(hook, "worker_offline", worker)) == 2, "the resolved POST")
    assert [d["status"] for d in deliveries(store, "worker_offline")] == ["sent", "sent"]


def test_a_silence_suppresses_the_notification_and_is_audited(
    alert_cluster, worker, settings, store, port
):
    client = FlowerClient.from_settings(settings)
    desk = ActionDesk(client, AuditLog(settings.store_url), lambda _: None, store=store)
    params = {"minutes": 15, "reason": "planned restart of aw1"}
    done = desk.perform(OPERATOR, "silence", [f"worker_offline/{worker}"], params, "op-live")
    assert done.outcome == "sent", done.message
    with receiver(port) as hook, collector(settings, store) as running:
        alert_cluster.stop_worker(worker)
        changed = lambda: [  # noqa: E731
            c["state"] for c in _rows(store, ALERT_CHANGES) if c["rule"] == "worker_offline"
        ]
        wait_until(lambda: "firing" in changed(), "the firing change")
        polls_pass(running, 3)
        assert states(hook, "worker_offline", worker) == [], "silenced: nobody is notified"
    assert deliveries(store, "worker_offline") == []
    (record,) = AuditLog(settings.store_url).rows(actions=["silence"])
    assert (record.user, record.outcome) == ("olga", "sent")
