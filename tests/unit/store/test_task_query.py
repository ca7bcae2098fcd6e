"""The Tasks page's query in SQL gives exactly what the pandas filters give on the same rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import inspect

from lib import trends
from lib.frames import TaskFilter
from lib.frames.state import running
from lib.redact import MASKED_COLUMNS
from lib.store import Store
from lib.store.engine import open_engine, reading
from lib.store.migrations import STEPS, TASK_PAGE_INDEXES, migrate
from lib.store.task_query import TREND_SOURCES
from lib.trends.window import FINISH_COLUMNS, WINDOW_COLUMNS
from tests.recorded import recorded_tasks, special

NOW = 1_800_000_000.0


def odd_tasks() -> list[dict]:
    """Rows the recorded cluster lacks: no timestamp, no name, capitals, LIKE's wildcards."""
    base = {"state": "SUCCESS", "worker": "w@odd", "routing_key": "odd", "received": NOW - 50}
    return [
        {**base, "uuid": "no-time", "name": "odd.task", "args": "('Ab%Cd',)"},
        {**base, "uuid": "no-name", "timestamp": NOW - 40, "args": "('x_y',)"},
        {**base, "uuid": "caps", "name": "odd.task", "timestamp": NOW - 30, "result": "'BIG Err'"},
        {**base, "uuid": "tie-b", "name": "odd.tie", "timestamp": NOW - 20, "received": None},
        {**base, "uuid": "tie-a", "name": "odd.tie", "timestamp": NOW - 20, "kwargs": "{'p': 1}"},
    ]


@pytest.fixture
def filled(store: Store) -> Store:
    store.upsert_tasks([*recorded_tasks(), *odd_tasks()], NOW)
    return store


@pytest.fixture
def every(filled: Store) -> pd.DataFrame:
    """Every stored task, as the monitor's frames have them."""
    frame = filled.newest_tasks(10**6)
    assert len(frame) == filled.task_count()
    return frame


def newest_first(frame: pd.DataFrame) -> list[str]:
    """The page's order in pandas: timestamp descending, missing last, ties by uuid."""
    ordered = frame.sort_values("uuid").sort_values(
        "timestamp", ascending=False, na_position="last", kind="stable"
    )
    return list(ordered["uuid"])


