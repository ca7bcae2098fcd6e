"""Worker facts through the collector: in its snapshot, kept in the store (changed only), read
back by a console on an external collector and by a restarted collector; no secret kept.

A ``Collector`` polls the recorded real Flower payloads over HTTP into a real SQLite store."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from lib.collector import Collector
from lib.collector.facts import kept_worker_facts
from lib.collector.stored import StoredReadout
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from lib.store import Store
from lib.store.schema import KEPT_STATE
from tests.recorded import RecordedFlower, recorded
from tests.unit.collector.conftest import served

PASSWORD = "pw-3c1e0b9a"


@pytest.fixture
def flower():
    with served(RecordedFlower()) as script:
        yield script


@pytest.fixture
def settings(flower, tmp_path) -> Settings:
    auth = ("admin", PASSWORD)
    return Settings(flower_url=flower.url, flower_auth=auth, data_dir=tmp_path, poll_seconds=1)


def test_a_poll_puts_each_workers_facts_in_the_snapshot_and_the_store(settings, store):
    collector = Collector(settings, store)
    collector.poll()
    facts = collector.snapshot.worker_facts
    assert sorted(facts) == ["w1@vm", "w2@vm"]
    assert facts["w2@vm"].queues == ("default", "etl", "ml") and facts["w2@vm"].prefetch_count == 2
    assert kept_worker_facts(store, "default") == facts
    monitor = ClusterMonitor(settings, store, collector)
    assert monitor.worker_facts().value == facts


def test_facts_are_written_again_only_when_they_change(settings, store, flower):
    collector = Collector(settings, store)
    collector.poll()
    written = _kept_written(store)
    collector.poll()
    assert _kept_written(store) == written
    info = copy.deepcopy(recorded("workers"))
    info["w1@vm"]["stats"]["prefetch_count"] = 8
    flower.answers["workers"] = (200, json.dumps(info), {})
    collector.workers._inspected = None  # the minute is up: Flower's inspect is read again
    collector.poll()
    assert kept_worker_facts(store, "default")["w1@vm"].prefetch_count == 8


def test_a_console_on_an_external_collector_reads_the_kept_facts(settings, store):
    collector = Collector(settings, store)
    collector.poll()
    external = ClusterMonitor(settings, store, StoredReadout(settings, store))
    assert external.worker_facts().value == collector.snapshot.worker_facts
    restarted = Collector(settings, store)  # before its first poll: the kept facts
    assert restarted.snapshot.worker_facts == collector.snapshot.worker_facts


def test_no_facts_before_a_poll_says_not_yet(settings, store):
    monitor = ClusterMonitor(settings, store, Collector(settings, store))
    reading = monitor.worker_facts()
    assert reading.value is None and reading.error is not None


def test_a_secret_in_the_inspect_data_is_never_kept(settings, store, flower):
    info = copy.deepcopy(recorded("workers"))
    info["w1@vm"]["conf"]["result_backend"] = f"redis://:{PASSWORD}@cache:6379/1"
    info["w1@vm"]["active_queues"].append({"name": f"q-{PASSWORD}"})
    flower.answers["workers"] = (200, json.dumps(info), {})
    Collector(settings, store).poll()
    with store.engine.connect() as conn:
        kept = " ".join(conn.execute(select(KEPT_STATE.c.value)).scalars())
    assert "q-" in kept and PASSWORD not in kept and "cache:6379" not in kept


def _kept_written(store: Store) -> float:
    query = select(KEPT_STATE.c.updated_at).where(KEPT_STATE.c.key == "worker_facts/default")
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()
