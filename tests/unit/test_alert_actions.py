"""Silence, lift a silence and acknowledge through the action door, on a real store (SQLite
and PostgreSQL): the role checked by the desk, the terms refused before anything is written,
the audit row claimed before the write and completed after, who is recorded taken from the
signed-in actor, not the request; nothing sent to Flower."""

from __future__ import annotations

import time

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.flower import FlowerClient
from lib.store import Store
from tests.alert_rows import Episode, seed

OPERATOR, VIEWER = Actor("olga", "operator"), Actor("vic", "viewer")
FIRING = "worker_offline/w1@h"


@pytest.fixture
def desk(any_store_url, closed_port):
    store = Store(any_store_url)
    now = time.time()
    seed(
        store,
        Episode("worker_offline", "w1@h", "critical", fired=now - 60),
        Episode("queue_backlog", "etl", pending=now - 30),
    )
    # Flower at a closed port: an alert action that reached it would fail loudly.
    client = FlowerClient(f"http://127.0.0.1:{closed_port}", timeout=1)
    desk = ActionDesk(client, AuditLog(any_store_url), lambda _: None, store=store)
    yield desk
    store.close()


@pytest.fixture
def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def silences(desk) -> list[tuple]:
    return [(s["rule"], s["subject"], s["by"], s["reason"])
            for s in desk.store.active_silences("default", time.time())]  # fmt: skip


def test_an_operator_silences_an_alert_for_an_hour_audited_as_the_signed_in_user(desk):
    before = time.time()
    params = {"minutes": 60, "reason": "deploy of etl", "cluster": "default", "by": "mallory"}
    result = desk.perform(OPERATOR, "silence", ["queue_backlog/etl"], params, "op-s1")
    assert result.outcome == "sent", result.message
    assert result.message.startswith("Silence: queue_backlog/etl. The console said: silenced")
    assert silences(desk) == [("queue_backlog", "etl", "olga", "deploy of etl")]
    until = desk.store.active_silences("default", time.time())[0]["until"]
    assert before + 3600 <= until <= time.time() + 3600
    row = desk.audit.row(result.audit_id)
    assert (row.user, row.action, row.targets, row.outcome) == (
        "olga", "silence", ["queue_backlog/etl"], "sent",
    )  # fmt: skip
    assert row.params["by"] == "olga" and row.params["reason"] == "deploy of etl"
    assert [(t.target, t.outcome) for t in desk.audit.targets(result.audit_id)] == [
        ("queue_backlog/etl", "sent")
    ]
    again = desk.perform(OPERATOR, "silence", ["queue_backlog/etl"], params, "op-s1")
    assert again.audit_id == result.audit_id and len(silences(desk)) == 1, "one per click"


def test_a_silence_until_a_chosen_time_covers_every_subject_with_a_star(desk):
    until = time.time() + 4 * 3600
    params = {"until": until, "reason": "maintenance"}
    result = desk.perform(OPERATOR, "silence", ["worker_offline/*"], params, "op-s2")
    assert result.outcome == "sent", result.message
    assert desk.store.active_silences("default", time.time())[0]["until"] == until


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"reason": "x"}, "choose how long"),
        ({"minutes": 60, "until": time.time() + 60, "reason": "x"}, "choose how long"),
        ({"minutes": 0, "reason": "x"}, "choose how long"),
        ({"until": 1.0, "reason": "x"}, "choose how long"),
        ({"minutes": 31 * 24 * 60, "reason": "x"}, "within 30 days"),
        ({"minutes": "soon", "reason": "x"}, "choose how long"),
        ({"minutes": 15, "reason": "  "}, "Say why"),
        ({"minutes": 15, "reason": "x" * 501}, "under 500"),
    ],
    ids=["no-end", "two-ends", "zero", "past", "too-long", "not-a-number", "no-reason",
         "long-reason"],
)  # fmt: skip
def test_bad_silence_terms_are_refused_and_audited_with_nothing_written(desk, params, why):
    result = desk.perform(OPERATOR, "silence", ["queue_backlog/etl"], params, "op-bad")
    assert result.outcome == "refused" and why in result.message
    assert silences(desk) == []
    assert desk.audit.row(result.audit_id).outcome == "refused"


@pytest.mark.parametrize("target", ["queue_backlog", "/etl", "queue_backlog/"])
def test_a_target_that_names_no_alert_is_refused(desk, target):
    result = desk.perform(OPERATOR, "acknowledge", [target], {}, f"op-{target}")
    assert result.outcome == "refused" and "<rule>/<subject>" in result.message


def test_a_viewer_is_refused_by_the_desk_and_the_refusal_audited(desk):
    params = {"minutes": 15, "reason": "quiet"}
    for action, op in (("silence", "v1"), ("acknowledge", "v2"), ("lift_silence", "v3")):
        result = desk.perform(VIEWER, action, [FIRING], params | {"silence_id": 1}, op)
        assert result.outcome == "refused" and "needs the operator role" in result.message
        row = desk.audit.row(result.audit_id)
        assert (row.user, row.role, row.outcome) == ("vic", "viewer", "refused")
    assert silences(desk) == []
    acked = {r["subject"]: r["acked_by"] for r in desk.store.current_alerts("default", 0)}
    assert acked["w1@h"] is None


def test_acknowledge_marks_a_firing_alert_once_and_refuses_one_not_firing(desk):
    first = desk.perform(OPERATOR, "acknowledge", [FIRING], {}, "a1")
    assert first.outcome == "sent" and "acknowledged by olga at" in first.message
    again = desk.perform(Actor("ada", "admin"), "acknowledge", [FIRING], {}, "a2")
    assert again.outcome == "sent" and "already acknowledged by olga" in again.message
    pending = desk.perform(OPERATOR, "acknowledge", ["queue_backlog/etl"], {}, "a3")
    assert pending.outcome == "failed" and "is not firing" in pending.message
    assert desk.audit.row(pending.audit_id).outcome == "failed"
    rows = {r["subject"]: r for r in desk.store.current_alerts("default", 0)}
    assert rows["w1@h"]["acked_by"] == "olga" and rows["etl"]["acked_by"] is None


def test_lifting_a_silence_ends_it_once(desk):
    made = desk.perform(OPERATOR, "silence", [FIRING], {"minutes": 60, "reason": "r"}, "l0")
    assert made.outcome == "sent"
    silence_id = desk.store.active_silences("default", time.time())[0]["id"]
    other = desk.perform(OPERATOR, "lift_silence", ["queue_backlog/etl"],
                         {"silence_id": silence_id}, "l1")  # fmt: skip
    assert other.outcome == "failed" and "No silence of queue_backlog/etl" in other.message
    lifted = desk.perform(OPERATOR, "lift_silence", [FIRING], {"silence_id": silence_id}, "l2")
    assert lifted.outcome == "sent" and "the silence by olga until" in lifted.message
    assert silences(desk) == []
    twice = desk.perform(OPERATOR, "lift_silence", [FIRING], {"silence_id": silence_id}, "l3")
    assert twice.outcome == "failed"
    bad = desk.perform(OPERATOR, "lift_silence", [FIRING], {"silence_id": "x"}, "l4")
    assert bad.outcome == "refused" and "Choose the silence" in bad.message


def test_without_a_store_nothing_is_kept_and_the_operator_is_told(desk):
    bare = ActionDesk(desk.client, desk.audit, lambda _: None)
    result = bare.perform(OPERATOR, "acknowledge", [FIRING], {}, "n1")
    assert result.outcome == "failed" and "store is not available" in result.message
