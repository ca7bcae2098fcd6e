"""Purged PENDING marking on the real cluster (issue 14 point 1): tasks sent with sent events to
a queue no worker consumes show PENDING in Flower; purged from the queue's panel, the Tasks table
and each task's detail say "purged from <queue> at <time> by <actor>", and the audit keeps ids."""

from __future__ import annotations

import uuid

import pytest

from lib.audit import AuditLog
from lib.broker import redis_queue_keys
from lib.store import Store
from tests.apptest.conftest import collector_caught_up, open_page, run_until, texts
from tests.live import flower_tasks, wait_until


@pytest.fixture
def parked(live_env, producer):
    """Three tasks waiting in a queue no worker consumes, PENDING in Flower (sent events)."""
    queue = f"parked-{uuid.uuid4().hex[:8]}"
    ids = [producer.send_task("demo.add", args=[i, 1], queue=queue).id for i in range(3)]

    def pending_in_flower():
        tasks = flower_tasks(live_env)
        return all(tasks.get(i, {}).get("state") == "PENDING" for i in ids)

    wait_until(pending_in_flower, "Flower to show the sent tasks PENDING")
    yield queue, ids
    import redis

    client = redis.Redis.from_url(live_env.broker_url)
    client.delete(*redis_queue_keys(queue))
    client.close()


def purge_from_the_panel(queue: str) -> None:
    at = open_page("Queues", {"queue": queue})
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="queue_purge").click().run()
    at.text_input(key="dialog_confirm_name").input(queue).run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_purged_pending_tasks_say_so_on_the_tasks_table_and_their_detail(parked, tmp_path):
    queue, ids = parked
    purge_from_the_panel(queue)
    store_file = tmp_path / "ops-data" / "store.sqlite3"
    (row,) = AuditLog(store_file).rows()
    assert (row.action, row.outcome, row.preview_count) == ("purge", "sent", 3)
    store = Store(f"sqlite:///{store_file}")
    marks = store.purge_marks(ids)
    store.close()
    assert sorted(marks) == sorted(ids), "the audit record keeps every removed task's id"
    said = f"purged from {queue} at "
    collector_caught_up()  # the store holds the tasks Flower still shows PENDING
    at = run_until(
        open_page("Tasks", {"queue": queue}),
        lambda at: len(at.dataframe) and len(at.dataframe[0].value) == 3,
    )
    table = at.dataframe[0].value
    assert set(table["state"]) == {"PENDING"}
    assert all(s.startswith(said) and s.endswith(f" by {row.user}") for s in table["purged"])
    at = open_page("Tasks", {"task": ids[0]})
    assert not at.exception
    assert f"This task was {said}" in texts(at) and f"by {row.user}" in texts(at)
    at = open_page("Audit log")
    at.selectbox(key="audit_pick").set_value(row.op_id).run()
    assert not at.exception
    (removed,) = [df.value for df in at.dataframe if "task" in df.value.columns]
    assert sorted(removed["task"]) == sorted(ids), "the audit lists the ids it removed"
