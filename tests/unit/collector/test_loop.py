"""The collector's loop against a real scripted HTTP server and a real SQLite store: what it
writes, how it survives errors, 500s and a Flower that never answers, and how it resumes."""

from __future__ import annotations

import json
import logging
import signal
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.collector import Collector, health_sentence
from lib.collector.loop import PollReport
from lib.settings import Settings
from lib.store import Store
from tests.factories import task_payload
from tests.live import wait_until
from tests.unit.collector.conftest import served

PASSWORD = "pw-0f9e8d7c"
NOW = time.time()


class FakeFlower:
    """Answers the Flower reads the collector makes; ``mode`` is "ok", "500" or "hang"."""

    def __init__(self, tasks: list[dict]):
        self.tasks = {t["uuid"]: t for t in tasks}
        self.mode = "ok"

    def __call__(self, method: str, path: str):
        if self.mode == "hang":
            return "hang"
        if self.mode == "500":
            return 500, f"<p>boom, token {PASSWORD}</p>", {"Content-Type": "text/html"}
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return 200, json.dumps(self._answer(parts.path, query)), {}

    def _answer(self, path: str, query: dict) -> object:
        if path == "/api/tasks":
            ordered = sorted(self.tasks.values(), key=lambda t: -t["timestamp"])
            start = int(query.get("offset", 0))
            return {t["uuid"]: t for t in ordered[start : start + int(query["limit"])]}
        if path == "/api/workers" and "status" in query:
            return {"w1@host": True}
        if path == "/api/workers":
            return {"w1@host": {"active_queues": [{"name": "default"}], "stats": {"pid": 7}}}
        if path == "/workers":
            return {"data": [{"hostname": "w1@host", "active": 1, "processed": 9}]}
        if path == "/api/queues/length":
            return {"active_queues": [{"name": "default", "messages": 4}]}
        return {}


def tasks(*names: str, at: float = NOW - 60) -> list[dict]:
    return [task_payload(n, at=at + i) for i, n in enumerate(names)]


@pytest.fixture
def flower():
    fake = FakeFlower(tasks("a", "b", "c"))
    with served(fake):
        yield fake


def settings_for(flower, tmp_path, **kw) -> Settings:
    values = dict(flower_timeout=0.5, poll_seconds=1.0, data_dir=tmp_path)
    values.update(kw)
    return Settings(flower_url=flower.url, flower_auth=("admin", PASSWORD), **values)


@pytest.fixture
def collector(flower, store, tmp_path):
    return Collector(settings_for(flower, tmp_path), store)


def in_flower(store: Store) -> dict[str, bool]:
    frame = store.tasks_window(0.0, NOW + 3600)
    return dict(zip(frame["uuid"], frame["in_flower"], strict=True))


def test_a_poll_writes_tasks_and_samples_and_says_all_is_well(collector, store):
    report = collector.poll()
    assert (report.mode, report.fetched, report.written, report.problems) == ("full", 3, 3, [])
    assert in_flower(store) == {"a": True, "b": True, "c": True}
    queues = store.queue_samples(0.0, NOW + 3600)
    assert queues[["queue", "messages", "consumers"]].values.tolist() == [["default", 4, 1]]
    workers = store.worker_samples(0.0, NOW + 3600)
    assert workers[["worker", "online", "active", "processed"]].values.tolist() == [
        ["w1@host", True, 1, 9]
    ]
    health = collector.health
    assert health.last_error is None and health.tasks_written == 3
    assert health.data_until == health.last_success


def test_a_second_poll_is_incremental_and_writes_only_what_changed(collector, flower, store):
    collector.poll()
    flower.tasks["d"] = task_payload("d", at=NOW - 10)
    report = collector.poll()
    assert (report.mode, report.written) == ("incremental", 1)
    assert set(in_flower(store)) == {"a", "b", "c", "d"}


def test_a_flower_that_forgot_tasks_leaves_them_in_the_store_marked(collector, flower, store):
    collector.poll()
    flower.tasks = {t["uuid"]: t for t in tasks("e", at=NOW - 5)}  # Flower restarted
    report = collector.poll()
    assert report.mode == "full" and not report.problems
    assert in_flower(store) == {"a": False, "b": False, "c": False, "e": True}


def test_a_500_is_kept_as_health_scrubbed_and_the_next_poll_recovers(collector, flower, store):
    collector.poll()
    flower.mode = "500"
    collector.poll()
    report = collector.poll()
    health = collector.health
    assert health.consecutive_failures == 2 and health.source == "Flower"
    assert "server error" in health.last_error and PASSWORD not in health.last_error
    assert report.written == 0 and report.samples == 0
    assert health_sentence(health, time.time()).startswith("Flower has failed for")
    flower.mode = "ok"
    collector.poll()
    assert collector.health.last_error is None and collector.health.consecutive_failures == 0


