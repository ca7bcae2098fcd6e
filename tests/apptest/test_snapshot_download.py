"""The Overview's Download snapshot, made as a click makes it, over a Flower serving recent
recorded tasks plus a secret-bearing failure and a running two-step workflow, with alerts in the
store. The document has its fields, says what the Overview says, and leaks no secret."""

from __future__ import annotations

import json
import time

import pytest

from lib.settings import STORE_FILE
from lib.store.store import Store
from lib.ui.wiring import stop_collectors
from lib.version import VERSION
from tests.alert_rows import Episode, seed
from tests.apptest.conftest import open_page
from tests.apptest.downloads import downloads  # noqa: F401  (fixture)
from tests.apptest.test_analytics_pages import recent_tasks
from tests.factories import task_payload
from tests.recorded import RecordedFlower
from tests.scripted_server import ScriptedServer

FLOWER_PASSWORD = "flower-pw-7q"


def secret_failure(now: float) -> dict:
    return task_payload(
        "leaky-1",
        "FAILURE",
        at=now - 30,
        kwargs="{'password': 'hunter2'}",
        exception="ValueError('login failed with password=hunter2')",
    )


def running_workflow(now: float) -> dict[str, dict]:
    root = task_payload(
        "wf-root", "SUCCESS", at=now - 20, root_id="wf-root", children="['wf-step']"
    )
    step = task_payload(
        "wf-step", "STARTED", at=now - 10, root_id="wf-root", parent_id="wf-root", name="demo.step"
    )
    return {"wf-root": root, "wf-step": step}


@pytest.fixture
def console_flower(monkeypatch, tmp_path):
    now = time.time()
    tasks = {**recent_tasks(), "leaky-1": secret_failure(now), **running_workflow(now)}
    with ScriptedServer(RecordedFlower(tasks)) as server:
        host = server.url.removeprefix("http://")
        monkeypatch.setenv("FLOWER_URL", f"http://ops:{FLOWER_PASSWORD}@{host}")
        monkeypatch.setenv("OPS_AUTH", "off")
        monkeypatch.setenv("OPS_PUBLIC_URL", "https://ops.example.com/")
        no_rules = tmp_path / "alerts.toml"  # the alerts are the test's own (seeded below)
        no_rules.write_text("replace_defaults = true\n", encoding="utf-8")
        monkeypatch.setenv("OPS_ALERTS_FILE", str(no_rules))
        yield tmp_path / "ops-data" / STORE_FILE


def test_snapshot_has_the_overviews_state_and_no_secret(console_flower, downloads):  # noqa: F811
    at = open_page("Overview")
    assert not at.exception
    assert [b.key for b in at.get("download_button") if b.label == "Download snapshot"] == [
        "overview_snapshot"
    ]
    # The alerts below stand for what a collector wrote: the console's own collector (with no
    # rule in force) would resolve them at its next poll, so it stops first.
    stop_collectors()
    now = time.time()
    seed(
        Store(f"sqlite:///{console_flower}"),
        Episode("worker_offline", "w9", "critical", fired=now - 60),
        Episode("queue_backlog", "default", "warning", fired=now - 900, resolved=now - 899),
        Episode(
            "new_error", "g1", "info", fired=now,
            summary=f"new error: could not log in to http://ops:{FLOWER_PASSWORD}@flower",
        ),
    )  # fmt: skip
    text = downloads.file("snapshot-default.json").decode()
    doc = json.loads(text)

    assert (doc["format"], doc["version"], doc["cluster"]) == (1, VERSION, "default")
    assert doc["console_url"] == "https://ops.example.com"
    assert doc["unavailable"] == {}, doc["unavailable"]
    shown = {m.label: m.value for m in at.metric}
    kpis = doc["kpis"]
    assert f"{kpis['workers_online']}/{kpis['workers_total']}" == shown["Workers online"]
    assert f"{kpis['failed']:,}" == shown["Failed"] and kpis["failed"] == 16
    assert {w["worker"] for w in doc["workers"]} == set(at.dataframe[0].value["worker"])
    assert [(a["rule"], a["subject"]) for a in doc["alerts"]] == [
        ("worker_offline", "w9"),
        ("new_error", "g1"),
    ], "firing alerts only, the most severe first"
    assert sum(g["count"] for g in doc["error_groups"]) == 16
    assert [w["root_id"] for w in doc["workflows"]] == ["wf-root"]
    assert doc["workflows"][0]["state"] == "RUNNING"

    assert "hunter2" not in text, "task data is masked"
    assert FLOWER_PASSWORD not in text, "the console's secrets are scrubbed"
    assert "http://ops:***@flower" in doc["alerts"][1]["summary"]
