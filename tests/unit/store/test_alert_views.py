"""The Alerts page's reads and writes (``lib.store.alert_views``) on a real SQLite file and a
real PostgreSQL database: current and firing alerts per cluster, the history's changes and the
episodes open at a range's start, silences made, read and lifted, acknowledgement."""

from __future__ import annotations

from tests.alert_rows import Episode, seed

T = 1_700_000_000.0


def test_current_alerts_are_pending_firing_and_recently_resolved_of_one_cluster(store):
    seed(
        store,
        Episode("worker_offline", "w1", "critical", fired=T - 60),
        Episode("queue_backlog", "etl", pending=T - 30),
        Episode("failure_rate", "old", fired=T - 7200, resolved=T - 5000),
        Episode("failure_rate", "new", fired=T - 600, resolved=T - 300),
        Episode("worker_offline", "w9", fired=T - 60, cluster="other"),
    )
    found = {
        (r["rule"], r["subject"], r["state"]) for r in store.current_alerts("default", T - 3600)
    }
    assert found == {
        ("worker_offline", "w1", "firing"),
        ("queue_backlog", "etl", "pending"),
        ("failure_rate", "new", "resolved"),
    }
    firing = store.firing_alerts("default")
    assert [(r["rule"], r["subject"], r["link"]) for r in firing] == [
        ("worker_offline", "w1", "workers?worker=w1")
    ]
    assert store.firing_alerts("nowhere") == []


def test_history_holds_the_range_changes_and_the_episodes_open_at_its_start(store):
    seed(
        store,
        Episode("worker_offline", "w1", fired=T - 5000, resolved=T - 100),  # open at the start
        Episode("queue_backlog", "etl", fired=T - 9000, resolved=T - 8000),  # over before it
        Episode("failure_rate", "t", fired=T - 4000),  # open, still firing, no change in range
        Episode("queue_backlog", "ml", pending=T - 50, fired=T - 20),  # inside the range
    )
    opened, changes = store.alert_history("default", T - 3600)
    assert [(r["rule"], r["subject"], r["at"]) for r in opened] == [
        ("worker_offline", "w1", T - 5000),
        ("failure_rate", "t", T - 4000),
    ]
    assert [(r["subject"], r["state"]) for r in changes] == [
        ("w1", "resolved"),
        ("ml", "pending"),
        ("ml", "firing"),
    ]


def test_an_alert_that_fired_again_after_resolving_is_open_once(store):
    seed(store, Episode("worker_offline", "w1", fired=T - 9000, resolved=T - 8000))
    seed(store, Episode("worker_offline", "w1", fired=T - 7000))
    opened, _ = store.alert_history("default", T - 3600)
    assert [r["at"] for r in opened] == [T - 7000]


def test_a_silence_is_in_force_until_it_ends_or_is_lifted(store):
    first = store.silence("default", "queue_backlog", "etl", T + 3600, "olga", "deploy", T)
    second = store.silence("default", "worker_offline", "*", T + 60, "ada", "", T)
    store.silence("other", "worker_offline", "*", T + 60, "ada", "", T)
    active = store.active_silences("default", T)
    assert [(s["id"], s["rule"], s["subject"], s["by"]) for s in active] == [
        (first, "queue_backlog", "etl", "olga"),
        (second, "worker_offline", "*", "ada"),
    ]
    assert [s["id"] for s in store.active_silences("default", T + 60)] == [first]
    assert store.lift_silence("default", first, "queue_backlog", "ml", T) is None, "not its alert"
    lifted = store.lift_silence("default", first, "queue_backlog", "etl", T + 10)
    assert lifted["reason"] == "deploy"
    assert [s["id"] for s in store.active_silences("default", T + 10)] == [second]
    assert store.lift_silence("default", first, "queue_backlog", "etl", T + 11) is None, "once"
    assert store.lift_silence("default", second, "worker_offline", "*", T + 61) is None, "over"
    assert store.lift_silence("other", first, "queue_backlog", "etl", T) is None, "other cluster"


def test_only_a_firing_alert_is_acknowledged_and_the_first_acknowledgement_stands(store):
    seed(
        store,
        Episode("worker_offline", "w1", fired=T - 60),
        Episode("queue_backlog", "etl", pending=T - 30),
        Episode("failure_rate", "t", fired=T - 600, resolved=T - 300),
    )
    done = store.acknowledge("default", "worker_offline", "w1", "olga", T)
    assert (done.by, done.at, done.now) == ("olga", T, True)
    again = store.acknowledge("default", "worker_offline", "w1", "ada", T + 5)
    assert (again.by, again.at, again.now) == ("olga", T, False)
    assert store.acknowledge("default", "queue_backlog", "etl", "olga", T) is None
    assert store.acknowledge("default", "failure_rate", "t", "olga", T) is None
    assert store.acknowledge("other", "worker_offline", "w1", "olga", T) is None
    rows = {r["subject"]: r for r in store.current_alerts("default", 0)}
    assert (rows["w1"]["acked_by"], rows["w1"]["acked_at"]) == ("olga", T)
    assert rows["etl"]["acked_by"] is None and rows["t"]["acked_by"] is None