def test_a_flower_that_never_answers_costs_one_timeout_and_skips_the_other_reads(collector, flower):
    collector.poll()
    flower.mode = "hang"
    seen = len(flower.requests)
    report = collector.poll()
    assert report.flower_silent and len(report.problems) == 1
    assert [path for _, path, _, _ in flower.requests[seen:]] == [
        "/api/tasks?limit=1000&offset=0"  # no worker or queue reads after it
    ]
    sentence = health_sentence(collector.health, time.time())
    assert sentence.startswith("Flower has not answered for") and "(timeout 0.5 s)" in sentence


def test_the_thread_keeps_polling_a_hung_flower_and_stops_when_asked(collector, flower):
    flower.mode = "hang"
    with collector:
        wait_until(lambda: collector.health.consecutive_failures >= 2, "two failed polls", 20)
        flower.mode = "ok"
        wait_until(lambda: collector.health.last_error is None, "a poll that worked", 20)
        flower.mode = "hang"
        wait_until(lambda: collector.health.last_error, "Flower hanging again", 20)
    assert collector.stop(timeout=0)  # the context manager's stop has already ended it


def test_a_dead_broker_is_said_and_flower_s_counts_are_sampled(flower, store, tmp_path):
    settings = settings_for(flower, tmp_path, broker_url=f"redis://:{PASSWORD}@127.0.0.1:1/0")
    collector = Collector(settings, store)
    report = collector.poll()
    assert report.mode == "full" and report.samples == 2
    assert [p.source for p in report.problems] == ["the broker"]
    assert PASSWORD not in collector.health.last_error
    assert collector.health.data_until is not None  # tasks still reached the store
    assert store.queue_samples(0.0, NOW + 3600)["messages"].tolist() == [4]


def test_a_restarted_collector_resumes_incrementally_from_the_kept_cursor(flower, store, tmp_path):
    first = Collector(settings_for(flower, tmp_path), store)
    first.poll()
    flower.tasks["d"] = task_payload("d", at=NOW - 10)
    again = Collector(settings_for(flower, tmp_path), store)
    assert again.resumed and again.health.data_until == first.health.data_until
    report = again.poll()
    assert (report.mode, report.written) == ("incremental", 1)


def test_a_kept_cursor_of_another_flower_is_not_taken(flower, store, tmp_path):
    Collector(settings_for(flower, tmp_path), store).poll()
    other = Collector(Settings(flower_url="http://other:5555", data_dir=tmp_path), store)
    assert not other.resumed


def test_tasks_retention_would_delete_at_once_are_not_written(collector, flower, store):
    flower.tasks["old"] = task_payload("old", at=NOW - 3 * 86400)
    collector.poll()
    assert "old" not in in_flower(store)


def test_run_forever_ends_on_sigterm(flower, store, tmp_path):
    polls = []

    def on_poll(report, health):
        polls.append(report)
        signal.raise_signal(signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    Collector(settings_for(flower, tmp_path), store, on_poll=on_poll).run_forever()
    assert len(polls) == 1 and signal.getsignal(signal.SIGTERM) is before


class NoQueueFlower(FakeFlower):
    """A Flower that cannot read its broker's queues (an unsupported broker): 404 there."""

    def __call__(self, method: str, path: str):
        if path.startswith("/api/queues/length"):
            return 404, "Unable to get queues", {"Content-Type": "text/plain"}
        return super().__call__(method, path)


def test_a_flower_that_cannot_read_queue_depths_is_no_failed_poll(store, tmp_path):
    with served(NoQueueFlower(tasks("a", "b"))) as flower:
        collector = Collector(settings_for(flower, tmp_path), store)
        report = collector.poll()
    assert report.problems == [] and collector.health.last_error is None
    snap = collector.snapshot
    assert snap.depths == {"default": None}, "the queue is listed, its depth unknown"
    assert (
        "cannot read queue depths" in snap.depths_note and "CELERY_BROKER_URL" in snap.depths_note
    )


def pool_ended(report) -> None:
    raise RuntimeError("cannot schedule new futures after interpreter shutdown")


def test_a_step_failing_as_the_server_exits_is_no_unexpected_failure(collector, caplog):
    """A server's exit asks the collector to stop and ends Python's thread pools under a step:
    that is no bug to log with its traceback."""
    report = PollReport(started=NOW)
    assert collector._step(report, pool_ended) is False  # running: a bug, logged whole
    assert [r.levelname for r in caplog.records] == ["ERROR"] and report.problems
    caplog.clear()
    collector.stop(timeout=0)
    stopping = PollReport(started=NOW)
    assert collector._step(stopping, pool_ended) is False
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert stopping.problems == []
