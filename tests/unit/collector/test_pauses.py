"""The collector keeps a paused queue paused: a worker consuming it again is verified with a
fresh inspect, then its consumer cancelled, audited as "collector"; a stale cache sends nothing."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pandas as pd
import pytest

from lib.audit import AuditLog
from lib.collector.pauses import PauseKeeper
from lib.flower import FlowerClient
from lib.store import Store
from lib.store.pauses import PauseBook, QueuePause
from tests.scripted_server import ScriptedServer


class FreshInspect:
    """Flower answering one worker's inspect with ``consumes`` and any consumer POST with 200."""

    def __init__(self):
        self.consumes = ["etl", "default"]

    def __call__(self, method: str, path: str):
        url = urlsplit(path)
        if method == "GET" and url.path == "/api/workers":
            queues = [{"name": q} for q in self.consumes]
            return 200, json.dumps({"w1@h": {"active_queues": queues}}), {}
        if method == "POST":
            self.consumes = [q for q in self.consumes if q != "etl"]
            return 200, json.dumps({"message": "no longer consuming from etl"}), {}
        return 404, "", {}


def workers_frame(queues: str, online: bool = True) -> pd.DataFrame:
    return pd.DataFrame({"worker": ["w1@h"], "online": [online], "queues": [queues]})


@pytest.fixture
def keeper(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    flower = FreshInspect()
    with ScriptedServer(flower) as server:
        keeper = PauseKeeper(FlowerClient(server.url, timeout=3), store, lambda: 500.0)
        keeper.flower, keeper.server, keeper.store_url = flower, server, store.url
        PauseBook(store).pause(QueuePause("etl", 100.0, "olga", ("w2@h",)))
        yield keeper
    store.close()


def posts(keeper) -> list[str]:
    return [p for m, p, _, _ in keeper.server.requests if m == "POST"]


def test_a_worker_consuming_a_paused_queue_again_is_cancelled_and_audited(keeper):
    remembered: list[dict] = []
    assert keeper.enforce(workers_frame("default, etl"), remembered.append) == 1
    assert posts(keeper) == ["/api/worker/queue/cancel-consumer/w1@h"]
    row = AuditLog(keeper.store_url).rows()[0]
    assert (row.user, row.action, row.outcome) == ("collector", "pause", "sent")
    assert "cancelled again on w1@h" in row.message
    assert keeper.book.pause_of("etl").workers == ("w2@h", "w1@h"), "resume gives it back too"
    assert remembered[-1]["w1@h"]["active_queues"] == [{"name": "default"}], "cache refreshed"


@pytest.mark.parametrize(
    ("frame", "consumes"),
    [
        (workers_frame("default, etl"), ["default"]),  # the cache predates the cancel
        (workers_frame("default"), ["etl"]),  # the frame does not name it: not asked
        (workers_frame("default, etl", online=False), ["etl"]),  # offline: not asked
    ],
    ids=["stale-cache", "not-consuming", "offline"],
)
def test_nothing_is_sent_unless_a_fresh_inspect_says_the_worker_consumes_it(
    keeper, frame, consumes
):
    keeper.flower.consumes = consumes
    assert keeper.enforce(frame, lambda info: None) == 0
    assert posts(keeper) == []
    assert keeper.book.pause_of("etl").workers == ("w2@h",)


def test_a_worker_starting_on_a_queue_paused_while_nobody_consumed_it_is_cancelled(keeper):
    # Paused during a deploy (no worker up): the first worker to consume it is cancelled and
    # becomes the pause's worker, so Resume gives the queue back to it.
    book = keeper.book
    book.resume("etl")
    book.pause(QueuePause("etl", 100.0, "olga", ()))
    assert keeper.enforce(workers_frame("etl, default"), lambda info: None) == 1
    assert posts(keeper) == ["/api/worker/queue/cancel-consumer/w1@h"]
    assert book.pause_of("etl").workers == ("w1@h",)


def test_a_named_clusters_cancel_is_audited_in_the_shared_log_naming_the_cluster(tmp_path):
    """The collector of cluster staging keeps its pauses in staging's own store, and audits in
    the console's one log (OPS_STORE_URL), not in staging's namespace."""
    shared = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(f"sqlite:///{tmp_path / 'store.staging.sqlite3'}")
    with ScriptedServer(FreshInspect()) as server:
        client = FlowerClient(server.url, timeout=3)
        keeper = PauseKeeper(client, store, lambda: 500.0, shared, "staging")
        PauseBook(store).pause(QueuePause("etl", 100.0, "olga", ()))
        assert keeper.enforce(workers_frame("default, etl"), lambda _: None) == 1
    (row,) = AuditLog(shared).rows()
    assert (row.user, row.cluster, row.outcome) == ("collector", "staging", "sent")
    assert AuditLog(store.url).rows() == [], "nothing in the cluster's own namespace"
    store.close()
