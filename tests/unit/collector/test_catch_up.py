"""A full load writes page by page: the store holds the newest tasks while the walk goes on, the
health says how far it is, and a collector stopped midway resumes to a store equal to Flower."""

from __future__ import annotations

import threading

import pytest

from lib.collector import Collector, catch_up_sentence
from lib.collector.stored import StoredReadout
from lib.monitor import ClusterMonitor
from lib.store import Store
from tests.factories import task_payload
from tests.scripted_server import ScriptedServer
from tests.unit.collector.conftest import served
from tests.unit.collector.test_loop import NOW, FakeFlower, settings_for

PAGE = 2


class PagedFlower(FakeFlower):
    """``FakeFlower`` that counts task pages, calls ``on_page(n)`` before answering the n-th,
    and answers the datatable's total (the progress line's estimate)."""

    def __init__(self, tasks: list[dict]):
        super().__init__(tasks)
        self.pages = 0
        self.on_page = lambda n: None

    def _answer(self, path: str, query: dict) -> object:
        if path == "/api/tasks":
            self.pages += 1
            self.on_page(self.pages)
        if path == "/tasks/datatable":
            return {"recordsTotal": len(self.tasks), "data": []}
        return super()._answer(path, query)


def named(prefix: str, count: int, at: float) -> list[dict]:
    return [task_payload(f"{prefix}{i:02d}", at=at + i) for i in range(count)]


@pytest.fixture
def flower():
    fake = PagedFlower(named("t", 7, NOW - 600))
    with served(fake):
        yield fake


def collector_of(flower, store, tmp_path, **kw) -> Collector:
    collector = Collector(settings_for(flower, tmp_path), store, **kw)
    collector.sync.page_size = PAGE
    return collector


def in_flower(store: Store) -> dict[str, bool]:
    frame = store.tasks_window(0.0, NOW + 3600)
    return dict(zip(frame["uuid"], frame["in_flower"], strict=True))


def test_pages_reach_the_store_and_the_health_while_the_walk_goes_on(flower, store, tmp_path):
    collector = collector_of(flower, store, tmp_path)
    monitor = ClusterMonitor(collector.settings, store, collector)
    seen = {}

    def look(page: int) -> None:
        if page == 3:  # two pages written, the third asked for
            seen["stored"] = set(in_flower(store))
            seen["sentence"] = catch_up_sentence(collector.health)
            seen["external"] = StoredReadout(collector.settings, store).health.catching_up
            reading = monitor.tasks()
            seen["reading"] = (len(reading.value), reading.note)
            seen["sidebar"] = monitor.status().catching_up

    flower.on_page = look
    report = collector.poll()
    assert report.mode == "full" and report.fetched == 7
    assert seen["stored"] == {"t06", "t05", "t04", "t03"}, "the newest tasks first"
    assert seen["sentence"] == "Catching up: 4 of ~7 new tasks."
    assert seen["external"] == 4, "a console reading the store sees the progress too"
    assert seen["reading"] == (4, "Catching up: 4 of ~7 new tasks.")
    assert seen["sidebar"] == seen["sentence"]
    assert collector.health.catching_up is None and catch_up_sentence(collector.health) == ""
    assert monitor.status().catching_up == "" and set(in_flower(store)) == {
        f"t{i:02d}" for i in range(7)
    }


def test_a_collector_stopped_mid_walk_resumes_to_a_store_equal_to_flower(flower, store, tmp_path):
    collector_of(flower, store, tmp_path).poll()  # a first load: t00..t06 held
    flower.pages = 0
    flower.tasks = {t["uuid"]: t for t in named("n", 7, NOW - 60)}  # Flower restarted
    first = collector_of(flower, store, tmp_path)
    watermark = first.sync.watermark
    flower.on_page = lambda n: n == 2 and first.stop()  # the second page is the last read
    report = first.poll()
    assert report.mode == "partial" and report.fetched == 2 * PAGE
    held = in_flower(store)
    assert {u for u in held if u.startswith("n")} == {"n06", "n05", "n04", "n03"}
    assert all(held[f"t{i:02d}"] for i in range(7)), "nothing is marked gone mid-walk"
    assert store.kept("collector/default")["cursor"]["watermark"] == watermark

    flower.on_page = lambda n: None
    again = collector_of(flower, store, tmp_path)
    assert again.resumed and again.sync.watermark == watermark
    assert again.poll().mode == "full"
    held = in_flower(store)
    assert {u for u, kept in held.items() if kept} == set(flower.tasks)
    assert not any(held[f"t{i:02d}"] for i in range(7)), "the forgotten ones are marked gone"
    newest = max(t["timestamp"] for t in flower.tasks.values())
    assert again.sync.watermark == newest


def test_a_first_load_stopped_mid_walk_is_walked_again_on_restart(flower, store, tmp_path):
    first = collector_of(flower, store, tmp_path)
    flower.on_page = lambda n: n == 1 and first.stop()
    assert first.poll().mode == "partial"
    assert store.kept("collector/default")["cursor"]["watermark"] is None
    flower.on_page = lambda n: None
    again = collector_of(flower, store, tmp_path)
    assert not again.resumed and again.poll().mode == "full"
    assert in_flower(store) == dict.fromkeys(flower.tasks, True)


def test_stop_ends_a_long_walk_in_the_thread_between_pages(store, tmp_path):
    fake = PagedFlower(named("t", 200, NOW - 600))
    reached, reports = threading.Event(), []
    fake.on_page = lambda n: n == 3 and reached.set()
    with ScriptedServer(fake) as server:
        fake.url, fake.requests = server.url, server.requests
        collector = collector_of(fake, store, tmp_path, on_poll=lambda r, h: reports.append(r))
        collector.start()
        assert reached.wait(10)
        assert collector.stop()
    assert reports[0].mode == "partial" and reports[0].fetched < 200
    assert collector.health.catching_up is None


def test_a_held_first_poll_waits_for_its_hold(flower, store, tmp_path):
    """A starting server builds the pages' readings from the store before the first poll."""
    hold = threading.Event()
    collector = collector_of(flower, store, tmp_path)
    collector.start(hold, at_most=30)
    try:
        assert not collector.wait_polled(0, 0.5) and flower.requests == []
        hold.set()
        assert collector.wait_polled(0, 10) and flower.requests
    finally:
        assert collector.stop()


def test_a_held_first_poll_comes_after_at_most_without_its_hold(flower, store, tmp_path):
    collector = collector_of(flower, store, tmp_path)
    collector.start(threading.Event(), at_most=0.3)  # never set: a warm-up that hangs
    try:
        assert collector.wait_polled(0, 10) and flower.requests
    finally:
        assert collector.stop()
