"""The collector's read of training jobs' progress meta: from the stored in-flight tasks the
training views take, bounded, into the snapshot the Workflows page reads; a failed job keeps
its last numbers. The backend is the seam here (a dict by task id); the store is real SQLite."""

from __future__ import annotations

import time

import pytest

from lib.collector import Collector
from lib.collector.progress import TrainingProgress, in_flight
from lib.errors import BackendError
from lib.monitor import ClusterMonitor
from lib.store import Store
from tests.factories import task_payload
from tests.scripted_server import ScriptedServer
from tests.unit.collector.test_loop import FakeFlower, settings_for

NOW = time.time()


def running(uuid: str, name: str, **kw) -> dict:
    return task_payload(uuid, "STARTED", at=NOW - 30, name=name, routing_key="ml", **kw)


def meta(progress: float, loss: float, accuracy: float) -> dict:
    return {
        "status": "PROGRESS",
        "result": {"progress": progress, "loss": loss, "accuracy": accuracy},
    }


class Backend:
    """Records by task id, and the ids asked for; ``down`` makes every read fail."""

    def __init__(self, records: dict[str, dict]):
        self.records, self.asked, self.down = records, [], False

    def __call__(self, uuid: str) -> dict | None:
        self.asked.append(uuid)
        if self.down:
            raise BackendError("The result backend at redis://b/1 cannot be read: refused.")
        return self.records.get(uuid)


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    opened.upsert_tasks(
        [
            running("fit", "demo.train_model"),
            running("mystery", "ml.fit_model"),  # no rule takes it: its meta will say training
            running("adder", "demo.add"),
            task_payload("done", "SUCCESS", at=NOW - 5, name="demo.train_model"),
        ],
        NOW,
    )
    yield opened
    opened.close()


def test_in_flight_is_the_stored_tasks_not_final(store):
    assert sorted(in_flight(store)["uuid"]) == ["adder", "fit", "mystery"]


def test_a_poll_reads_the_running_training_jobs_and_keeps_a_failed_one_s_last_numbers(store):
    backend = Backend({"fit": meta(25.0, 0.5, 0.6), "mystery": meta(50.0, 0.4, 0.7)})
    progress = TrainingProgress(backend, None, ttl=0.0)
    got = progress.read(store)
    assert got.error is None and "done" not in backend.asked, "finished jobs are not read"
    assert got.metas["fit"]["result"]["progress"] == 25.0
    assert got.metas["mystery"]["result"]["loss"] == 0.4
    figures = {row["uuid"]: row for row in got.samples}
    assert figures["fit"] == {
        "uuid": "fit",
        "name": "demo.train_model",
        "progress": 25.0,
        "loss": 0.5,
        "accuracy": 0.6,
    }
    assert set(figures) == {"fit", "mystery"}, "only running jobs with a progress meta"
    backend.records["mystery"] = {"status": "FAILURE", "result": {"exc_type": "RuntimeError"}}
    again = progress.read(store)
    assert again.metas["mystery"]["result"]["loss"] == 0.4, "the last progress record stays"


def test_a_down_backend_costs_one_read_and_the_last_records_stay(store):
    backend = Backend({"fit": meta(25.0, 0.5, 0.6)})
    progress = TrainingProgress(backend, None, ttl=0.0)
    progress.read(store)
    backend.down, backend.asked = True, []
    got = progress.read(store)
    assert len(backend.asked) == 1 and "cannot be read" in got.error
    assert got.metas["fit"]["result"]["progress"] == 25.0
    assert got.samples == [], "last poll's numbers are not sampled again as this poll's"


def test_no_training_view_reads_nothing(store, tmp_path):
    path = tmp_path / "workflows.toml"
    path.write_text('[views.etl]\nkind = "pipeline"\ntitle = "ETL"\n')
    backend = Backend({})
    assert TrainingProgress(backend, path, ttl=0.0).read(store) is None and not backend.asked


def test_the_collector_keeps_the_records_in_its_snapshot_for_the_page(store, tmp_path):
    flower = FakeFlower([running("fit", "demo.train_model")])
    with ScriptedServer(flower) as server:
        flower.url = server.url
        settings = settings_for(flower, tmp_path, result_backend="redis://127.0.0.1:1/1")
        collector = Collector(settings, store)
        monitor = ClusterMonitor(settings, store, collector)
        assert monitor.training_metas() is None, "nothing read before the first poll"
        assert collector.progress is not None  # made for CELERY_RESULT_BACKEND
        collector.progress = TrainingProgress(Backend({"fit": meta(75.0, 0.2, 0.9)}), None, 0.0)
        collector.poll()
    reading = monitor.training_metas()
    assert reading.error is None and reading.value["fit"]["result"]["progress"] == 75.0
    sampled = store.progress_samples(0.0, NOW + 3600)
    assert sampled[["uuid", "name", "progress", "loss", "accuracy"]].values.tolist() == [
        ["fit", "demo.train_model", 75.0, 0.2, 0.9]
    ]
    assert not collector.health.last_error, "the backend's read is not Flower's problem"


def test_without_a_result_backend_the_collector_reads_no_progress(store, tmp_path):
    flower = FakeFlower([])
    flower.url = "http://127.0.0.1:1"
    assert Collector(settings_for(flower, tmp_path), store).progress is None


def test_progress_samples_keep_missing_figures_missing_and_retention_prunes_them(store):
    jobs = [{"uuid": "a", "name": "n", "progress": 10, "loss": "nan?", "accuracy": None}]
    assert store.record_progress(jobs, NOW - 20 * 86400) == 1
    store.record_progress([{"uuid": "a", "name": "n", "progress": 20.0}], NOW)
    sampled = store.progress_samples(0.0, NOW + 1)
    assert sampled["progress"].tolist() == [10.0, 20.0] and sampled["loss"].isna().all()
    pruned = store.prune(NOW, retention_days=14, success_days=2)
    assert pruned.deleted["progress_samples"] == 1
    assert store.progress_samples(0.0, NOW + 1)["progress"].tolist() == [20.0]
