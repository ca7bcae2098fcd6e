"""Pages over a Flower that answers with recorded real payloads, then breaks in various ways:
the page keeps the last good data, marks it stale, and says what is wrong in plain words."""

from __future__ import annotations

import json

import pytest

from tests.apptest.conftest import open_page, texts
from tests.live import wait_until
from tests.recorded import recorded, special
from tests.scripted_server import ScriptedServer

FAULTS = {
    "down-500": (500, "<html><title>500: Internal Server Error</title></html>", {}),
    "garbage": (200, "{'not': json", {}),
    "forbidden": (403, "Read only mode is enabled", {"Content-Type": "text/plain"}),
    "unauthorized": (401, "", {}),
    "no-broker": (503, "Broker or result backend unavailable", {}),
}
SAYS = {
    "down-500": "HTTP 500",
    "garbage": "cannot read",
    "forbidden": "Read only mode is enabled",
    "unauthorized": "FLOWER_BASIC_AUTH",
    "no-broker": "cannot reach its broker",
}


ROUTES = {
    "/api/tasks": "tasks",
    "/api/workers?status=1": "workers_status",
    "/api/workers": "workers",
    "/workers?json=1": "workers_ui",
    "/api/queues/length": "queues_length",
    "/api/task/types": "task_types",
    "/api/task/info/": "task_info",
}


class RecordedFlower:
    """Serves the recorded payloads until ``fault`` is set."""

    def __init__(self):
        self.fault: tuple | None = None

    def __call__(self, method: str, path: str):
        if self.fault:
            return self.fault
        if path.startswith("/tasks/datatable"):
            return 200, json.dumps({"recordsTotal": 61}), {}
        if path.startswith("/api/tasks"):
            # the recorded list plus a task Flower saw only mid-flight (name, args... null)
            return 200, json.dumps({**recorded("tasks"), **recorded("tasks_name_none")}), {}
        for prefix, name in ROUTES.items():
            if path.startswith(prefix):
                return 200, json.dumps(recorded(name)), {}
        return 404, "not found", {}


@pytest.fixture
def flower(monkeypatch):
    script = RecordedFlower()
    with ScriptedServer(script) as server:
        monkeypatch.setenv("FLOWER_URL", server.url)
        monkeypatch.setenv("OPS_AUTH", "off")
        monkeypatch.setenv("OPS_POLL_SECONDS", "1")
        yield script


def test_tasks_from_recorded_flower(flower):
    at = open_page("Tasks")
    assert not at.exception
    assert len(at.dataframe[0].value) == 62


def test_a_task_without_a_name_opens_like_any_other(flower):
    uuid = special("name_none_midflight")
    at = open_page("Tasks", query={"task": uuid})
    assert not at.exception
    assert f"Task {uuid}" in texts(at)
    assert at.metric[0].label == "Name" and at.metric[0].value == "—"


@pytest.mark.parametrize("fault", list(FAULTS))
def test_tasks_page_keeps_last_good_data_when_flower_breaks(flower, fault):
    at = open_page("Tasks")
    flower.fault = FAULTS[fault]
    at.button[0].click().run()  # Refresh
    assert not at.exception
    assert len(at.dataframe[0].value) == 62, "the last good tasks stay on screen"
    stale = [w.value for w in at.warning if "last good tasks" in w.value]
    assert stale and SAYS[fault] in stale[0]


@pytest.mark.parametrize("fault", ["down-500", "garbage"])
def test_workers_page_marks_stale(flower, fault):
    at = open_page("Workers")
    assert len(at.dataframe[0].value) == 2
    flower.fault = FAULTS[fault]
    # Reruns within the poll interval (OPS_POLL_SECONDS=1) reuse the last reading.
    wait_until(lambda: at.run() and SAYS[fault] in texts(at), "the stale warning", timeout=10)
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    assert SAYS[fault] in texts(at)
