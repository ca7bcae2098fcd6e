"""The watcher on a real store (SQLite and PostgreSQL): evaluate → advance → write, across
restarts (a new watcher on the same store), with the page's note kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lib.alerts.evaluate import EVALUATORS
from lib.alerts.model import Condition, Rule
from lib.alerts.payload import iso
from lib.alerts.rules import RuleBook
from lib.alerts.watch import AlertWatcher, kept_note
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.errors import StoreError
from lib.settings import Settings
from lib.store import Store
from lib.store.engine import reading
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES

T0 = 1_800_000_000.0
OFFLINE = Rule("worker_offline", "worker_offline", "critical", for_seconds=30)
BOOK = RuleBook((OFFLINE,))
SECRET = "tok-5ecr3t"


class Cluster:
    """What the test evaluator sees: the workers that are offline, and a clock."""

    def __init__(self):
        self.offline: set[str] = set()
        self.now = T0
        self.failing = False

    def evaluate(self, rule: Rule, context) -> list[Condition]:
        if self.failing:
            raise StoreError("The history store could not be read: it is locked.")
        return [
            Condition(rule.name, w, rule.severity, f"Worker {w} is offline", f"workers?worker={w}")
            for w in sorted(self.offline)
        ]


@pytest.fixture
def cluster(monkeypatch) -> Cluster:
    seen = Cluster()
    monkeypatch.setitem(EVALUATORS, "worker_offline", seen.evaluate)
    return seen


@pytest.fixture
def store(any_store_url, request) -> Store:
    opened = Store(any_store_url)
    request.addfinalizer(opened.close)
    return opened


def watcher(store: Store, cluster: Cluster, book: RuleBook = BOOK) -> AlertWatcher:
    return AlertWatcher(
        store, "default", book, "https://ops.example.com", lambda: cluster.now, [SECRET]
    )


def watch(store: Store, cluster: Cluster, at: float, book: RuleBook = BOOK):
    """One poll at ``at`` by a NEW watcher (as after a restart of the console)."""
    cluster.now = at
    return watcher(store, cluster, book).watch(CollectorSnapshot(), CollectorHealth())


def outbox(store: Store) -> list[dict]:
    with reading(store.engine) as conn:
        found = conn.execute(select(ALERT_DELIVERIES).order_by(ALERT_DELIVERIES.c.id))
        return [json.loads(row.payload) for row in found]


def test_a_restart_neither_forgets_a_pending_alert_nor_repeats_a_firing_one(store, cluster):
    cluster.offline = {"w1@host"}
    assert watch(store, cluster, T0).changes == 0  # pending since T0
    report = watch(store, cluster, T0 + 30)  # a new watcher: held 30 s since T0 → firing
    assert (report.changes, report.notifications) == (1, 1)
    (sent,) = outbox(store)
    assert (sent["rule"], sent["state"], sent["subject"]) == ("worker_offline", "firing", "w1@host")
    assert sent["since"] == iso(T0) and sent["url"].endswith("/workers?worker=w1@host")
    with reading(store.engine) as conn:
        change_id = conn.execute(select(ALERT_CHANGES.c.id)).scalar()
    assert sent["id"] == change_id
    assert watch(store, cluster, T0 + 60).changes == 0  # restarted again: nothing re-sent
    cluster.offline = set()
    assert watch(store, cluster, T0 + 90).notifications == 1
    assert [p["state"] for p in outbox(store)] == ["firing", "resolved"]


def test_one_watcher_across_polls_sends_one_firing_and_one_resolved(store, cluster):
    cluster.offline = {"w1@host"}
    kept = watcher(store, cluster)
    for at in (T0, T0 + 10, T0 + 30, T0 + 40):
        cluster.now = at
        kept.watch(CollectorSnapshot(), CollectorHealth())
    cluster.offline, cluster.now = set(), T0 + 50
    kept.watch(CollectorSnapshot(), CollectorHealth())
    assert [p["state"] for p in outbox(store)] == ["firing", "resolved"]


def test_a_rule_that_cannot_be_read_keeps_its_alert_and_the_note_says_why(store, cluster):
    cluster.offline = {"w1@host"}
    watch(store, cluster, T0)
    watch(store, cluster, T0 + 30)
    cluster.failing = True
    book = RuleBook((OFFLINE,), "built-in defaults tuned by a.toml", ("line 3: no such kind",))
    report = watch(store, cluster, T0 + 60, book)
    assert report.unknown == {
        "worker_offline": "The history store could not be read: it is locked."
    }
    assert report.note == (
        "The alert rules (built-in defaults tuned by a.toml) have problems: line 3: no such "
        "kind. Not evaluated this poll (their alerts stay as they were): worker_offline: The "
        "history store could not be read: it is locked."
    )
    assert kept_note(store, "default") == report.note and kept_note(store, "other") == ""
    assert [p["state"] for p in outbox(store)] == ["firing"]  # not resolved by a failed read
    cluster.failing = False
    assert watch(store, cluster, T0 + 70).note == ""
    assert kept_note(store, "default") == ""


def test_a_secret_in_a_summary_never_reaches_the_outbox(store, cluster):
    cluster.offline = {f"w1-{SECRET}"}
    watch(store, cluster, T0)
    watch(store, cluster, T0 + 30)
    with reading(store.engine) as conn:
        (text,) = conn.execute(select(ALERT_DELIVERIES.c.payload)).scalars()
    assert SECRET not in text and "w1-***" in text


def test_the_watcher_of_a_console_with_a_clusters_file_links_its_cluster(store, cluster, tmp_path):
    several = Settings(data_dir=tmp_path, clusters_file=tmp_path / "clusters.toml")
    assert AlertWatcher.from_settings(several, store, "staging", lambda: T0).link_cluster
    one = AlertWatcher.from_settings(Settings(data_dir=tmp_path), store, "default", lambda: T0)
    assert not one.link_cluster
    watcher = AlertWatcher(
        store, "staging", BOOK, "https://ops.example.com", lambda: cluster.now, link_cluster=True
    )
    cluster.offline = {"w1@host"}
    for at in (T0, T0 + 30):
        cluster.now = at
        watcher.watch(CollectorSnapshot(), CollectorHealth())
    (sent,) = outbox(store)
    assert sent["cluster"] == "staging"
    assert sent["url"] == "https://ops.example.com/workers?cluster=staging&worker=w1@host"
