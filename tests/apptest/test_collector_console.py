"""The console on its collector (issue 12): one thread per configuration, pages that never wait
on Flower, and the stale banner from the collector's health."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import streamlit as st

from lib.ui import wiring
from lib.ui.wiring import stop_collectors
from tests.apptest.conftest import console_on, open_page, run_until, texts
from tests.recorded import RecordedFlower


def collector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("collector-") and t.is_alive()]


def test_the_collector_thread_is_started_once_per_configuration(recorded_flower):
    at = open_page("Overview")
    open_page("Workers")  # another session
    st.cache_resource.clear()  # even a cleared cache does not start a second one
    open_page("Queues")
    assert not at.exception
    assert len(wiring._COLLECTORS) == 1
    assert len(collector_threads()) == 1
    stop_collectors()
    assert collector_threads() == [], "stopped cleanly"


def test_a_second_configuration_gets_its_own_collector(recorded_flower, monkeypatch):
    open_page("Overview")
    monkeypatch.setenv("OPS_POLL_SECONDS", "2")
    open_page("Overview")
    assert len(wiring._COLLECTORS) == 2 and len(collector_threads()) == 2


def test_external_mode_starts_no_thread_and_reads_the_store(recorded_flower, monkeypatch):
    import os

    from lib.collector import Collector
    from lib.settings import load_settings
    from lib.store import Store

    settings = load_settings(os.environ, {})
    store = Store.from_settings(settings)
    Collector(settings, store).poll()  # what `./ops collect` writes
    store.close()
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    at = open_page("Tasks")
    assert not at.exception
    assert collector_threads() == []
    assert len(at.dataframe[0].value) == len(recorded_flower.tasks)
    workers = open_page("Workers")
    assert len(workers.dataframe[0].value) == 2
    assert "Not sampled, so not shown here: heartbeat" in texts(workers)


def test_a_hung_flower_shows_the_last_good_data_with_the_banner(recorded_flower, monkeypatch):
    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    at = open_page("Workers", timeout=5)  # no page run may wait on Flower
    assert len(at.dataframe[0].value) == 2
    recorded_flower.fault = "hang"  # accepts, never answers
    run_until(at, lambda at: "has not answered for" in texts(at), timeout=15)
    assert not at.exception
    assert "Flower has not answered for" in texts(at)
    assert "(timeout 1 s)" in texts(at)
    assert len(at.dataframe[0].value) == 2, "the last good workers stay on screen"
    assert any("last good workers" in w.value for w in at.warning)
    recorded_flower.fault = None  # answers again: the banner goes with the next polls
    run_until(at, lambda at: "has not answered" not in texts(at), timeout=15)
    assert "has not answered" not in texts(at)


def test_the_first_page_on_a_hung_flower_does_not_block(recorded_flower, monkeypatch):
    from lib.ui import readings

    monkeypatch.setenv("FLOWER_TIMEOUT", "5")
    # The wait well inside one hung request (5 s), so the first poll cannot end within it.
    monkeypatch.setattr(readings, "FIRST_READ_WAIT", 0.5)
    recorded_flower.fault = "hang"
    at = open_page("Overview", timeout=8)
    assert not at.exception
    assert "The collector has not finished its first read of Flower yet" in texts(at)
    assert at.title[0].value == "Overview", "the page ran to its end"


def test_the_banner_and_the_sidebar_say_times_in_the_viewers_timezone(recorded_flower, monkeypatch):
    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    at = open_page("Workers", timeout=5, tz="Asia/Tokyo")
    recorded_flower.fault = "hang"
    # The sidebar runs before the page: a poll that fails between the two shows the banner in
    # the page only until the next rerun. Wait for both.
    run_until(at, lambda at: "has not answered for" in texts(at) and at.sidebar.error, timeout=15)
    assert not at.exception
    banner = next(w.value for w in at.warning if "has not answered for" in w.value)
    assert "the store holds data up to" in banner and " JST" in banner, banner
    assert "UTC" not in banner
    sidebar = " ".join(e.value for e in at.sidebar.error) + " ".join(
        c.value for c in at.sidebar.caption
    )
    assert "has not answered for" in sidebar and " JST" in sidebar and "UTC" not in sidebar


def test_an_open_tasks_tab_shows_the_collectors_health_now(recorded_flower, monkeypatch):
    """The Tasks page keeps its rows until Refresh (a selection must not move), but its banner
    is the collector's health now: it appears, counts, and goes without a Refresh."""

    def banner(at) -> str:
        return " ".join(w.value for w in at.main.warning if "last good tasks" in w.value)

    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    at = open_page("Tasks", timeout=5)
    rows = len(at.dataframe[0].value)
    recorded_flower.fault = "hang"
    run_until(at, lambda at: "has not answered for" in banner(at), timeout=15)
    assert "Flower has not answered for" in banner(at)
    assert len(at.dataframe[0].value) == rows, "the kept rows stay"
    recorded_flower.fault = None
    run_until(at, lambda at: not banner(at), timeout=15)
    assert banner(at) == "" and not at.exception


