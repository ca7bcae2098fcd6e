"""Every cluster of OPS_CLUSTERS_FILE started with the server (``lib.ui.wiring.start``): one
collector each, side by side, so a Flower that hangs delays neither the others' warm-up nor the
start by more than FIRST_POLL_WAIT; ``stop_collectors`` stops them all."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from lib.clusters import load_clusters
from lib.collector import Collector
from lib.settings import load_settings
from lib.store import Store
from lib.ui import wiring
from tests.live import wait_until
from tests.scripted_server import ScriptedServer


class HungFlower:
    """Answers nothing until ``release()`` (then 503s): a Flower that hangs, for as long as
    the test wants."""

    def __init__(self):
        self.gate = threading.Event()

    def __call__(self, method: str, path: str):
        self.gate.wait(120)
        return 503, "", {}

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def hung_flower():
    fake = HungFlower()
    with ScriptedServer(fake) as server:
        fake.url = server.url
        yield fake
        fake.release()


@pytest.fixture
def two_clusters(recorded_flower, hung_flower, monkeypatch, tmp_path):
    """``hung`` then ``good`` (the recorded Flower), in a clusters file; one poll a minute.
    The hung one first: a start that took the clusters in turn would wait on it."""
    path = Path(tmp_path) / "clusters.toml"
    path.write_text(
        f'[clusters.hung]\nflower_url = "{hung_flower.url}"\nflower_timeout = 120\n\n'
        f'[clusters.good]\nflower_url = "{os.environ["FLOWER_URL"]}"\n'
    )
    monkeypatch.setenv("OPS_CLUSTERS_FILE", str(path))
    monkeypatch.setenv("OPS_POLL_SECONDS", "60")
    settings = load_settings(os.environ, {})
    return settings, load_clusters(settings, os.environ, {})


def collectors() -> dict[str, object]:
    return {c.cluster: c for c in wiring._COLLECTORS.values()}


def starting(cluster: str) -> bool:
    return any(t.name == f"console-start-{cluster}" for t in threading.enumerate())


def test_a_hung_flower_does_not_hold_back_the_other_clusters_warm_up(two_clusters, hung_flower):
    settings, book = two_clusters
    start = threading.Thread(target=wiring.start, args=(settings,), daemon=True)
    start.start()
    try:
        wait_until(lambda: set(collectors()) == {"good", "hung"}, "both collectors started")
        wait_until(lambda: not starting("good"), "the good cluster warmed after its first poll")
        good = wiring.console(book.get("good")).monitor
        assert good.version >= 1 and good.tasks_held() > 0
        assert starting("hung") and collectors()["hung"].health.polls == 0
        assert start.is_alive(), "the start waits for the hung cluster's first poll, bounded"
    finally:
        hung_flower.release()  # its request ends: the hung cluster's first poll ends
        start.join(60)
    assert not start.is_alive()


def test_the_start_returns_without_a_first_poll_that_hangs(two_clusters, monkeypatch):
    settings, book = two_clusters
    monkeypatch.setattr(wiring, "FIRST_POLL_WAIT", 0.5)
    wiring.start(settings)  # returns: neither first poll is waited beyond the one deadline
    assert collectors()["hung"].health.polls == 0, "the hung Flower has not answered yet"
    consoles = {name: wiring.console(book.get(name)) for name in book.names}
    assert {c.settings.cluster for c in consoles.values()} == {"good", "hung"}
    assert consoles["hung"].settings.cluster_store_url.endswith("store.hung.sqlite3")


def test_stop_collectors_stops_every_cluster(two_clusters, hung_flower, monkeypatch):
    settings, _ = two_clusters
    monkeypatch.setattr(wiring, "FIRST_POLL_WAIT", 0.1)
    wiring.start(settings)
    running = list(collectors().values())
    assert len(running) == 2
    hung_flower.release()  # else its stop waits out the request (FLOWER_TIMEOUT)
    wiring.stop_collectors()
    assert wiring._COLLECTORS == {}
    assert not any(c._thread.is_alive() for c in running)


def test_an_external_console_reads_what_ops_collect_wrote_for_its_cluster(
    two_clusters, monkeypatch
):
    _, book = two_clusters
    good = book.get("good")
    store = Store.from_settings(good)
    Collector(good, store, cluster="good").poll()  # what `./ops collect` writes for it
    store.close()
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    external = load_clusters(load_settings(os.environ, {}), os.environ, {}).get("good")
    monitor = wiring.console(external).monitor
    assert collectors() == {}, "no thread of its own"
    assert monitor.health.cluster == "good" and monitor.health.polls == 1
    assert monitor.tasks_held() > 0