def filters(every: pd.DataFrame) -> list[TaskFilter]:
    received = every["received"].dropna().sort_values()
    middle = received.iloc[len(received) // 2].to_pydatetime()
    name = every["name"].dropna().iloc[0]
    worker = every["worker"].dropna().iloc[0]
    queue = every["queue"].dropna().iloc[-1]
    return [
        TaskFilter(),
        TaskFilter(states=("REVOKED",)),
        TaskFilter(states=("FAILURE", "SUCCESS")),
        TaskFilter(states=("NO-SUCH",)),
        TaskFilter(names=(name, "odd.tie")),
        TaskFilter(workers=(worker,), queues=(queue,)),
        TaskFilter(received_from=middle),
        TaskFilter(received_to=middle),
        TaskFilter(received_from=middle, received_to=middle),
        TaskFilter(text="  ErR "),
        TaskFilter(text="b%c"),
        TaskFilter(text="x_y"),
        TaskFilter(text="_"),
        TaskFilter(text="%"),
        TaskFilter(text=str(every["uuid"].iloc[3])[:8].upper()),
        TaskFilter(text="Traceback"),
        TaskFilter(states=("FAILURE",), text="error", received_to=middle),
        TaskFilter(text="'p'"),
    ]


def test_every_filter_matches_what_pandas_matches_in_the_same_order(filled, every):
    sizes = []
    for wanted in filters(every):
        expected = wanted.apply(every)
        sizes.append(len(expected))
        page = filled.tasks_page(wanted, limit=10**6)
        assert page.matching == len(expected), wanted
        assert list(page.rows["uuid"]) == newest_first(expected), wanted
        assert filled.matching_uuids(wanted) == newest_first(expected), wanted
    narrowed = [n for n in sizes if 0 < n < len(every)]
    assert len(narrowed) >= len(sizes) - 4, f"most filters pick some rows, not all: {sizes}"


@pytest.mark.parametrize("in_time", [False, True], ids=["any-time", "received-since"])
def test_a_page_is_the_newest_few_with_the_count_of_all_matching(filled, every, in_time):
    since = every["received"].min().to_pydatetime() if in_time else None
    wanted = TaskFilter(states=("SUCCESS",), received_from=since)  # in time: step 8's indexes
    expected = newest_first(wanted.apply(every))
    assert len(expected) > 4
    first, second = filled.tasks_page(wanted, 3), filled.tasks_page(wanted, 3, offset=3)
    assert list(first.rows["uuid"]) + list(second.rows["uuid"]) == expected[:6]
    assert first.matching == second.matching == len(expected) and not first.complete
    assert expected[-1] == "no-time" or "no-time" not in expected
    assert in_time == ("tie-b" not in expected)  # never received: outside any range
    pd.testing.assert_frame_equal(
        first.rows, every.set_index("uuid").loc[expected[:3]].reset_index()
    )


def test_the_state_filter_reads_the_effective_state(filled, every):
    job = special("revoked_in_progress")
    page = filled.tasks_page(TaskFilter(states=("REVOKED",)), 100)
    row = page.rows.set_index("uuid").loc[job]
    assert (row["state"], row["flower_state"]) == ("REVOKED", "PROGRESS")
    assert filled.tasks_page(TaskFilter(states=("PROGRESS",)), 100).matching == int(
        (every["state"] == "PROGRESS").sum()
    )


def test_the_choosers_offer_every_stored_value(filled, every):
    values = filled.task_values()
    for column in ("state", "name", "worker", "queue"):
        assert values[column] == sorted(every[column].dropna().unique()), column


def test_queue_traffic_is_the_recent_window_and_every_running_task(filled, every):
    since = every["received"].dropna().sort_values().iloc[-5]
    traffic = filled.queue_traffic(since.to_pydatetime())
    placed = filled.tasks_window(since.to_pydatetime(), 2.0**40)["uuid"]
    wanted = set(placed) | set(every.loc[running(every["state"]), "uuid"])
    assert set(traffic["uuid"]) == wanted and len(traffic) == len(wanted)
    assert running(every["state"]).any(), "the recorded cluster has running tasks"


def test_gone_tasks_are_counted_in_sql(filled):
    assert filled.gone_count() == 0
    assert filled.mark_gone(["caps", "no-name"]) == 2
    assert filled.gone_count() == 2


def test_a_time_filter_needs_an_aware_time(filled):
    naive = replace(TaskFilter(), received_from=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        filled.tasks_page(naive, 10)
    aware = replace(naive, received_from=datetime(2026, 1, 1, tzinfo=UTC))
    assert filled.tasks_page(aware, 10).matching >= 0


def test_trend_rows_are_what_the_combined_window_keeps_with_only_what_analytics_read(filled, every):
    placed = every["received"].dropna().sort_values()
    start, split = placed.iloc[0].to_pydatetime(), placed.iloc[len(placed) // 2].to_pydatetime()
    end = placed.iloc[-1].to_pydatetime() + timedelta(seconds=1)
    window = filled.tasks_window(start, end)
    at = trends.window_frame(window, start, end)["at"]
    early = (at < pd.Timestamp(split)).to_numpy(bool)
    finished = window["state"].isin(list(FINISH_COLUMNS)).to_numpy(bool)
    kept = window[~(early & finished)]
    rows = filled.trend_rows(start, split, end)
    assert list(rows["uuid"]) == list(kept["uuid"]) and 0 < len(rows) < len(window)
    wanted = (*WINDOW_COLUMNS, *TREND_SOURCES)
    read = [c for c in rows.columns if c in wanted and c not in MASKED_COLUMNS]
    assert rows.drop(columns=read).isna().all().all()  # masked text and what no window reads
    pd.testing.assert_frame_equal(rows[read], kept[read].reset_index(drop=True))
    pd.testing.assert_series_equal(rows.dtypes, kept.dtypes)


def test_a_store_of_step_5_gets_the_page_indexes_and_its_rows_read_by_them(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:6])  # a store written before step 7, with tasks in it
    with reading(engine) as conn:
        assert not set(TASK_PAGE_INDEXES) & {i["name"] for i in inspect(conn).get_indexes("tasks")}
    store = Store(store_url)  # opening it applies step 7
    store.upsert_tasks(odd_tasks(), NOW)
    with reading(store.engine) as conn:
        assert set(TASK_PAGE_INDEXES) <= {i["name"] for i in inspect(conn).get_indexes("tasks")}
    page = store.tasks_page(TaskFilter(names=("odd.tie", "odd.task")), 10)
    assert list(page.rows["uuid"]) == ["tie-a", "tie-b", "caps", "no-time"]
