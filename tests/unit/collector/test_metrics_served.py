"""The collector serves /metrics and /healthz while it runs (a scripted Flower over real HTTP, a
real SQLite store): 200 then 503 after three failed polls, a port in use is said in plain words
and taken over once free, and stopping the collector closes the port."""

from __future__ import annotations

import socket

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from lib.collector import Collector
from lib.collector.health import CollectorHealth
from lib.metrics import FAILED_POLLS, health_answer
from tests.live import wait_until
from tests.unit.collector.conftest import served
from tests.unit.collector.test_loop import PASSWORD, FakeFlower, settings_for, tasks


@pytest.fixture
def flower():
    fake = FakeFlower(tasks("a", "b", "c"))
    with served(fake):
        yield fake


def get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)


@pytest.mark.parametrize(
    ("health", "code", "status"),
    [
        (CollectorHealth(), 200, "starting"),
        (CollectorHealth(last_success=100.0, polls=4), 200, "ok"),
        (CollectorHealth(last_success=100.0, consecutive_failures=FAILED_POLLS - 1), 200, "ok"),
        (CollectorHealth(last_success=100.0, consecutive_failures=FAILED_POLLS), 503, "failing"),
        (CollectorHealth(consecutive_failures=FAILED_POLLS), 503, "failing"),
    ],
    ids=["before-a-poll", "ok", "two-failures", "three-failures", "never-worked"],
)
def test_healthz_answers_from_the_health(health, code, status):
    got, body = health_answer(health, now=130.0)
    assert (got, body["status"]) == (code, status)
    if health.last_success is not None:
        assert body["lag_seconds"] == 30.0 and body["last_success"].startswith(
            "1970-01-01T00:01:40"
        )


def test_the_running_collector_serves_metrics_then_healthz_turns_503(flower, store, tmp_path):
    settings = settings_for(flower, tmp_path, metrics_port=0, poll_seconds=1.0)
    with Collector(settings, store) as collector:
        wait_until(lambda: collector.health.polls >= 1, "a first poll")
        port = collector.metrics.serving_port
        answer = get(port, "/healthz")
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        text = get(port, "/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        finished = families["celery_console_tasks_finished"].samples
        assert sum(s.value for s in finished if s.name.endswith("_total")) == 3
        assert PASSWORD not in text and get(port, "/nothing").status_code == 404
        flower.mode = "500"
        wait_until(lambda: collector.health.consecutive_failures >= FAILED_POLLS, "3 failures")
        answer = get(port, "/healthz")
        assert answer.status_code == 503 and answer.json()["status"] == "failing"
        assert PASSWORD not in answer.text, "the error text is scrubbed"
    with pytest.raises(requests.ConnectionError):
        get(port, "/healthz")


def test_a_port_in_use_is_said_and_taken_over_once_free(flower, store, tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    settings = settings_for(flower, tmp_path, metrics_port=port, poll_seconds=1.0)
    try:
        with Collector(settings, store) as collector:
            wait_until(lambda: collector.health.polls >= 1, "a first poll")
            note = collector.health.metrics_note
            assert note and f"127.0.0.1:{port} cannot be listened on" in note
            assert collector.health.last_error is None, "the collector itself goes on"
            holder.close()
            wait_until(lambda: collector.metrics.serving_port == port, "the port taken over")
            assert get(port, "/healthz").status_code == 200
            wait_until(lambda: collector.health.metrics_note is None, "the note cleared")
    finally:
        holder.close()


def test_without_a_port_the_collector_serves_nothing(flower, store, tmp_path):
    assert Collector(settings_for(flower, tmp_path), store).metrics is None
