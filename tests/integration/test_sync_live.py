"""The task sync against a fresh real cluster: exact contents, incremental cost, Flower down/up."""

from __future__ import annotations

import pytest

from lib.errors import FlowerUnreachable
from lib.flower import FlowerClient
from lib.sync import TaskSync
from tests.live import FINAL, flower_tasks, producer_app, send, wait_final, wait_until

N, M = 30, 5


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A cluster of its own: these tests count every task Flower holds and stop Flower."""
    from demo.cluster import Cluster

    with Cluster(tmp_path_factory.mktemp("sync-cluster")) as running:
        app = producer_app(running)
        yield running, app
        app.close()


@pytest.fixture(scope="module")
def sync(fresh):
    cluster, _ = fresh
    client = FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=5)
    # Small pages and no overlap make the paging visible with a few dozen tasks.
    return TaskSync(client, page_size=10, overlap=0.0)


@pytest.fixture(scope="module")
def first_batch(fresh):
    cluster, app = fresh
    ids = {send(app, "demo.add", i, 1000): i for i in range(N - 3)}
    ids.update({send(app, "demo.flaky", "missing", ref=i): None for i in range(3)})
    wait_final(cluster, ids)
    return ids


def test_full_load_holds_exactly_the_tasks_sent(first_batch, sync):
    report = sync.refresh()
    assert report.mode == "full"
    held = {t["uuid"]: t for t in sync.snapshot()[1]}
    assert set(held) == set(first_batch)
    for uuid, i in first_batch.items():
        if i is None:
            assert held[uuid]["state"] == "FAILURE" and "not found" in held[uuid]["exception"]
        else:
            assert held[uuid]["state"] == "SUCCESS" and held[uuid]["result"] == str(i + 1000)
    assert report.requests == 4  # pages of 10, 10, 10 and an empty one


def test_second_refresh_fetches_about_the_new_tasks_only(fresh, first_batch, sync):
    cluster, app = fresh
    full_bytes = sync.last_report.bytes
    new = [send(app, "demo.add", 1, i) for i in range(M)]
    wait_final(cluster, new)
    report = sync.refresh()
    assert report.mode == "incremental"
    assert report.requests == 1, "one page of 10 reaches tasks older than the watermark"
    assert M <= report.fetched <= 10
    assert report.bytes < full_bytes / 2
    assert {t["uuid"] for t in sync.snapshot()[1]} == set(first_batch) | set(new)


def test_flower_down_keeps_last_data_then_a_restart_reloads(fresh, first_batch, sync):
    cluster, app = fresh
    before = {t["uuid"] for t in sync.snapshot()[1]}
    cluster.stop_flower()
    with pytest.raises(FlowerUnreachable) as err:
        sync.refresh()
    assert "cannot be reached" in str(err.value)
    assert {t["uuid"] for t in sync.snapshot()[1]} == before
    assert sync.is_stale

    cluster.start_flower()  # Flower without --persistent forgets every task
    after = send(app, "demo.add", 7, 7)
    wait_until(
        lambda: flower_tasks(cluster).get(after, {}).get("state") in FINAL, "a task after restart"
    )
    report = sync.refresh()
    assert report.mode == "full" and "restarted" in report.reason
    assert after in {t["uuid"] for t in sync.snapshot()[1]}
    assert not sync.is_stale
