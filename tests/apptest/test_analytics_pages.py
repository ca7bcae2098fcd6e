"""Trends and Errors through the real entrypoint, over a Flower serving recorded real tasks.

The recorded tasks are moved in time so that the newest event happened a minute ago: every
range, even "Last 15 minutes", then holds all of them (they span about 20 seconds). The
expected numbers are counted by hand from tests/fixtures/flower/tasks.json (+ the task seen
mid-flight, tasks_name_none.json): 62 tasks, 40 successes, 15 failures.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest.conftest import APP, open_tab, texts
from tests.recorded import RecordedFlower, recorded
from tests.scripted_server import ScriptedServer
from tests.vega import Drawn

PAGES = {"Trends": "screens/trends.py", "Errors": "screens/errors.py"}
RANGES = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "6h": "Last 6 hours",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "custom": "Custom",
}
TRENDS_TABS = ("Throughput", "By task name", "By queue", "Latency", "Workers")
TIME_KEYS = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected")


def recent_tasks() -> dict[str, dict]:
    tasks = {**recorded("tasks"), **recorded("tasks_name_none")}
    shift = time.time() - 60 - max(t["timestamp"] for t in tasks.values())
    keys = (*TIME_KEYS, "timestamp")
    return {u: {**t, **{k: t[k] + shift for k in keys if t.get(k)}} for u, t in tasks.items()}


def serve(monkeypatch, tmp_path, tasks: dict):
    server = ScriptedServer(RecordedFlower(tasks))
    monkeypatch.setenv("FLOWER_URL", server.url)
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    return server


@pytest.fixture
def flower(monkeypatch, tmp_path):
    with serve(monkeypatch, tmp_path, recent_tasks()) as server:
        yield server


@pytest.fixture
def empty_flower(monkeypatch, tmp_path):
    with serve(monkeypatch, tmp_path, {}) as server:
        yield server


def open_analytics(page: str, time_range: str = "Last hour") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGES[page]).run()
    if time_range != "Last hour":
        at.selectbox(key="time_range_pick").select(time_range).run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def csv_buttons(at: AppTest) -> int:
    return sum(b.label == "Download CSV" for b in at.get("download_button"))


@pytest.mark.parametrize("time_range", list(RANGES.values()), ids=list(RANGES))
@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_every_range(flower, page, time_range):
    at = open_analytics(page, time_range)
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == page
    assert at.selectbox(key="time_range_pick").value == time_range
    assert at.get("vega_lite_chart")
    if page == "Trends":
        csvs = 0
        for tab in TRENDS_TABS:  # lazy tabs: each builds when opened
            csvs += csv_buttons(open_tab(at, "trends_tab", tab))
            assert not at.exception, (tab, [e.message for e in at.exception])
        assert csvs >= 2
    else:
        assert csv_buttons(at) >= 2
    if page == "Trends":
        assert metrics(at) == {
            "Tasks": "62",
            "Succeeded": "40",
            "Failed": "15",
            "Failure rate": "27.3%",  # 15 ÷ 55
        }
    else:
        assert metrics(at)["Failures"] == "15"
        assert metrics(at)["Categories"] == "5"


@pytest.mark.parametrize("page", list(PAGES))
def test_empty_cluster_says_so_instead_of_drawing(empty_flower, page):
    for time_range in RANGES.values():
        at = open_analytics(page, time_range)
        assert not at.exception, (time_range, [e.message for e in at.exception])
        assert "No tasks in this range" in texts(at), time_range
        assert not at.get("vega_lite_chart"), time_range


def test_trends_states_bucket_size_and_placement_rule(flower):
    said = texts(open_analytics("Trends"))
    assert "in 1 min buckets" in said
    assert "A finished task counts at its finish time" in said


def test_trends_tables_hold_the_hand_counted_numbers(flower):
    at = open_tab(open_analytics("Trends", "Last 15 minutes"), "trends_tab", "Latency")
    tables = [d.value for d in at.dataframe]
    names = next(t for t in tables if "p95" in t.columns and "name" in t.columns).set_index("name")
    # demo.flaky: 9 tasks in tasks.json, all failures (8 kinds + the second soft time limit)
    assert names.loc["demo.flaky", ["tasks", "failed"]].tolist() == [9, 9]
    assert names.loc["(unknown)", "tasks"] == 1  # the task seen mid-flight, name None
    tables = [d.value for d in open_tab(at, "trends_tab", "Workers").dataframe]
    usage = next(t for t in tables if "utilization" in t.columns).set_index("worker")
    assert usage["processed"].sum() == 55


def test_trends_builds_only_the_open_tab(flower):
    """A first visit sends the Throughput tab's 3 charts and 1 table, not all 9 charts and 8
    tables (issue 12's 2 s with a hung Flower); each other tab is built when opened."""
    at = open_analytics("Trends", "Last 15 minutes")
    assert y_titles(at) == ["tasks", "tasks / s", "failure rate"]
    assert [list(d.value.columns[:2]) for d in at.dataframe] == [["bucket", "seconds"]]
    assert at.session_state["trends_tab"] == "Throughput"
    latency = open_tab(at, "trends_tab", "Latency")
    tables = [d.value for d in latency.dataframe]
    assert any("p95" in t.columns for t in tables) and not any("bucket" in t for t in tables)
    assert y_titles(latency) == ["runtime p95", "wait"]  # runtime p95 over time, queue wait
    assert metrics(latency)["Tasks"] == "62"  # the figures above the tabs stay


def y_titles(at: AppTest) -> list[str]:
    return [
        Drawn(json.loads(e.proto.spec), pd.DataFrame()).title("y")
        for e in at.get("vega_lite_chart")
    ]


def groups_table(at: AppTest):
    return next(d.value for d in at.dataframe if "signature" in d.value.columns)


def test_errors_groups_and_links(flower):
    at = open_analytics("Errors")
    groups = groups_table(at)
    assert groups["count"].sum() == 15
    top = groups.iloc[0]
    assert (top["category"], top["exception_type"], top["count"]) == (
        "connection",
        "ConnectionRefusedError",
        3,
    )
    assert top["signature"] == "Error <n> connecting to <host>. Connection refused."
    assert all(link.startswith("tasks?task=") for link in groups["sample_task"])


def test_choosing_a_group_shows_its_message_as_code_and_opens_its_tasks(flower):
    at = open_analytics("Errors")
    top = groups_table(at).iloc[0]
    at.session_state["error_groups"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert any("Error 111 connecting to" in c.value for c in at.code)
    assert not any("Error 111 connecting to" in m.value for m in at.markdown)
    show = next(b for b in at.button if b.label == "Show this group's tasks")
    show.click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Tasks"
    assert at.query_params["error_group"] == top["group_id"]
    assert len(at.dataframe[0].value) == top["count"], "the Tasks page lists just the group"


def test_user_rules_file_adds_a_category(monkeypatch, tmp_path, flower):
    rules = tmp_path / "rules.toml"
    rules.write_text("[[category]]\nname = 'bad address'\nmessages = ['invalid email']\n")
    monkeypatch.setenv("OPS_ERROR_RULES_FILE", str(rules))
    groups = groups_table(open_analytics("Errors"))
    counts = groups.groupby("category")["count"].sum().to_dict()
    assert counts["bad address"] == 2
    assert counts["validation/value"] == 1  # the ETL row is still a default validation error


def test_broken_rules_file_is_named_and_defaults_apply(monkeypatch, tmp_path, flower):
    rules = tmp_path / "rules.toml"
    rules.write_text("[[category]]\nname = 'x'\nmessages = ['(unclosed']\n")
    monkeypatch.setenv("OPS_ERROR_RULES_FILE", str(rules))
    at = open_analytics("Errors")
    assert not at.exception
    said = [e.value.replace("\\", "") for e in at.error]  # markdown-escaped on screen
    assert any("rules.toml" in e and "bad pattern" in e for e in said), said
    assert metrics(at)["Categories"] == "5"
