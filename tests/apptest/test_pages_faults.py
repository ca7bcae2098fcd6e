"""Pages over a Flower that answers with recorded real payloads, then breaks in various ways:
the page keeps the last good data, marks it stale, and says what is wrong in plain words."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import open_page, plain, run_until, texts
from tests.live import wait_until
from tests.recorded import special

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


def test_tasks_from_recorded_flower(recorded_flower):
    at = open_page("Tasks")
    assert not at.exception
    assert len(at.dataframe[0].value) == 62


def test_a_task_without_a_name_opens_like_any_other(recorded_flower):
    uuid = special("name_none_midflight")
    at = open_page("Tasks", query={"task": uuid})
    assert not at.exception
    assert f"Task {uuid}" in texts(at)
    assert at.metric[0].label == "Name" and at.metric[0].value == "—"


@pytest.mark.parametrize("fault", list(FAULTS))
def test_tasks_page_keeps_last_good_data_when_flower_breaks(recorded_flower, fault):
    at = open_page("Tasks")
    recorded_flower.fault = FAULTS[fault]

    def stale_shown(at) -> bool:
        return any("last good tasks" in w.value for w in at.warning)

    # Refresh until the collector's next poll has met the fault (OPS_POLL_SECONDS=1).
    run_until(at, stale_shown, before=lambda at: at.button[0].click())
    assert not at.exception
    assert len(at.dataframe[0].value) == 62, "the last good tasks stay on screen"
    stale = [plain(w.value) for w in at.warning if "last good tasks" in w.value]
    assert stale and SAYS[fault] in stale[0]


@pytest.mark.parametrize("fault", ["down-500", "garbage"])
def test_workers_page_marks_stale(recorded_flower, fault):
    at = open_page("Workers")
    assert len(at.dataframe[0].value) == 2
    recorded_flower.fault = FAULTS[fault]
    # Reruns within the poll interval (OPS_POLL_SECONDS=1) reuse the last reading.
    wait_until(lambda: at.run() and SAYS[fault] in texts(at), "the stale warning", timeout=10)
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    assert SAYS[fault] in texts(at)
