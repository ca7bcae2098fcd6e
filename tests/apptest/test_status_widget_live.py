"""The Celery status block in its host app against the live cluster's Flower (basic auth, its
password in the URL as a host app would pass it)."""

from __future__ import annotations

from tests.apptest.test_status_widget import everything, host, said, sidebar_metrics
from tests.live import send, wait_final


def test_live_flower(cluster, producer):
    wait_final(cluster, [send(producer, "demo.add", 1, 2), send(producer, "demo.flaky", "x")])
    user, password = cluster.http_auth()
    flower = cluster.flower_url.replace("://", f"://{user}:{password}@", 1)
    at = host(flower_url=flower, console_url="http://localhost:8501")
    assert not at.exception
    shown = sidebar_metrics(at)
    workers = len(cluster.worker_names)
    assert shown["Workers online"] == f"{workers}/{workers}", shown
    assert shown["Failure rate (1 h)"].endswith("%"), "a task failed and one succeeded this hour"
    assert shown["Queue backlog"] != "—", "Flower reads the Redis broker's queues"
    assert "From the Flower" in said(at)
    assert password not in everything(at)
