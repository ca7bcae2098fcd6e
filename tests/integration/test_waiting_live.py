"""What waits on the real workers (issue 14 point 4): a task sent with a countdown is listed
scheduled with its ETA on its worker and its queue; revoked from that list it is audited and
shows in the workers' revoked ids. Cleans up by revoking what it sent."""

from __future__ import annotations

import time
import uuid

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.collector import Collector
from lib.collector import waiting as waiting_work
from lib.collector.waiting import waiting_key
from lib.flower import FlowerClient
from lib.frames import waiting as frames
from lib.settings import load_settings
from lib.store import Store
from tests.live import flower_tasks, wait_until

OPERATOR = Actor("olga", "operator")


@pytest.fixture
def collector(cluster, tmp_path, monkeypatch):
    """A collector inspecting the workers at every poll (the interval tuned down)."""
    monkeypatch.setattr(waiting_work, "WAITING_EVERY_SECONDS", 0.0)
    chosen = {"OPS_POLL_SECONDS": "1", "FLOWER_TIMEOUT": "5", "OPS_DATA_DIR": str(tmp_path)}
    settings = load_settings({**cluster.env(), **chosen}, {})
    store = Store.from_settings(settings)
    yield Collector(settings, store)
    store.close()


@pytest.fixture
def sent(producer):
    """Tasks this test sends with a countdown; revoked at the end whatever happened."""
    ids: list[str] = []
    yield ids
    for task_id in ids:
        producer.control.revoke(task_id)


def lookup(cluster):
    """The desk's look-up of a task: Flower's record, with its id."""
    return lambda task_id: (
        {**flower_tasks(cluster)[task_id], "uuid": task_id}
        if task_id in flower_tasks(cluster)
        else None
    )


def polled_until(collector: Collector, found, what: str):
    """Poll the collector until ``found(waiting)`` is truthy; return it."""
    return wait_until(lambda: collector.poll() and found(collector.snapshot.waiting), what, 60)


def test_a_countdown_task_is_listed_with_its_eta_then_revoked_from_the_list(
    cluster, producer, collector, sent, tmp_path
):
    before = time.time()
    result = producer.send_task("demo.add", args=[1, 2], queue="default", countdown=600)
    sent.append(result.id)

    def scheduled_here(waiting):
        frame = frames.for_queue(frames.scheduled_frame(waiting), "default")
        return frame[frame["uuid"] == result.id].to_dict("records")

    (row,) = polled_until(collector, scheduled_here, "the countdown task to be scheduled")
    eta = row["eta"].timestamp()
    assert before + 600 <= eta <= time.time() + 600, (before, eta)
    assert row["worker"] in cluster.worker_names and row["name"] == "demo.add"
    kept = collector.store.kept(waiting_key("default"))
    assert result.id in str(kept["workers"][row["worker"]]["scheduled"]), "kept in the store too"

    client = FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=10)
    audit = AuditLog(tmp_path / "audit.sqlite3")
    desk = ActionDesk(client, audit, lookup(cluster))
    listed = scheduled_here(collector.snapshot.waiting)
    done = desk.perform(OPERATOR, "revoke", [r["uuid"] for r in listed], {}, uuid.uuid4().hex)
    assert done.outcome == "sent", done.message
    (entry,) = audit.rows()
    assert (entry.action, entry.user, entry.outcome) == ("revoke", "olga", "sent")

    collector.wake()  # an action: the next poll reads the workers again

    def revoked_here(waiting):
        revoked = frames.for_worker(frames.revoked_frame(waiting), row["worker"])
        return result.id in set(revoked["uuid"])

    polled_until(collector, revoked_here, "the revoked id on its worker")
