"""Workflow views against a real cluster: training progress, an ETL chain, a chord's tree.

Tasks are sent by name from a separate producer, as any client would; what the views show is
compared with what the result backend says the tasks really returned.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import streamlit as st
from celery import chain, chord

from lib import frames
from lib import workflows as wf
from lib.broker import ResultBackend
from lib.collector import Collector
from lib.store import Store
from lib.workflows.config import load_workflows
from tests.apptest.test_workflows_page import open_workflows, tables
from tests.live import flower_tasks, live_settings, producer_app, send, wait_final, wait_until

TRAINING, ETL, _ = load_workflows().views
FAR = 4102444800.0  # 2100: a window end after every task


def tasks_now(cluster) -> pd.DataFrame:
    return frames.tasks_frame([{**t, "uuid": u} for u, t in flower_tasks(cluster).items()])


@pytest.fixture
def backend(cluster):
    return ResultBackend(cluster.backend_url)


@pytest.fixture
def canvas(cluster):
    """A producer of its own for chains and chords. Celery keeps some canvas results alive
    until exit, and each would then unsubscribe from a Redis already stopped; this app's
    subscriptions are dropped while Redis is up (as demo.tasks.disconnect does)."""
    app = producer_app(cluster)
    yield app
    consumer = getattr(app.backend, "result_consumer", None)
    if consumer is not None and hasattr(consumer, "subscribed_to"):
        consumer.subscribed_to.clear()
        consumer.stop()
    app.close()


def job_row(cluster, cache: wf.MetaCache, uuid: str) -> dict | None:
    tasks = tasks_now(cluster)
    metas = cache.read(wf.training_candidates(tasks, TRAINING)).metas | cache.progress()
    jobs = wf.training_jobs_frame(tasks, TRAINING, metas, datetime.now(UTC))
    rows = jobs[jobs["uuid"] == uuid]
    return rows.iloc[0].to_dict() if len(rows) else None


def test_training_job_shows_progress_while_running_and_final_accuracy_when_done(
    cluster, producer, backend
):
    uuid = send(producer, "demo.train_model", "live-net", epochs=12, step_seconds=0.5, queue="ml")
    cache = wf.MetaCache(backend.task_meta, ttl=0.0)

    def running_with_progress():
        row = job_row(cluster, cache, uuid)
        return row if row is not None and 0 < row["progress"] < 100 else None

    row = wait_until(running_with_progress, "the training job to report progress", timeout=60)
    assert row["model"] == "live-net"
    assert row["state"] in ("STARTED", "PROGRESS")
    assert row["source"] == "backend"
    assert row["progress"] in {round(100 * epoch / 12, 1) for epoch in range(1, 12)}
    assert row["eta"] > 0 and row["elapsed"] > 0
    assert row["eta"] == pytest.approx(row["elapsed"] * (100 - row["progress"]) / row["progress"])
    assert 0 < row["accuracy"] < 1 and row["loss"] > 0
    assert row["gpu"] in ("gpu0", "gpu1") and row["worker"].startswith("w2@")

    wait_final(cluster, [uuid], timeout=60)
    done = job_row(cluster, cache, uuid)
    truth = backend.task_meta(uuid)["result"]
    assert done["state"] == "SUCCESS" and done["source"] == "result"
    assert done["progress"] == 100.0
    assert done["accuracy"] == truth["accuracy"] and done["loss"] == truth["loss"]
    assert done["runtime"] > 12 * 0.5 * 0.9
    assert pd.isna(done["eta"])


def test_a_training_job_of_any_name_that_fails_keeps_its_last_loss_and_accuracy(
    cluster, producer, backend
):
    # "ml.fit_model" matches no rule: only its PROGRESS meta says it is training.
    uuid = send(
        producer, "ml.fit_model", "oom-net", steps=8, step_seconds=0.5, fail_at=8, queue="ml"
    )
    cache = wf.MetaCache(backend.task_meta, ttl=0.0)

    def reporting():
        row = job_row(cluster, cache, uuid)
        return row if row is not None and pd.notna(row["loss"]) else None

    seen = wait_until(reporting, "the job to report its loss", timeout=60)
    assert (seen["name"], seen["source"]) == ("ml.fit_model", "backend")
    assert seen["state"] in ("STARTED", "PROGRESS")

    failed = wait_final(cluster, [uuid], timeout=60)[uuid]
    assert "CUDA out of memory" in failed["exception"]
    assert backend.task_meta(uuid)["status"] == "FAILURE", "the backend no longer has the meta"
    row = job_row(cluster, cache, uuid)
    assert row is not None, "a failed job stays in the training view"
    assert (row["state"], row["source"], row["model"]) == ("FAILURE", "backend", "oom-net")
    last = cache.progress([uuid])[uuid]["result"]  # the last PROGRESS meta read before it failed
    assert (row["progress"], row["loss"], row["accuracy"]) == (
        last["progress"],
        last["loss"],
        last["accuracy"],
    )
    step = round(1 / row["loss"]) - 1  # the task reports loss 1/(s+1), accuracy s/(s+1)
    assert 1 <= step <= 7 and row["accuracy"] == round(step / (step + 1), 4)
    assert row["loss"] <= seen["loss"], "the last numbers, not the first ones seen"


def etl(producer, pid: str, fail_stage: str | None = None):
    def step(name: str, *args):
        extra = {"fail_stage": fail_stage} if fail_stage else {}
        sig = producer.signature(name, args=args, kwargs={"pipeline_id": pid, **extra})
        return sig.set(queue="etl")

    return chain(
        step("demo.extract", "s3://live/orders.csv"), step("demo.transform"), step("demo.load")
    )


def test_an_etl_chain_shows_its_three_stages_in_order(cluster, canvas, backend):
    sent = etl(canvas, "pl-live-ok").apply_async()
    ids = [sent.parent.parent.id, sent.parent.id, sent.id]
    wait_final(cluster, ids, timeout=60)
    stages = wf.pipeline_stages_frame(tasks_now(cluster), ETL)
    mine = stages[stages["pipeline"] == "pl-live-ok"]
    assert mine["stage"].tolist() == ["extract", "transform", "load"]
    assert mine["uuid"].tolist() == ids
    assert mine["state"].tolist() == ["SUCCESS"] * 3
    records = [backend.task_meta(u)["result"]["records"] for u in ids]
    assert mine["records"].tolist() == records
    assert mine["errors"].iloc[1] == backend.task_meta(ids[1])["result"]["dropped"]
    summary = wf.pipelines_frame(stages, ETL).set_index("pipeline").loc["pl-live-ok"]
    assert (summary["state"], summary["health"], summary["records"]) == (
        "SUCCESS",
        "healthy",
        records[-1],
    )


def test_a_chain_failing_in_transform_never_runs_load(cluster, canvas):
    sent = etl(canvas, "pl-live-bad", fail_stage="transform").apply_async()
    wait_final(cluster, [sent.parent.parent.id, sent.parent.id], timeout=60)
    stages = wf.pipeline_stages_frame(tasks_now(cluster), ETL)
    mine = stages[stages["pipeline"] == "pl-live-bad"]
    assert mine[["stage", "state"]].values.tolist() == [
        ["extract", "SUCCESS"],
        ["transform", "FAILURE"],
        ["load", "NOT RUN"],
    ]
    assert sent.id not in set(stages["uuid"].dropna()), "Flower never saw the load step"
    summary = wf.pipelines_frame(stages, ETL).set_index("pipeline").loc["pl-live-bad"]
    assert (summary["health"], summary["failing_stage"]) == ("unhealthy", "transform")


def test_a_chords_tree_has_a_group_of_headers_and_the_callback(cluster, canvas, backend):
    headers = [
        canvas.signature("demo.generate_report", args=(5000 + i,), kwargs={"seconds": 0.1}).set(queue="default")
        for i in range(3)
    ]  # fmt: skip
    callback = canvas.signature("demo.summarize_reports").set(queue="default")
    sent = chord(headers, callback).apply_async()
    header_ids = [r.id for r in sent.parent.results]
    wait_final(cluster, [*header_ids, sent.id], timeout=60)
    tasks, now = tasks_now(cluster), datetime.now(UTC)

    # Flower alone links the callback to the one header that completed the chord.
    alone = wf.workflow_tree_frame(tasks, sent.id, now)
    assert alone["role"].tolist() == ["root", "step"]
    assert alone["uuid"].iloc[0] in header_ids and alone["uuid"].iloc[1] == sent.id

    # With the backend's group ids every header joins, under one group node.
    cache = wf.MetaCache(backend.task_meta, ttl=0.0)
    groups = wf.group_ids_from(cache.read(wf.group_candidates(tasks, sent.id)).metas)
    tree = wf.workflow_tree_frame(tasks, sent.id, now, groups)
    assert tree[["depth", "role"]].values.tolist() == [
        [0, "group"],
        [1, "group member"],
        [1, "group member"],
        [1, "group member"],
        [1, "chord callback"],
    ]
    assert sorted(tree["uuid"].iloc[1:4]) == sorted(header_ids)
    assert tree["uuid"].iloc[4] == sent.id
    assert tree["name"].iloc[1:].tolist() == ["demo.generate_report"] * 3 + [
        "demo.summarize_reports"
    ]
    assert wf.workflow_summary(tree) == {
        "state": "SUCCESS",
        "tasks": 4,
        "missing": 0,
        "unfinished": [],
    }
    # The same tree from each header, linked by Flower to the callback or not: the callback
    # is still found and placed as the chord's, whichever header happened to finish last.
    shape = tree[["depth", "uuid", "role"]].fillna("-").values.tolist()
    for header in header_ids:
        groups = wf.group_ids_from(cache.read(wf.group_candidates(tasks, header)).metas)
        seen = wf.workflow_tree_frame(tasks, header, now, groups)
        assert seen[["depth", "uuid", "role"]].fillna("-").values.tolist() == shape, header


def page_job(uuid: str) -> dict | None:
    at = open_workflows()
    assert not at.exception, [e.message for e in at.exception]
    (jobs,) = tables(at, "progress")
    rows = jobs[jobs["uuid"] == uuid]
    return rows.iloc[0].to_dict() if len(rows) else None


def test_the_page_shows_a_running_jobs_progress_then_its_final_accuracy(
    live_env, producer, backend
):
    uuid = send(producer, "demo.train_model", "page-net", epochs=20, step_seconds=0.5, queue="ml")
    cache = wf.MetaCache(backend.task_meta, ttl=0.0)
    wait_until(
        lambda: (job_row(live_env, cache, uuid) or {"progress": 0})["progress"] > 0, "progress"
    )
    row = page_job(uuid)
    assert row is not None and row["state"] in ("STARTED", "PROGRESS")
    assert 0 < row["progress"] < 100 and row["eta"] > 0
    wait_final(live_env, [uuid], timeout=60)
    st.cache_resource.clear()  # a new console session: its first sync reads every task
    done = wait_until(
        lambda: (r := page_job(uuid)) and r["state"] == "SUCCESS" and r, "the final row"
    )
    assert done["progress"] == 100.0
    assert done["accuracy"] == backend.task_meta(uuid)["result"]["accuracy"]


def test_a_training_jobs_curves_are_the_progress_it_reported(cluster, producer, backend, tmp_path):
    """The collector samples a real ``demo.train_model`` each poll; the curves hold one point
    per epoch it saw, each an epoch's real report, and the last one is the job's result."""
    settings = live_settings(cluster, tmp_path, result_backend=cluster.backend_url)
    store = Store.from_settings(settings)
    collector = Collector(settings, store).start()
    try:
        uuid = send(
            producer, "demo.train_model", "curve-net", epochs=8, step_seconds=0.7, queue="ml"
        )
        wait_final(cluster, [uuid], timeout=60)
        done_at = collector.health.polls
        wait_until(lambda: collector.health.polls > done_at, "a poll after the job", timeout=10)
    finally:
        collector.stop(timeout=10)
    tasks = store.tasks_window(0.0, FAR)
    jobs = wf.training_jobs_frame(tasks, TRAINING, {}, datetime.now(UTC))
    jobs = jobs[jobs["uuid"] == uuid]
    curves = wf.training_curves_frame(store.progress_of([uuid], 0.0, FAR), jobs)
    store.close()
    truth = backend.task_meta(uuid)["result"]
    epochs = {round(100 * e / 8, 1) for e in range(1, 9)}
    assert len(curves) >= 2, "the 5.6 s job was seen by several 1 s polls"
    assert set(curves["progress"]) <= epochs and curves["progress"].is_monotonic_increasing
    assert curves["loss"].is_monotonic_decreasing and curves["accuracy"].is_monotonic_increasing
    assert curves["at"].is_monotonic_increasing and curves["progress"].is_unique
    assert (curves["job"] == f"curve-net · {uuid[:8]}").all()
    if curves["progress"].iloc[-1] == 100.0:  # the last epoch's report is the job's result
        assert curves[["loss", "accuracy"]].iloc[-1].tolist() == [truth["loss"], truth["accuracy"]]
    assert truth["loss"] <= curves["loss"].min()
