"""The webhook payload: the contract's fields, the one-line text, secrets scrubbed."""

from __future__ import annotations

import json

from lib.alerts.payload import payload, payload_json
from lib.alerts.states import Change, Notification
from tests.unit.alerts.test_states import NOW, OFFLINE, ORPHANED, alert

PUBLIC = "https://ops.example.com"


def offline(state: str = "firing", **kw) -> Change:
    fields = {"summary": "Worker w1@host is offline", "link": "workers?worker=w1@host", **kw}
    return Change(alert(OFFLINE, "w1@host", state, NOW, pending_since=NOW - 45, **fields), NOW)


def test_a_firing_payload_has_the_contract_s_fields_and_a_line_for_slack():
    orphaned = alert(ORPHANED, "w1@host", "firing", NOW, summary="3 tasks orphaned on w1@host")
    note = Notification(offline(value=45.0, threshold=30.0), (Change(orphaned, NOW),))
    body = payload(note, 17, "default", PUBLIC)
    assert body["id"] == 17 and body["cluster"] == "default"
    assert (body["rule"], body["state"], body["severity"], body["subject"]) == (
        "worker_offline",
        "firing",
        "critical",
        "w1@host",
    )
    assert (body["value"], body["threshold"]) == (45.0, 30.0)
    assert body["since"] == "2027-01-15T07:59:15+00:00"  # when it began: pending since
    assert body["url"] == f"{PUBLIC}/workers?worker=w1@host"
    assert body["text"] == (
        "🔴 FIRING critical · worker_offline · w1@host — Worker w1@host is offline"
        f" (+1 related) <{PUBLIC}/workers?worker=w1@host>"
    )
    assert body["related"] == [
        {
            "rule": "orphaned_tasks",
            "subject": "w1@host",
            "state": "firing",
            "severity": "warning",
            "summary": "3 tasks orphaned on w1@host",
        }
    ]
    assert "resolved_at" not in body


def test_a_resolved_payload_says_when_and_keeps_since_as_when_it_began():
    body = payload(Notification(offline("resolved")), 18, "default", PUBLIC + "/")
    assert body["state"] == "resolved" and body["resolved_at"] == "2027-01-15T08:00:00+00:00"
    assert body["since"] == "2027-01-15T07:59:15+00:00"
    assert body["text"].startswith("✅ RESOLVED critical · worker_offline · w1@host — ")
    assert body["url"] == f"{PUBLIC}/workers?worker=w1@host" and body["related"] == []


def test_secrets_never_reach_the_payload():
    secret = "hunter2-token"
    leaky = offline(summary=f"login {secret} failed")
    text = payload_json(Notification(leaky), 1, "default", PUBLIC, [secret])
    assert secret not in text and "login *** failed" in json.loads(text)["summary"]
