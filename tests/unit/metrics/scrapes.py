"""Shared by the metrics tests: payloads of a small cluster, an exporter on a real store, and a
scrape read back with prometheus-client's parser."""

from __future__ import annotations

import time

import pandas as pd
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.metrics import MetricsExporter
from lib.metrics.readings import Caps
from lib.settings import Settings
from lib.store import Store
from lib.store.engine import writing
from lib.store.schema import ALERTS
from tests.factories import task_payload

NOW = time.time()
SECRET = "s3cr3t-Pa55"
WRAPPED = "ExceptionWithTraceback()"
LOST = "Traceback (most recent call last):\nbilliard.exceptions.WorkerLostError: Worker exited"


def payloads() -> list[dict]:
    """Successes and failures of three names; one failure only a pool's wrapper names."""
    out = [task_payload(f"ok{i}", at=NOW - 100 + i, name=f"app.t{i % 3}") for i in range(9)]
    failures = [
        ("f1", "app.t0", "ValueError('bad')", None),
        ("f2", "app.t0", "ValueError('worse')", None),
        ("f6", "app.t0", "ValueError('bad')", None),  # the same text twice: counted twice
        ("f3", "app.t1", "ConnectionRefusedError('Error 111 connecting to db:5432.')", None),
        ("f4", "app.t2", WRAPPED, LOST),
        ("f5", "app.t2", f"KeyError('token {SECRET}')", None),
    ]
    for uuid, name, exception, traceback in failures:
        extra = {"traceback": traceback} if traceback else {}
        out.append(
            task_payload(uuid, "FAILURE", at=NOW - 50, name=name, exception=exception, **extra)
        )
    out.append(task_payload("r1", "STARTED", at=NOW - 5, name="app.t1"))
    return out


def exporter_for(store: Store, tmp_path, caps: Caps | None = None) -> MetricsExporter:
    settings = Settings(data_dir=tmp_path, metrics_port=0, flower_auth=("admin", SECRET))
    health = CollectorHealth(last_success=NOW - 3, poll_seconds=10.0)
    return MetricsExporter(settings, store, "default", lambda: health, caps)


def snapshot() -> CollectorSnapshot:
    workers = pd.DataFrame(
        {
            "worker": ["w1@h", "w2@h", "w3@h"],
            "online": [True, True, False],
            "queues": ["default, email", f"default, q-{SECRET}", "ml"],
        }
    )
    return CollectorSnapshot(depths={"default": 4, "email": 0, "ml": None}, workers=workers)


def fill(store: Store, exporter: MetricsExporter, batch: list[dict]) -> None:
    finished: list[dict] = []
    store.upsert_tasks(batch, NOW, finished)
    exporter.finished.add(finished)


def scrape(exporter: MetricsExporter) -> tuple[str, dict]:
    text = generate_latest(exporter.registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def series(samples: dict, name: str) -> dict[tuple, float]:
    return {labels: value for (n, labels), value in samples.items() if n == name}


def one(labels: tuple, drop: tuple[str, ...] = ("cluster",)) -> tuple:
    return tuple(v for k, v in labels if k not in drop)


#: An alert row as the alert states' piece writes it: worker_offline firing for w3@h.
FIRING = dict(
    cluster="default", rule="worker_offline", subject="w3@h", state="firing",
    severity="critical", summary="w3@h is offline", link="workers?worker=w3@h",
    since=NOW - 60, updated_at=NOW,
)  # fmt: skip


def add_alerts(store: Store, *rows: dict) -> None:
    with writing(store.engine) as conn:
        conn.execute(insert(ALERTS), list(rows))
