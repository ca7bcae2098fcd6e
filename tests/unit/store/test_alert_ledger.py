"""The alert ledger on SQLite and PostgreSQL: a poll's alert rows, changes and outbox rows in
one transaction; acknowledgements and silences read inside it; retention of old rows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select, update

from lib.alerts.evaluate import Evaluation
from lib.errors import StoreError
from lib.store import Store
from lib.store.alerts import AlertLedger
from lib.store.engine import reading, writing
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES, ALERT_SILENCES, ALERTS
from tests.unit.alerts.test_states import NOW, OFFLINE, ORPHANED, RATE, RULES, cond

DAY = 86400.0


def render(notification, change_id) -> str:
    head = notification.head.alert
    return json.dumps({"id": change_id, "key": head.key, "related": len(notification.related)})


def found(*conditions, unknown=None) -> Evaluation:
    return Evaluation(list(conditions), unknown or {})


def rows(store: Store, table) -> list[dict]:
    with reading(store.engine) as conn:
        return [
            dict(r) for r in conn.execute(select(table).order_by(*table.primary_key)).mappings()
        ]


def test_a_firing_change_and_its_outbox_row_are_written_together(store):
    ledger = AlertLedger(store, "default")
    ledger.advance(found(cond(RATE, "t.add", value=12.5, threshold=10)), RULES, NOW, render)
    (alert,) = rows(store, ALERTS)
    assert (alert["cluster"], alert["state"], alert["fired_at"]) == ("default", "firing", NOW)
    (change,) = rows(store, ALERT_CHANGES)
    assert (change["rule"], change["state"], change["value"], change["at"]) == (
        "failure_rate",
        "firing",
        12.5,
        NOW,
    )
    (delivery,) = rows(store, ALERT_DELIVERIES)
    assert (
        delivery["change_id"] == change["id"]
        and json.loads(delivery["payload"])["id"] == (change["id"])
    )
    assert (delivery["status"], delivery["attempts"], delivery["next_at"]) == ("queued", 0, NOW)
    # the next poll, still failing: new figures, no new change or notification
    ledger.advance(found(cond(RATE, "t.add", value=30.0)), RULES, NOW + 10, render)
    assert rows(store, ALERTS)[0]["value"] == 30.0
    assert len(rows(store, ALERT_CHANGES)) == 1 and len(rows(store, ALERT_DELIVERIES)) == 1


def test_a_group_is_one_outbox_row_and_clusters_are_kept_apart(store):
    cause = "worker_offline/w1"
    both = found(cond(OFFLINE, "w1"), cond(ORPHANED, "w1", cause=cause))
    AlertLedger(store, "default").advance(both, RULES, NOW, render)
    AlertLedger(store, "default").advance(both, RULES, NOW + 30, render)
    (delivery,) = rows(store, ALERT_DELIVERIES)
    sent = json.loads(delivery["payload"])
    assert (sent["key"], sent["related"], sent["id"]) == (cause, 1, delivery["change_id"])
    assert len(rows(store, ALERT_CHANGES)) == 2
    assert AlertLedger(store, "other").current() == []


def test_an_acknowledgement_stays_while_firing_and_is_cleared_when_it_resolves(store):
    ledger = AlertLedger(store)
    ledger.advance(found(cond(RATE, "t.add")), RULES, NOW, render)
    with writing(store.engine) as conn:
        conn.execute(update(ALERTS).values(acked_by="olga", acked_at=NOW + 5))
    ledger.advance(found(cond(RATE, "t.add", value=50.0)), RULES, NOW + 10, render)
    (alert,) = ledger.current()
    assert (alert.acked_by, alert.acked_at, alert.value) == ("olga", NOW + 5, 50.0)
    ledger.advance(found(), RULES, NOW + 20, render)
    (alert,) = ledger.current()
    assert (alert.state, alert.acked_by, alert.acked_at) == ("resolved", None, None)
    assert [d["status"] for d in rows(store, ALERT_DELIVERIES)] == ["queued", "queued"]


def silence(store: Store, until: float, lifted_at: float | None = None) -> None:
    row = dict(cluster="default", rule="failure_rate", subject="*", until=until, by="olga")
    with writing(store.engine) as conn:
        conn.execute(insert(ALERT_SILENCES).values(**row, created_at=NOW, lifted_at=lifted_at))


def test_a_silenced_alert_records_its_change_and_queues_nothing(store):
    silence(store, NOW + 3600)
    silence(store, NOW - 1)  # ended
    ledger = AlertLedger(store)
    assert [s.until for s in ledger.silences(NOW)] == [NOW + 3600]
    ledger.advance(found(cond(RATE, "t.add")), RULES, NOW, render)
    assert [c["state"] for c in rows(store, ALERT_CHANGES)] == ["firing"]
    assert rows(store, ALERT_DELIVERIES) == []


def test_a_failure_midway_leaves_nothing_half_written(store):
    ledger = AlertLedger(store)
    ledger.advance(found(cond(OFFLINE, "w1")), RULES, NOW, render)  # pending
    before = [rows(store, t) for t in (ALERTS, ALERT_CHANGES, ALERT_DELIVERIES)]
    calls = []

    def failing(notification, change_id):
        calls.append(change_id)
        if len(calls) == 2:
            raise StoreError("The history store could not be written: the disk is full.")
        return render(notification, change_id)

    both = found(cond(OFFLINE, "w1"), cond(RATE, "t.add"))  # two notifications
    with pytest.raises(StoreError):
        ledger.advance(both, RULES, NOW + 30, failing, ("alerts/default", {"note": "x"}))
    assert len(calls) == 2
    assert [rows(store, t) for t in (ALERTS, ALERT_CHANGES, ALERT_DELIVERIES)] == before
    assert store.kept("alerts/default") is None
    ledger.advance(both, RULES, NOW + 30, render)  # the next poll does it whole
    assert len(rows(store, ALERT_CHANGES)) == 2 and len(rows(store, ALERT_DELIVERIES)) == 2


def count(store: Store, table) -> int:
    with reading(store.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_retention_prunes_old_changes_and_finished_deliveries_but_not_what_waits(store):
    old = NOW - 40 * DAY
    ledger = AlertLedger(store)
    ledger.advance(found(cond(RATE, "old.sent"), cond(RATE, "old.queued")), RULES, old, render)
    ledger.advance(found(cond(RATE, "old.queued")), RULES, old + 60, render)  # resolves old.sent
    silence(store, old + 60)
    with writing(store.engine) as conn:
        sent = ALERT_DELIVERIES.c.payload.contains("old.sent")
        conn.execute(update(ALERT_DELIVERIES).where(sent).values(status="sent", sent_at=old))
    ledger.advance(found(cond(RATE, "old.queued"), cond(RATE, "new")), RULES, NOW, render)
    report = store.prune(NOW, retention_days=30, success_days=7)
    assert report.deleted["alerts"] == 5  # 2 sent deliveries, their 2 changes, 1 resolved alert
    assert sorted(a.subject for a in ledger.current()) == ["new", "old.queued"]
    assert count(store, ALERT_DELIVERIES) == 2 and count(store, ALERT_CHANGES) == 2
    assert count(store, ALERT_SILENCES) == 1  # an operator's: kept
