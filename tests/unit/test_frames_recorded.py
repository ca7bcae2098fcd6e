"""Frames from recorded real Flower payloads, checked against plain-Python arithmetic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest

from lib import frames
from tests.recorded import recorded, recorded_tasks, retried_own_parent, special, truncated_args


@pytest.fixture(scope="module")
def raw() -> list[dict]:
    return recorded_tasks()


@pytest.fixture(scope="module")
def df(raw) -> pd.DataFrame:
    return frames.tasks_frame(raw).set_index("uuid", drop=False)


def test_one_row_per_task_with_flowers_states(raw, df):
    assert len(df) == len(raw)
    assert Counter(df["flower_state"]) == Counter(t["state"] for t in raw)
    # Effective state: REVOKED when Flower marks a task revoked, unless it succeeded or failed.
    for t in raw:
        revoked = t["revoked"] is not None and t["state"] not in ("SUCCESS", "FAILURE")
        assert df.loc[t["uuid"], "state"] == ("REVOKED" if revoked else t["state"])


def test_durations_follow_the_definition(raw, df):
    for t in raw:
        got = df.loc[t["uuid"], "duration"]
        if t["state"] == "SUCCESS":
            assert got == pytest.approx(t["runtime"])
        elif t["state"] == "FAILURE" and t["started"] and t["failed"]:
            assert got == pytest.approx(t["failed"] - t["started"], abs=1e-5)
        else:
            assert pd.isna(got)


def test_wait_is_started_minus_sent(raw, df):
    for t in raw:
        if t["started"] and t["sent"]:
            assert df.loc[t["uuid"], "wait"] == pytest.approx(t["started"] - t["sent"], abs=1e-5)


def test_queue_comes_from_the_routing_key(raw, df):
    for t in raw:
        assert (df.loc[t["uuid"], "queue"] if t["routing_key"] else None) == (
            t["routing_key"] or None
        )


def test_retried_task_is_its_own_parent_but_links_skip_it(df):
    uuid = retried_own_parent()
    row = df.loc[uuid]
    assert row["parent_id"] == uuid and row["retries"] == 1
    assert frames.task_lineage(df.reset_index(drop=True), uuid)["parent"] == []


def test_truncated_args_stay_text_and_searchable(df):
    uuid = truncated_args()
    args = df.loc[uuid, "args"]
    assert "..." in args and len(args) > 1024
    hit = frames.filter_tasks(df.reset_index(drop=True), text=args[600:620])
    assert uuid in set(hit["uuid"])


def test_error_rate_equals_plain_python(raw, df):
    now = datetime.fromtimestamp(max(t["timestamp"] for t in raw) + 1, UTC)
    done = [t for t in raw if t["state"] in ("SUCCESS", "FAILURE")]
    failed = sum(t["state"] == "FAILURE" for t in done)
    workers = frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), recorded("workers_status")
    )
    kpi = frames.overview_kpis(df.reset_index(drop=True), workers, 2, now)
    assert kpi["processed"] == len(done)
    assert kpi["failed"] == failed
    assert kpi["error_rate"] == pytest.approx(100 * failed / len(done))


def test_workers_from_recorded_payloads():
    info, status = recorded("workers"), recorded("workers_status")
    summaries = recorded("workers_ui")["data"]
    w = frames.workers_frame(summaries, info, status).set_index("worker")
    assert set(w.index) == set(status)
    for host, data in info.items():
        scaler = data["stats"].get("autoscaler")
        want = scaler["current"] if scaler else data["stats"]["pool"]["max-concurrency"]
        assert w.loc[host, "concurrency"] == want
        assert (w.loc[host, "autoscale"] if scaler else None) == (
            f"{scaler['min']}–{scaler['max']}" if scaler else None
        )
        assert w.loc[host, "queues"] == ", ".join(sorted(q["name"] for q in data["active_queues"]))
    for row in summaries:
        assert w.loc[row["hostname"], "processed"] == row["processed"]
        assert w.loc[row["hostname"], "last_heartbeat"] == pd.Timestamp(
            max(row["heartbeats"]), unit="s", tz="UTC"
        )


def test_task_seen_only_mid_flight_has_no_name_but_still_counts():
    raw = [{**t, "uuid": u} for u, t in recorded("tasks_name_none").items()]
    df = frames.tasks_frame(raw)
    row = df.set_index("uuid").loc[special("name_none_midflight")]
    assert pd.isna(row["name"]) and pd.isna(row["queue"]) and pd.isna(row["received"])
    assert row["state"] == "SUCCESS" and row["duration"] == pytest.approx(raw[0]["runtime"])
    now = datetime.fromtimestamp(raw[0]["timestamp"] + 1, UTC)
    kpi = frames.overview_kpis(df, frames.workers_frame([]), None, now)
    assert kpi["processed"] == 1 and kpi["failed"] == 0
    assert frames.filter_tasks(df, text=special("name_none_midflight")[:8]).shape[0] == 1
