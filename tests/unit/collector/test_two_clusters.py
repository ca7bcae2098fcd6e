"""Two clusters' collectors in one process (as ``./ops collect`` or the console runs them), on
two scripted Flowers over HTTP and one real store (SQLite, then PostgreSQL): each writes its own
namespace, and one /metrics + /healthz serves both (503 naming the one that fails)."""

from __future__ import annotations

import pytest
import requests

from lib.clusters import load_clusters
from lib.collector import Collector
from lib.metrics import FAILED_POLLS
from lib.settings import Settings
from lib.store import Store
from lib.store.engine import close_engine
from tests.live import wait_until
from tests.unit.collector.conftest import served
from tests.unit.collector.test_loop import PASSWORD, FakeFlower, in_flower, tasks


@pytest.fixture
def flowers():
    alpha, beta = FakeFlower(tasks("a1", "a2")), FakeFlower(tasks("b1"))
    with served(alpha), served(beta):
        yield alpha, beta


@pytest.fixture
def collectors(flowers, any_store_url, tmp_path, monkeypatch):
    """``alpha`` and ``beta`` from a clusters file, each collector on its own store namespace,
    both exporting on one port (0: one free port for the process); stopped at the end."""
    alpha, beta = flowers
    path = tmp_path / "clusters.toml"
    path.write_text(
        f'[clusters.alpha]\nflower_url = "{alpha.url}"\nflower_basic_auth = "env:AUTH"\n'
        f'[clusters.beta]\nflower_url = "{beta.url}"\nflower_basic_auth = "env:AUTH"\n'
    )
    base = Settings(
        store_url=any_store_url,
        data_dir=tmp_path,
        clusters_file=path,
        metrics_port=0,
        poll_seconds=1.0,
        flower_timeout=0.5,
    )
    book = load_clusters(base, {"AUTH": f"admin:{PASSWORD}"})
    running = []
    for cluster in book.clusters:
        store = Store.from_settings(cluster)
        running.append(Collector(cluster, store, cluster=cluster.cluster).start())
    yield running
    for collector in running:
        collector.stop()
        close_engine(collector.store.url)


def get(collector: Collector, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{collector.metrics.serving_port}{path}", timeout=5)


def test_each_cluster_writes_its_own_namespace_and_one_port_serves_both(collectors, flowers):
    alpha, beta = collectors
    wait_until(lambda: alpha.health.polls >= 1 and beta.health.polls >= 1, "both polled")
    assert set(in_flower(alpha.store)) == {"a1", "a2"}
    assert set(in_flower(beta.store)) == {"b1"}
    assert alpha.store.url != beta.store.url
    assert alpha.metrics.serving_port == beta.metrics.serving_port
    text = get(alpha, "/metrics").text
    for name in ("alpha", "beta"):
        assert f'celery_console_collector_consecutive_failed_polls{{cluster="{name}"}}' in text
    health = get(beta, "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert [c["cluster"] for c in health.json()["clusters"]] == ["alpha", "beta"]


def test_healthz_turns_503_and_names_the_failing_cluster(collectors, flowers):
    alpha, beta = collectors
    flowers[1].mode = "500"
    wait_until(lambda: beta.health.consecutive_failures >= FAILED_POLLS, "beta failing")
    wait_until(lambda: alpha.health.polls >= 1, "alpha polled")
    answer = get(alpha, "/healthz")
    body = answer.json()
    assert answer.status_code == 503
    assert (body["status"], body["cluster"], body["failing"]) == ("failing", "beta", ["beta"])
    assert {c["cluster"]: c["status"] for c in body["clusters"]} == {
        "alpha": "ok",
        "beta": "failing",
    }
    assert PASSWORD not in answer.text


def test_the_port_closes_when_the_last_cluster_stops(collectors):
    alpha, beta = collectors
    wait_until(lambda: alpha.metrics.serving_port, "served")
    port = alpha.metrics.serving_port
    alpha.stop()
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["cluster"] == "beta"
    beta.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
