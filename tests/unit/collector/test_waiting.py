"""The per-worker inspect of what waits (``lib.collector.waiting``) against a real scripted
HTTP server: each worker read on its own, a hung one said by name without hiding the others,
arguments never kept, the interval, and the round kept in the snapshot and the store."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.collector import Collector
from lib.collector import waiting as waiting_work
from lib.collector.stored import StoredReadout
from lib.collector.waiting import MAX_LISTED, WaitingReader, waiting_key, worker_record
from lib.flower import FlowerClient
from lib.settings import Settings
from tests.unit.collector.conftest import served

SECRET = "hunter2-arg"
ETA = "2026-11-30T20:00:00+00:00"


def inspect_info(worker: str) -> dict:
    """A worker's inspect as Flower 2.2 answers ``?refresh=1&workername=W`` (reference §4)."""
    delivery = {"exchange": "", "routing_key": "ml", "priority": 0, "redelivered": False}
    request = {
        "id": f"{worker}-s1",
        "name": "demo.train",
        "args": [SECRET],
        "kwargs": {"password": SECRET},
        "delivery_info": delivery,
        "hostname": worker,
    }
    return {
        "scheduled": [{"eta": ETA, "priority": 6, "request": request}],
        "reserved": [{**request, "id": f"{worker}-r1"}],
        "active": [{**request, "id": f"{worker}-a1", "time_start": 1_800_000_000.5}],
        "revoked": [f"{worker}-x1"],
        "stats": {"pid": 1},
    }


class InspectFlower:
    """Answers ``/api/workers?refresh=1&workername=W`` per worker; ``hung`` never answer,
    ``missing`` are 404 (Flower never inspected them)."""

    def __init__(self, online: list[str], hung: tuple[str, ...] = (), missing: tuple = ()):
        self.online, self.hung, self.missing = online, set(hung), set(missing)
        self.inspected: list[str] = []

    def __call__(self, method: str, path: str):
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        worker = query.get("workername")
        if parts.path == "/api/workers" and "status" in query:
            return 200, json.dumps(dict.fromkeys(self.online, True)), {}
        if parts.path == "/workers":
            rows = [{"hostname": w, "active": 0, "processed": 1} for w in self.online]
            return 200, json.dumps({"data": rows}), {}
        if parts.path == "/api/workers" and worker:
            self.inspected.append(worker)
            if worker in self.hung:
                return "hang"
            if worker in self.missing:
                return 404, "", {}
            return 200, json.dumps({worker: inspect_info(worker)}), {}
        if parts.path == "/api/workers":
            return 200, json.dumps({w: {"stats": {"pid": 1}} for w in self.online}), {}
        if parts.path == "/api/tasks":
            return 200, "{}", {}
        return 200, "{}", {}


def settings_for(flower, tmp_path, **kw) -> Settings:
    values = dict(flower_timeout=0.5, poll_seconds=1.0, data_dir=tmp_path)
    return Settings(flower_url=flower.url, **{**values, **kw})


def reader_for(flower, tmp_path) -> WaitingReader:
    client = FlowerClient.from_settings(settings_for(flower, tmp_path))
    return WaitingReader(client, every=30.0, budget=0.5)


def test_each_worker_is_read_on_its_own_and_arguments_are_never_kept(tmp_path):
    with served(InspectFlower(["w1@a", "w2@b"])) as flower:
        got = reader_for(flower, tmp_path).read(["w1@a", "w2@b"])
    assert sorted(flower.inspected) == ["w1@a", "w2@b"]
    w1 = got["workers"]["w1@a"]
    assert w1["scheduled"] == [
        {"id": "w1@a-s1", "name": "demo.train", "queue": "ml", "eta": ETA, "priority": 6}
    ]
    assert w1["reserved"] == [{"id": "w1@a-r1", "name": "demo.train", "queue": "ml"}]
    assert w1["active"][0]["time_start"] == 1_800_000_000.5
    assert w1["revoked"] == ["w1@a-x1"] and w1["error"] == ""
    assert SECRET not in json.dumps(got) and "password" not in json.dumps(got)


