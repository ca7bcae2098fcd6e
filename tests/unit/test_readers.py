"""Workers read from a real HTTP Flower (recorded payloads) whose inspect refresh is slow."""

from __future__ import annotations

from lib.flower import FlowerClient
from lib.readers import WorkerReader
from tests.recorded import RecordedFlower, recorded
from tests.scripted_server import ScriptedServer


class SlowInspect(RecordedFlower):
    """Flower whose ``/api/workers?refresh=1`` outlasts the client's timeout (its broadcast
    inspect waits for every worker), while everything else answers at once."""

    def __call__(self, method: str, path: str):
        if path.startswith("/api/workers?refresh=1"):
            return "hang"
        return super().__call__(method, path)


def test_a_slow_inspect_refresh_keeps_the_workers_and_says_why():
    flower = SlowInspect()
    with ScriptedServer(flower) as server:
        reader = WorkerReader(FlowerClient(server.url, None, 0.5), clock=lambda: 1000.0)
        workers, note = reader.read()
        again, _ = reader.read()
        refreshes = [p for _, p, _, _ in server.requests if p.startswith("/api/workers?refresh")]
    assert sorted(workers["worker"]) == sorted(recorded("workers_status"))
    assert "did not answer" in note and "inspect" in note, note
    queues = workers.set_index("worker")["queues"].dropna()
    assert len(queues) > 0, "pool and queues from Flower's cached inspect"
    assert len(refreshes) == 1, "a failed refresh is not repeated every poll"
    assert len(again) == len(workers)


def test_a_worker_restarted_under_the_same_name_is_inspected_again_at_once():
    """Its heartbeats' pid is no longer the inspected one: its queues are those of the old
    process until Flower inspects it again (a paused queue must be seen within one poll)."""
    import json

    from tests.recorded import recorded

    flower = RecordedFlower()
    with ScriptedServer(flower) as server:
        reader = WorkerReader(FlowerClient(server.url, None, 3), clock=lambda: 1000.0)

        def refreshes() -> int:
            return sum(p.startswith("/api/workers?refresh") for _, p, _, _ in server.requests)

        reader.read()
        reader.read()
        assert refreshes() == 1, "the same processes: the cache waits its minute"
        beats = recorded("workers_ui")
        beats["data"][0]["pid"] += 100  # w1 restarted: its heartbeats carry the new pid
        flower.answers["workers_ui"] = (200, json.dumps(beats), {})
        reader.read()
        assert refreshes() == 2, "a restarted worker is inspected at the next read"
        info = recorded("workers")
        info["w1@vm"]["stats"]["pid"] += 100  # Flower's inspect now has the new process
        flower.answers["workers"] = (200, json.dumps(info), {})
        reader.read()
        reader.read()
        assert refreshes() == 3, "once inspected, the new process is not asked again"
        beats["data"][1]["pid"] += 100  # w2's new process, but offline: it would not answer
        flower.answers["workers_ui"] = (200, json.dumps(beats), {})
        flower.answers["workers_status"] = (200, json.dumps({"w1@vm": True, "w2@vm": False}), {})
        reader.read()
        assert refreshes() == 3, "an offline worker is not inspected each poll"
