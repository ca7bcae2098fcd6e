"""The store's reads behind the history rules, against what the store's other readers say,
on SQLite and PostgreSQL (eight days of tasks: ``tests.history_tasks.spread_tasks``)."""

from __future__ import annotations

import pytest

from lib.store import Store, alert_reads
from lib.store.engine import reading
from tests.history_tasks import HISTORY_NOW, NAMES, spread_tasks

HOUR = 3600.0


@pytest.fixture(scope="module")
def payloads() -> list[dict]:
    return spread_tasks(HISTORY_NOW, days=3)


@pytest.fixture
def filled(any_store_url, payloads):
    store = Store(any_store_url)
    store.upsert_tasks(payloads, now=HISTORY_NOW)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("start", "end"),
    [(HISTORY_NOW - 50 * HOUR, HISTORY_NOW - 20 * HOUR), (HISTORY_NOW - 1000, HISTORY_NOW)],
    ids=["hours-and-edges", "minutes-only"],
)
def test_runtime_histograms_sum_as_the_per_minute_rollups(filled, start, end):
    minutes = filled.histograms("runtime", start, end, step_minutes=1)
    expected: dict[str, list] = {}
    for (name, bucket), runs in minutes.groupby(["subject", "bucket"])["tasks"].sum().items():
        expected.setdefault(name, []).append((bucket, runs))
    with reading(filled.engine) as conn:
        found = alert_reads.runtime_histograms(conn, start, end)
    assert {k: sorted(v) for k, v in found.items()} == expected
    assert expected  # the range holds runs


def test_task_names_are_every_stored_name(filled):
    with reading(filled.engine) as conn:
        assert alert_reads.task_names(conn) == sorted(NAMES)


def test_latest_arrivals_are_a_names_newest(filled, payloads):
    name = NAMES[0]
    mine = sorted(p["sent"] for p in payloads if p["name"] == name)
    with reading(filled.engine) as conn:
        assert alert_reads.latest_arrivals(conn, name, 5) == mine[-5:]


def test_failure_kinds_count_every_failure_once(filled, payloads):
    since = HISTORY_NOW - 30 * HOUR
    failed = [p for p in payloads if p["state"] == "FAILURE" and p["failed"] >= since]
    with reading(filled.engine) as conn:
        kinds = alert_reads.failure_kinds(conn, since)
    assert int(kinds["failures"].sum()) == len(failed)
    assert set(kinds["exception"]) == {p["exception"] for p in failed}
    first = min(p["failed"] for p in failed if p["exception"] == "KeyError('k9')")
    assert kinds.loc[kinds["exception"] == "KeyError('k9')", "at"].min() == pytest.approx(first)


def test_worker_event_since_ignores_sent_and_older_events(filled):
    newest = max(p["timestamp"] for p in spread_tasks(HISTORY_NOW, days=3))
    with reading(filled.engine) as conn:
        assert alert_reads.worker_event_since(conn, newest - 1) == pytest.approx(newest)
        assert alert_reads.worker_event_since(conn, newest + 1) is None
