"""The exposition from a real SQLite store: what it counts equals what a careful person counts
from the payloads, it parses with prometheus-client's parser, every series has ``cluster``, the
label caps hold, counters count a task once, and secrets never appear."""

from __future__ import annotations

from collections import Counter

import pytest

from lib.failures import parse_exception
from lib.metrics.labels import OTHER, LabelCap
from lib.metrics.readings import Caps
from tests.factories import task_payload
from tests.unit.metrics.scrapes import (
    FIRING,
    NOW,
    SECRET,
    add_alerts,
    exporter_for,
    fill,
    one,
    payloads,
    scrape,
    series,
    snapshot,
)


def test_the_exposition_counts_what_the_payloads_hold(store, tmp_path):
    exporter = exporter_for(store, tmp_path)
    fill(store, exporter, payloads())
    exporter.after_poll(snapshot(), NOW)
    _, samples = scrape(exporter)
    expected_failures = Counter(
        parse_exception(p["exception"], p.get("traceback"))[0]
        for p in payloads()
        if p["state"] == "FAILURE"
    )
    by_exception: Counter = Counter()
    for labels, value in series(samples, "celery_console_task_failures").items():
        by_exception[dict(labels)["exception"]] += value
    assert by_exception == expected_failures
    assert expected_failures["WorkerLostError"] == 1, "the wrapper's traceback names the type"
    tasks = {one(k): v for k, v in series(samples, "celery_console_tasks").items()}
    assert tasks[("FAILURE", "app.t0")] == 3 and tasks[("STARTED", "app.t1")] == 1
    assert sum(tasks.values()) == len(payloads())
    queues = {one(k): v for k, v in series(samples, "celery_console_queue_messages").items()}
    assert queues == {("default",): 4, ("email",): 0}, "a depth nobody said has no series"
    consumers = {one(k): v for k, v in series(samples, "celery_console_queue_consumers").items()}
    assert consumers[("default",)] == 2 and consumers[("ml",)] == 0
    workers = {one(k): v for k, v in series(samples, "celery_console_workers").items()}
    assert workers == {("online",): 2, ("offline",): 1}
    assert samples[
        ("celery_console_collector_last_success_timestamp_seconds", (("cluster", "default"),))
    ] == pytest.approx(NOW - 3)


def test_every_series_has_the_cluster_label_and_no_secret(store, tmp_path):
    exporter = exporter_for(store, tmp_path)
    fill(store, exporter, payloads())
    exporter.after_poll(snapshot(), NOW)
    text, samples = scrape(exporter)
    assert samples and all(dict(labels).get("cluster") == "default" for _, labels in samples)
    assert SECRET not in text
    assert any("q-***" in dict(labels).get("queue", "") for _, labels in samples)


def test_finished_counters_count_each_task_once_and_histograms_match(store, tmp_path):
    exporter = exporter_for(store, tmp_path)
    fill(store, exporter, [task_payload("x", "STARTED", at=NOW - 9, name="app.x")])
    fill(store, exporter, [task_payload("x", at=NOW - 8, name="app.x", runtime=0.3)])
    fill(store, exporter, [task_payload("x", at=NOW - 8, name="app.x", runtime=0.3)])
    fill(store, exporter, [task_payload("x", at=NOW - 7, name="app.x", runtime=0.3)])  # newer
    _, samples = scrape(exporter)
    finished = {
        one(k): v for k, v in series(samples, "celery_console_tasks_finished_total").items()
    }
    assert finished == {("SUCCESS", "app.x"): 1.0}
    runtime = "celery_console_task_runtime_histogram_seconds"
    buckets = {dict(k)["le"]: v for k, v in series(samples, runtime + "_bucket").items()}
    assert (buckets["0.25"], buckets["0.5"], buckets["+Inf"]) == (0.0, 1.0, 1.0)
    assert series(samples, runtime + "_sum") == {(("cluster", "default"), ("task", "app.x")): 0.3}
    waits = series(samples, "celery_console_queue_wait_histogram_seconds_count")
    assert waits == {(("cluster", "default"), ("queue", "default")): 1.0}


def test_names_beyond_the_cap_are_summed_into_other(store, tmp_path):
    caps = Caps(tasks=LabelCap(2), queues=LabelCap(2), exceptions=LabelCap(1))
    exporter = exporter_for(store, tmp_path, caps)
    fill(store, exporter, payloads())
    exporter.after_poll(snapshot(), NOW)
    _, samples = scrape(exporter)
    tasks = series(samples, "celery_console_tasks")
    names = {dict(k)["task"] for k in tasks}
    assert len(names - {OTHER}) == 2 and OTHER in names
    assert sum(tasks.values()) == len(payloads()), "nothing lost in the cap"
    failures = series(samples, "celery_console_task_failures")
    assert len({dict(k)["exception"] for k in failures} - {OTHER}) == 1
    assert sum(failures.values()) == 6
    queues = {dict(k)["queue"] for k in series(samples, "celery_console_queue_consumers")}
    assert len(queues - {OTHER}) == 2 and OTHER in queues
    runtime_names = {
        dict(k)["task"] for k in series(samples, "celery_console_task_runtime_seconds")
    }
    assert OTHER not in runtime_names and runtime_names <= names


def test_runtime_quantiles_over_the_last_hour_and_firing_alerts(store, tmp_path):
    exporter = exporter_for(store, tmp_path)
    batch = [
        task_payload(f"r{i}", at=NOW - 600 + i, name="app.r", runtime=i + 1.0) for i in range(5)
    ]
    batch.append(task_payload("old", at=NOW - 7200, name="app.r", runtime=500.0))  # not this hour
    fill(store, exporter, batch)
    add_alerts(
        store,
        FIRING,
        {**FIRING, "subject": "w4@h"},
        {**FIRING, "rule": "queue_backlog", "state": "resolved"},
        {**FIRING, "cluster": "other-cluster"},
    )
    exporter.after_poll(snapshot(), NOW)
    _, samples = scrape(exporter)
    p = {
        dict(k)["quantile"]: v
        for k, v in series(samples, "celery_console_task_runtime_seconds").items()
    }
    assert p["0.5"] == pytest.approx(3.0, rel=0.05) and p["0.99"] < 6, p  # 500 s is older
    firing = {one(k): v for k, v in series(samples, "celery_console_alerts_firing").items()}
    assert firing == {("worker_offline", "critical"): 2.0}
