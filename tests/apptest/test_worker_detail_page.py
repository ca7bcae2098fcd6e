"""``Workers?worker=<name>``: one worker's detail from a real collector's poll of the recorded
Flower over HTTP (its snapshot and store): status, pool, prefetch, queues, the tasks it is busy
with linked to their detail, task types, utilization and, for admins, its controls."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from lib.collector import Collector
from lib.settings import load_settings
from lib.store import Store
from tests.apptest.conftest import open_page, run_until, texts
from tests.recorded import recorded

W2_RUNNING = {  # the recorded training jobs in PROGRESS on w2@vm, but the one Flower marks
    uuid  # revoked (its effective state is REVOKED: revoked_in_progress)
    for uuid, task in recorded("tasks").items()
    if task["state"] == "PROGRESS" and task["worker"] == "w2@vm" and not task["revoked"]
}


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def detail_shown(at) -> bool:
    return "Prefetch count" in metrics(at)


def test_a_known_worker_shows_its_detail_sections(recorded_flower):
    at = run_until(open_page("Workers", query={"worker": "w2@vm"}), detail_shown)
    assert not at.exception, [e.message for e in at.exception]
    shown, said = metrics(at), texts(at)
    info = recorded("workers")["w2@vm"]
    assert shown["Status"] == "🟢 online" and shown["Pool"] == "prefork"
    assert shown["Concurrency"] == str(info["stats"]["pool"]["max-concurrency"])
    assert shown["Prefetch count"] == str(info["stats"]["prefetch_count"])
    assert "Main process peak RSS" in shown and "main process only" in said
    assert "Queues consumed: default, etl, ml" in said.replace("`", "").replace("*", "")
    assert all(name in said for name in info["registered"])
    assert "No rate or time limit in the worker's configuration" in said
    assert "Worker w2@vm" in said and "Controls" in said  # OPS_AUTH=off: a trusted admin
    active = at.dataframe[1].value  # the workers table (one row) first, then the active tasks
    assert set(active["uuid"]) == W2_RUNNING
    assert set(active["task"]) == {f"tasks?task={uuid}" for uuid in W2_RUNNING}
    # the per-worker figures' tabs first (Over time), then the controls'
    assert [t.label for t in at.tabs][-4:] == ["Pool", "Consumers", "Task limits", "Shut down"]


def test_a_worker_with_nothing_running_says_so(recorded_flower):
    at = run_until(open_page("Workers", query={"worker": "w1@vm"}), detail_shown)
    assert not at.exception, [e.message for e in at.exception]
    assert "No task is running on this worker, as far as the store knows." in texts(at)
    assert len(at.dataframe) == 1  # the workers table only


def test_an_unknown_worker_is_said_unknown_with_no_detail(recorded_flower):
    at = run_until(
        open_page("Workers", query={"worker": "nobody@x"}),
        lambda at: "No worker named" in texts(at),
    )
    assert not at.exception, [e.message for e in at.exception]
    said = texts(at)
    assert "No worker named nobody@x is known." in said
    assert "Worker nobody@x" not in said and "Prefetch count" not in metrics(at)
    assert "Pool" not in [t.label for t in at.tabs], "no controls for an unknown worker"


def test_an_offline_worker_says_so_and_since_its_last_heartbeat(recorded_flower):
    recorded_flower.answers["workers_status"] = (
        200,
        json.dumps({"w1@vm": True, "w2@vm": False}),
        {},
    )
    at = run_until(
        open_page("Workers", query={"worker": "w2@vm"}),
        lambda at: metrics(at).get("Status") == "⚪ offline",
    )
    assert not at.exception, [e.message for e in at.exception]
    beats = next(w for w in recorded("workers_ui")["data"] if w["hostname"] == "w2@vm")
    last = datetime.fromtimestamp(max(beats["heartbeats"]), UTC)
    assert metrics(at)["Since"] == f"{last:%Y-%m-%d %H:%M:%S}"  # the viewer's zone: UTC here
    assert "This worker is offline" in texts(at)


def test_utilization_counts_the_running_jobs_over_the_whole_range(recorded_flower):
    # The recording is 8 days old: over the last 7 days w2 (-c 2) ran exactly its two training
    # jobs still in PROGRESS (started before the range, never finished), the whole time.
    at = run_until(open_page("Workers", query={"worker": "w2@vm"}), detail_shown)
    at.selectbox(key="time_range_pick").select("Last 7 days").run()
    at = run_until(at, lambda at: "Per slot" in metrics(at))
    assert not at.exception, [e.message for e in at.exception]
    shown = metrics(at)
    assert len(W2_RUNNING) == 2
    assert (shown["Busy ÷ wall time"], shown["Per slot"]) == ("200.0%", "100.0%")


def test_a_console_on_an_external_collector_shows_the_kept_facts(recorded_flower, monkeypatch):
    settings = load_settings(os.environ, {})
    store = Store.from_settings(settings)
    Collector(settings, store).poll()  # what `./ops collect` writes
    store.close()
    recorded_flower.fault = (500, "<html>down</html>", {})  # the console must not need Flower
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    at = open_page("Workers", query={"worker": "w2@vm"})
    assert not at.exception, [e.message for e in at.exception]
    shown = metrics(at)
    assert (shown["Pool"], shown["Prefetch count"], shown["Concurrency"]) == ("prefork", "2", "2")
    assert set(at.dataframe[1].value["uuid"]) == W2_RUNNING


def test_no_inspect_yet_says_where_the_facts_will_come_from(recorded_flower):
    recorded_flower.answers["workers"] = (200, "{}", {})  # Flower has inspected no worker yet
    at = run_until(
        open_page("Workers", query={"worker": "w2@vm"}), lambda at: "Status" in metrics(at)
    )
    assert not at.exception, [e.message for e in at.exception]
    assert "which the collector has not read yet (it asks once a minute)" in texts(at)
    assert "Prefetch count" not in metrics(at) and "Registered task types" not in texts(at)
