"""With a clusters file the webhook's link opens the alert's cluster (``cluster=<name>``, after
``?`` or ``&`` as the link needs) and the payload names the cluster; without one, links are as
they were."""

from __future__ import annotations

import pytest

from lib.alerts.evaluate import EVALUATORS
from lib.alerts.payload import alert_url, payload
from lib.alerts.states import Notification
from lib.alerts.watch import AlertWatcher
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.settings import Settings
from lib.store import Store
from tests.unit.alerts.test_payload import PUBLIC, offline
from tests.unit.alerts.test_watch import BOOK, T0, Cluster, outbox


@pytest.fixture
def workers(monkeypatch) -> Cluster:
    seen = Cluster()
    monkeypatch.setitem(EVALUATORS, "worker_offline", seen.evaluate)
    return seen


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("link", "cluster", "url"),
    [
        ("workers?worker=w1@host", "staging", f"{PUBLIC}/workers?worker=w1@host&cluster=staging"),
        ("/alerts", "batch-farm", f"{PUBLIC}/alerts?cluster=batch-farm"),
        (
            "tasks?cluster=staging&state=FAILURE",
            "staging",
            f"{PUBLIC}/tasks?cluster=staging&state=FAILURE",
        ),
        ("workers?worker=w1@host", None, f"{PUBLIC}/workers?worker=w1@host"),
    ],
    ids=["after-a-query", "no-query", "already-there", "one-cluster"],
)
def test_the_link_names_the_cluster_when_there_are_several(link, cluster, url):
    assert alert_url(PUBLIC + "/", link, cluster) == url


def test_the_payload_s_url_and_text_carry_the_cluster():
    body = payload(Notification(offline()), 3, "staging", PUBLIC, link_cluster=True)
    want = f"{PUBLIC}/workers?worker=w1@host&cluster=staging"
    assert body["cluster"] == "staging" and body["url"] == want
    assert body["text"].endswith(f"<{want}>")


def test_without_a_clusters_file_the_payload_is_as_before():
    body = payload(Notification(offline()), 3, "default", PUBLIC)
    assert body["cluster"] == "default" and "cluster=" not in body["url"] + body["text"]


def test_the_watcher_of_a_console_with_a_clusters_file_links_its_cluster(store, workers, tmp_path):
    several = Settings(data_dir=tmp_path, clusters_file=tmp_path / "clusters.toml")
    assert AlertWatcher.from_settings(several, store, "staging", lambda: T0).link_cluster
    one = AlertWatcher.from_settings(Settings(data_dir=tmp_path), store, "default", lambda: T0)
    assert not one.link_cluster
    watcher = AlertWatcher(store, "staging", BOOK, PUBLIC, lambda: workers.now, link_cluster=True)
    workers.offline = {"w1@host"}
    for at in (T0, T0 + 30):
        workers.now = at
        watcher.watch(CollectorSnapshot(), CollectorHealth())
    (sent,) = outbox(store)
    assert sent["cluster"] == "staging"
    assert sent["url"] == f"{PUBLIC}/workers?worker=w1@host&cluster=staging"
