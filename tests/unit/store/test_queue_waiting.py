"""A queue's traffic in the store (``lib.store.waiting``) on SQLite and PostgreSQL: counts of the
last 10 minutes, the oldest PENDING task's sent time (by the waiting-tasks index, purged ones
left out), and the depth sampled 10 minutes ago."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, literal_column, select

from lib.store import Store
from lib.store.engine import reading
from lib.store.schema import TASKS
from lib.store.waiting import WAITING_STATE, QueueFlow, flow_query, oldest_waiting_sent
from tests.factories import task_payload
from tests.unit.store.test_received_indexes import plan_of

NOW = 1_800_000_000.0
WINDOW = 600.0


def pending(uuid: str, sent: float, queue: str = "q") -> dict:
    """A task sent to ``queue`` that no worker received yet, as Flower shows it."""
    return {
        "uuid": uuid,
        "name": "demo.add",
        "state": "PENDING",
        "sent": sent,
        "timestamp": sent,
        "routing_key": queue,
    }


def test_the_flow_counts_what_was_received_and_sent_in_the_window(store: Store):
    payloads = [
        task_payload("in-1", at=NOW - 100, routing_key="q"),  # sent and received inside
        task_payload("in-2", at=NOW - 300, routing_key="q"),
        # sent before the window, received inside: consumed, not arrived
        task_payload("edge", at=NOW - WINDOW + 2, routing_key="q", sent=NOW - 700),
        task_payload("old", at=NOW - 2 * WINDOW, routing_key="q"),  # before the window
        task_payload("other", at=NOW - 100, routing_key="other"),  # another queue
        pending("wait-1", NOW - 50),  # arrived, not consumed
        task_payload("no-sent", at=NOW - 200, routing_key="q", sent=None),
    ]
    store.upsert_tasks(payloads, now=NOW)
    flow = store.queue_flow("q", NOW - WINDOW, NOW)
    assert flow == QueueFlow(consumed=4, arrived=3, with_sent=4)
    assert store.queue_flow("nobody", NOW - WINDOW, NOW) == QueueFlow(0, 0, 0)


def test_the_flow_reads_the_windows_tasks_by_last_at_not_every_task_of_the_queue(store: Store):
    # SQLite without statistics walked the queue's index over every task it ever had.
    store.upsert_tasks(
        [task_payload(f"t-{i}", at=NOW - 60 * i, routing_key="q") for i in range(200)], now=NOW
    )
    with reading(store.engine) as conn:
        plan = plan_of(conn, flow_query("q", NOW - WINDOW, NOW))
    assert "ix_tasks_last_at" in plan, plan
    assert store.queue_flow("q", NOW - WINDOW, NOW).consumed == 10


def test_the_oldest_waiting_task_is_the_earliest_sent_pending_one_after_a_purge(store: Store):
    store.upsert_tasks(
        [
            pending("p-old", NOW - 900),
            pending("p-mid", NOW - 400),
            pending("p-new", NOW - 10),
            pending("elsewhere", NOW - 5000, queue="other"),
            task_payload("done", at=NOW - 3000, routing_key="q"),  # sent long ago, finished
        ],
        now=NOW,
    )
    assert store.oldest_waiting_sent("q") == NOW - 900
    assert store.oldest_waiting_sent("q", after=NOW - 900) == NOW - 400, "purged with the queue"
    assert store.oldest_waiting_sent("q", after=NOW) is None
    assert store.oldest_waiting_sent("empty") is None


def test_the_oldest_waiting_read_uses_the_waiting_index(store: Store):
    store.upsert_tasks([pending(f"p-{i}", NOW - i) for i in range(50)], now=NOW)
    t = TASKS.c
    waiting_now = t.state == literal_column(f"'{WAITING_STATE}'")
    statement = select(func.min(t.sent)).where(waiting_now, t.queue == "q", t.sent > NOW - 30)
    with reading(store.engine) as conn:
        plan = plan_of(conn, statement)
        assert oldest_waiting_sent(conn, "q", NOW - 30) == NOW - 29
    assert "ix_tasks_waiting" in plan, plan


def test_the_depth_near_a_moment_is_the_latest_sample_within_the_slack(store: Store):
    workers = pd.DataFrame(columns=["worker", "online"])
    for at, messages in ((NOW - 700, 40), (NOW - 610, 30), (NOW - 590, 20)):
        queues = pd.DataFrame({"queue": ["q"], "messages": [messages], "consumers": [1]})
        store.record_samples(queues, workers, now=at)
    assert store.depth_near("q", NOW - WINDOW, 30) == 30
    assert store.depth_near("q", NOW - WINDOW, 5) is None, "no sample close enough: no history"
    assert store.depth_near("other", NOW - WINDOW, 300) is None
