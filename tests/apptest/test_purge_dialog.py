"""Purge from ``Queues?queue=<name>`` through AppTest: the panel's count from the real Redis
broker, the dialog's count, the typed name, Confirm, the toast and the audit row."""

from __future__ import annotations

import uuid

import pytest
import redis

from lib.audit import AuditLog
from lib.broker import redis_queue_keys
from tests.apptest.conftest import open_page, plain, texts


@pytest.fixture
def parked(cluster, producer, recorded_flower, monkeypatch):
    """A queue no worker consumes, holding 3 messages on the cluster's Redis; the console's
    broker is that Redis (its Flower the recorded one)."""
    monkeypatch.setenv("CELERY_BROKER_URL", cluster.broker_url)
    queue = f"parked-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        producer.send_task("demo.add", args=[1, 1], queue=queue)
    client = redis.Redis.from_url(cluster.broker_url)
    yield queue, client
    client.delete(*redis_queue_keys(queue))
    client.close()


def test_purge_from_the_queue_panel_with_the_typed_name(parked, tmp_path):
    queue, client = parked
    at = open_page("Queues", {"queue": queue})
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Waiting now (broker)"] == ["3"]
    at.button(key="queue_purge").click().run()
    assert f"**3** message(s) wait in queue **{queue}** now." in texts(at)
    confirm = at.button(key="dialog_confirm")
    assert confirm.disabled, "Confirm waits for the queue's name"
    at.text_input(key="dialog_confirm_name").input(queue[:-1]).run()
    assert at.button(key="dialog_confirm").disabled, "a wrong name keeps Confirm disabled"
    assert client.llen(queue) == 3, "nothing was sent yet"
    at.text_input(key="dialog_confirm_name").input(queue).run()
    assert not at.button(key="dialog_confirm").disabled
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    said = "The broker said: 3 messages removed (3 messages previewed)"
    assert any(said in plain(t.value) for t in at.toast)
    assert client.llen(queue) == 0
    (row,) = AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()
    assert (row.action, row.outcome, row.preview_count) == ("purge", "sent", 3)
    assert "3 messages removed" in row.message


def test_without_a_broker_url_the_purge_button_says_why(recorded_flower, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    at = open_page("Queues", {"queue": "**loud**"})
    assert not at.exception
    # the queue's name is the link's text: shown as typed, never as markdown
    assert r"Queue \*\*loud\*\*" in [s.value for s in at.subheader]
    assert at.button(key="queue_purge").disabled
    assert "CELERY_BROKER_URL is not set" in texts(at)


def test_with_the_broker_down_the_purge_button_says_why(recorded_flower, monkeypatch):
    from demo.cluster import free_port

    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    at = open_page("Queues", {"queue": "default"})
    assert not at.exception
    assert at.button(key="queue_purge").disabled
    said = texts(at)
    assert "cannot be read" in said and "s3cret" not in said
