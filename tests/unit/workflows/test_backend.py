"""The bounded, cached result-backend reads and the remembered task names."""

from __future__ import annotations

from lib.errors import BackendError
from lib.workflows.backend import KnownNames, MetaCache
from tests.unit.workflows.factories import progress_meta, progress_record


class Backend:
    def __init__(self, records: dict[str, dict]):
        self.records, self.reads, self.down = records, [], False

    def __call__(self, uuid: str):
        self.reads.append(uuid)
        if self.down:
            raise BackendError("The result backend at redis://x cannot be read: refused.")
        return self.records.get(uuid)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_meta_cache_reads_once_per_ttl_and_finished_records_never_again():
    backend, clock = (
        Backend({"run": progress_meta(), "done": {"status": "SUCCESS", "result": 1}}),
        Clock(),
    )
    cache = MetaCache(backend, ttl=2.0, clock=clock)
    assert set(cache.read(["run", "done", "none"]).metas) == {"run", "done"}
    cache.read(["run", "done", "none"])
    assert backend.reads == ["run", "done", "none"]
    clock.now += 2.0
    cache.read(["run", "done", "none"])
    assert backend.reads[3:] == ["run", "none"]


def test_meta_cache_limit_skips_the_rest():
    backend = Backend({})
    reading = MetaCache(backend, ttl=1.0, limit=2, clock=Clock()).read(["a", "b", "c", "d"])
    assert backend.reads == ["a", "b"] and reading.skipped == 2


def test_a_down_backend_costs_one_read_then_rests_and_last_known_values_stay():
    backend, clock = Backend({"run": progress_meta(30.0), "two": progress_meta(60.0)}), Clock()
    cache = MetaCache(backend, ttl=2.0, clock=clock)
    cache.read(["run", "two"])
    backend.down, clock.now = True, clock.now + 5
    reading = cache.read(["run", "two"])
    assert backend.reads == ["run", "two", "run"], "stops at the first failure"
    assert "cannot be read" in reading.error
    assert reading.metas["two"]["result"]["progress"] == 60.0, "last known values are kept"
    cache.read(["run", "two"])
    assert len(backend.reads) == 3, "no new attempt within the ttl"
    assert set(cache.known()) == {"run", "two"}


def test_meta_cache_keeps_the_last_progress_after_the_task_fails():
    backend, clock = Backend({"job": progress_record(progress=30.0)}), Clock()
    cache = MetaCache(backend, ttl=1.0, clock=clock)
    cache.read(["job"])
    backend.records["job"] = progress_record(progress=60.0, loss=0.5)
    clock.now += 1
    cache.read(["job"])
    # A failure overwrites the backend's record with the exception: the meta is gone there.
    backend.records["job"] = {"status": "FAILURE", "result": {"exc_type": "RuntimeError"}}
    clock.now += 1
    assert cache.read(["job"]).metas["job"]["status"] == "FAILURE"
    assert cache.progress() == {"job": progress_record(progress=60.0, loss=0.5)}
    assert cache.progress(["job", "none"]) == {"job": progress_record(progress=60.0, loss=0.5)}


def test_known_names_are_remembered_across_refreshes_and_bounded():
    memory = KnownNames(limit=2)
    assert memory.add({"jobs.optimise"}) == {"jobs.optimise"}
    assert memory.names == {"jobs.optimise"}, "remembered across refreshes"
    assert memory.add(["a", "b"]) == {"a", "b"}, "bounded: the oldest name goes first"
    assert memory.add(["a", "c"]) == {"a", "c"}, "a name seen again is young again"