def test_a_restarted_console_shows_the_stored_data_at_once_then_the_banner(
    recorded_flower, monkeypatch
):
    import os

    from lib.collector import Collector
    from lib.settings import load_settings
    from lib.store import Store

    settings = load_settings(os.environ, {})
    store = Store.from_settings(settings)
    Collector(settings, store).poll()  # what the console's collector wrote before the restart
    store.close()
    monkeypatch.setenv("FLOWER_TIMEOUT", "5")
    recorded_flower.fault = "hang"  # the restarted console's Flower accepts, never answers
    at = open_page("Overview", timeout=4)  # a run waiting one hung request would time out
    assert not at.exception
    shown = texts(at)
    assert "has not finished its first read" not in shown
    assert "Sampled before this console started" in shown
    assert [m.label for m in at.metric][:2] == ["Workers online", "Processed"]
    assert at.metric[0].value == "2/2" and len(at.dataframe[0].value) == 2
    run_until(at, lambda at: "has not answered for" in texts(at), timeout=20)
    assert "Flower has not answered for" in texts(at) and "(timeout 5 s)" in texts(at)
    assert at.metric[0].value == "2/2", "the stored data stays on screen"


class PagedRecordedFlower(RecordedFlower):
    """The recorded Flower paging its tasks for real (newest first); from the second page on
    it never answers, so the console's first load stays under way."""

    def __call__(self, method: str, path: str):
        parts = urlsplit(path)
        if parts.path != "/api/tasks":
            return super().__call__(method, path)
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        if query.get("offset", 0):
            return "hang"
        newest = sorted(self.tasks.values(), key=lambda t: -(t.get("timestamp") or 0))
        return 200, json.dumps({t["uuid"]: t for t in newest[: query["limit"]]}), {}


def first_page_shown(at) -> bool:
    return "Catching up: 2 of ~" in texts(at.sidebar) and len(at.dataframe) > 0


def test_the_sidebar_says_how_far_a_first_load_is_and_shows_the_tasks_so_far(monkeypatch, tmp_path):
    from lib.collector import loop

    monkeypatch.setattr(loop, "PAGE_SIZE", 2)
    monkeypatch.setenv("FLOWER_TIMEOUT", "20")  # the second page hangs longer than this test
    with console_on(PagedRecordedFlower(), monkeypatch, tmp_path) as flower:
        at = open_page("Tasks", timeout=10)
        run_until(at, first_page_shown, timeout=10)
        sidebar = texts(at.sidebar)
        assert f"Catching up: 2 of ~{len(flower.tasks)} new tasks." in sidebar
        assert "2 tasks loaded so far" in sidebar
        assert len(at.dataframe[0].value) == 2, "the newest tasks are on the page already"
    # Leaving ``console_on`` ends the hung request; the fixture then stops the collector.