def test_a_hung_worker_is_said_by_name_and_does_not_hide_the_others(tmp_path):
    online = ["w1@a", "slow@b", "gone@c"]
    with served(InspectFlower(online, hung=("slow@b",), missing=("gone@c",))) as flower:
        reader = reader_for(flower, tmp_path)
        got = reader.read(online)
        assert got["workers"]["w1@a"]["scheduled"], "the answering worker is listed"
        slow = got["workers"]["slow@b"]
        assert "No answer within 0.5 s" in slow["error"] and slow["scheduled"] == []
        assert got["workers"]["gone@c"]["error"]
        flower.hung = set()
        again = reader.read(online)
    assert again["workers"]["slow@b"]["error"] == "" and again["workers"]["slow@b"]["scheduled"]


def test_a_worker_that_failed_keeps_its_last_good_lists_and_goes_first(tmp_path, monkeypatch):
    monkeypatch.setattr(waiting_work, "PARALLEL", 1)  # one at a time: the order is the server's
    online = ["w1@a", "w2@b"]
    with served(InspectFlower(online)) as flower:
        reader = reader_for(flower, tmp_path)
        reader.read(online)
        flower.hung = {"w2@b"}
        got = reader.read(online)
        assert got["workers"]["w2@b"]["reserved"] == [
            {"id": "w2@b-r1", "name": "demo.train", "queue": "ml"}
        ], "the last good list stays, with why it may be old"
        assert "No answer" in got["workers"]["w2@b"]["error"]
        flower.inspected.clear()
        reader.read(online)
    assert flower.inspected[0] == "w2@b", "the worker read longest ago goes first"


def test_workers_past_the_budget_are_not_inspected_and_say_so(tmp_path):
    online = [f"w{i}@h" for i in range(waiting_work.PARALLEL + 1)]
    with served(InspectFlower(online, hung=tuple(online))) as flower:
        got = reader_for(flower, tmp_path).read(online)
    assert len(flower.inspected) == waiting_work.PARALLEL, "no request starts past the budget"
    left = [w for w, r in got["workers"].items() if "not inspected this round" in r["error"]]
    assert len(left) == 1


def test_a_kind_the_worker_did_not_answer_keeps_the_last_list_and_is_named():
    before = worker_record(inspect_info("w1@a"), 1.0)
    partial = {k: v for k, v in inspect_info("w1@a").items() if k != "revoked"}
    partial["reserved"] = []
    record = worker_record(partial, 2.0, before)
    assert record["revoked"] == ["w1@a-x1"] and record["reserved"] == []
    assert record["error"] == "did not answer the inspect of revoked"


def test_long_lists_are_capped_with_their_full_count():
    info = {**inspect_info("w1@a"), "revoked": [f"id-{i}" for i in range(MAX_LISTED + 7)]}
    record = worker_record(info, 1.0)
    assert len(record["revoked"]) == MAX_LISTED and record["counts"]["revoked"] == MAX_LISTED + 7


@pytest.fixture
def inspect_flower():
    with served(InspectFlower(["w1@a", "w2@b"])) as flower:
        yield flower


def test_the_collector_reads_on_its_interval_and_keeps_the_round(inspect_flower, store, tmp_path):
    settings = settings_for(inspect_flower, tmp_path)
    collector = Collector(settings, store)
    collector.poll()
    assert sorted(inspect_flower.inspected) == ["w1@a", "w2@b"]
    assert collector.snapshot.waiting["workers"]["w1@a"]["scheduled"][0]["eta"] == ETA
    assert store.kept(waiting_key("default")) == collector.snapshot.waiting
    collector.poll()
    assert len(inspect_flower.inspected) == 2, "not due again within WAITING_EVERY_SECONDS"
    collector.wake()  # after an action: read again at the next poll
    collector.poll()
    assert len(inspect_flower.inspected) == 4
    external = StoredReadout(settings, store).snapshot
    assert external.waiting == collector.snapshot.waiting, "an external console sees the round"


def test_the_interval_is_the_constant_or_the_poll_interval_if_longer(
    inspect_flower, store, tmp_path, monkeypatch
):
    monkeypatch.setattr(waiting_work, "WAITING_EVERY_SECONDS", 0.0)
    clock = [time.time()]
    collector = Collector(settings_for(inspect_flower, tmp_path), store, clock=lambda: clock[0])
    collector.poll()
    clock[0] += 0.5  # under the 1 s poll interval
    collector.poll()
    assert len(inspect_flower.inspected) == 2
    clock[0] += 0.5
    collector.poll()
    assert len(inspect_flower.inspected) == 4
