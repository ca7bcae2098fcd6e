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
