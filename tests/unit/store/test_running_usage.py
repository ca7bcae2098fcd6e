"""Worker usage counts the tasks running since before the range (Trends and a worker's detail
read the same figures): a job received two hours ago and running still is busy all of the last
hour, though it is not in the hour's window. On SQLite and PostgreSQL, through the monitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.store import Store
from tests.factories import task_payload
from tests.unit.store.test_history import NOW, monitor_over

HOUR = 3600.0


@pytest.fixture
def store(any_store_url):
    store = Store(any_store_url)
    store.upsert_tasks(
        [
            # received 2 h ago on w1, running still (a custom state): busy all of the last hour
            task_payload("job", "PROGRESS", at=NOW - 2 * HOUR, worker="w1@h"),
            # received 8 days ago on w3, running still: busy all of any range up to a week
            task_payload("long", "PROGRESS", at=NOW - 8 * 86400, worker="w3@h"),
            # received 2 h ago, never started: not busy
            task_payload("idle", "RECEIVED", at=NOW - 2 * HOUR, worker="w1@h", started=None),
            # finished 2 h ago: in no part of the last hour
            task_payload("old", at=NOW - 2 * HOUR, worker="w1@h"),
            # started 10 min ago on w2, finished 5 min ago: 300 s of the hour
            task_payload("new", at=NOW - 300, worker="w2@h", started=NOW - 600, runtime=300.0),
        ],
        NOW,
    )
    yield store
    store.close()


def test_the_store_reads_the_tasks_running_since_before_a_moment(store):
    before = store.running_before(datetime.fromtimestamp(NOW - HOUR, UTC))
    assert before["uuid"].tolist() == ["job", "long"], "newest placement first"
    assert store.running_before(datetime.fromtimestamp(NOW - 3 * HOUR, UTC))["uuid"].tolist() == [
        "long"
    ]


@pytest.mark.parametrize(
    ("span", "label"), [(timedelta(hours=1), "Last hour"), (timedelta(days=7), "Last 7 days")]
)
def test_a_job_running_since_before_the_range_is_busy_all_of_it(store, tmp_path, span, label):
    end = datetime.fromtimestamp(NOW, UTC)
    got = monitor_over(store, tmp_path).analytics(end - span, end, label).value
    usage = got.usage.set_index("worker")
    wall = (got.plan.end - got.busy_from).total_seconds()
    # The job from its start (1 s before its ``at``) on; over a week, "old"'s 1 s run too.
    busy = wall if span < timedelta(hours=2) else 2 * HOUR + 1.0 + 1.0
    assert usage.loc["w1@h", "busy_seconds"] == pytest.approx(busy, abs=1e-3)
    assert usage.loc["w3@h", "busy_seconds"] == pytest.approx(wall, abs=1e-3)
    assert usage.loc["w2@h", "busy_seconds"] == pytest.approx(300.0, abs=1e-3)
    assert got.totals["tasks"] == (1 if span < timedelta(hours=2) else 4), "not in the window"
