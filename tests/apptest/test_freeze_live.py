"""Never freeze, page by page, with real parts (issue 12 point 5): the session's real Flower
stopped, then started again; the real Redis cut off from the console (through a forwarder the
test cuts, so the workers and Flower keep their broker). Short polls and timeouts keep it fast.
"""

from __future__ import annotations

import re

import pytest

from tests.apptest.conftest import PAGES, collector_caught_up, open_page, plain, run_until, texts
from tests.forwarder import Forwarder
from tests.live import send, wait_final

BANNER = re.compile(r"Flower has not answered for (\d+) s \(timeout 1 s\)")


@pytest.fixture
def flower_back(live_env):
    """Whatever a test did to Flower, it runs again afterwards."""
    yield
    if not live_env.flower_running:
        live_env.start_flower()


def counted(at) -> int:
    """The seconds the page's own banner (not the sidebar's) says Flower has not answered."""
    found = BANNER.search(" ".join(plain(w.value) for w in at.main.warning))
    return int(found.group(1)) if found else -1


def sidebar_says(at) -> str:
    return " ".join(plain(e.value) for e in at.sidebar.error)


#: The pages whose readings come from the collector's snapshot and store: each says it itself.
READERS = ("Overview", "Workers", "Tasks", "Queues")


def test_a_stopped_flower_every_page_renders_from_the_store(
    live_env, producer, monkeypatch, flower_back
):
    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    done = send(producer, "demo.add", 20, 22)
    wait_final(live_env, [done])
    tasks = open_page("Tasks")  # starts the collector; a tab left open through the outage
    collector_caught_up()
    live_env.stop_flower()
    collector_caught_up()  # the polls since have failed
    for page in PAGES:
        at = open_page(page, timeout=10)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert BANNER.search(sidebar_says(at)), (page, sidebar_says(at))
        assert page not in READERS or counted(at) >= 0, (page, texts(at))
    tasks.run()
    assert done in set(tasks.dataframe[0].value["uuid"]), "the Tasks page reads the store"
    first = counted(tasks)
    run_until(tasks, lambda at: counted(at) > first, timeout=15)
    assert counted(tasks) > first >= 0, "the banner of an open Tasks tab keeps counting"
    live_env.start_flower()
    collector_caught_up()  # two polls after Flower is back
    tasks.run()
    assert "has not answered" not in texts(tasks), "the banner goes within two polls"
    assert not tasks.exception and not tasks.error


def test_a_dead_broker_the_queues_page_and_sidebar_say_so(live_env, monkeypatch):
    with Forwarder(live_env.redis_port) as line:
        monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{line.port}/0")
        monkeypatch.setenv("FLOWER_TIMEOUT", "1")
        at = open_page("Queues", timeout=10)
        collector_caught_up()
        at.run()
        assert "Depths read from the broker" in texts(at)
        assert "The broker has failed" not in texts(at)
        line.cut()
        collector_caught_up()
        at.run()
    assert not at.exception
    said = texts(at)
    stale = [plain(w.value) for w in at.warning if "last good queue depths" in w.value]
    assert stale and "The broker has failed for" in stale[0], said
    assert f"127.0.0.1:{line.port}" in stale[0] and "cannot be read" in stale[0]
    sidebar = sidebar_says(at)
    assert "Stale: the last refresh failed. The broker has failed for" in sidebar, sidebar
    assert len(at.dataframe[0].value) > 0, "the queues are still shown"
