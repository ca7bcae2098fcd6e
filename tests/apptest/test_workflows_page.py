"""The Workflows page over a Flower serving recorded real payloads (and a few built ones).

Expected numbers are counted by hand from tests/fixtures/flower/tasks.json: 9 demo.train_model
tasks (2 running, 1 succeeded, 2 failed), 8 ETL pipelines (pl-fixture02 fails in transform).
The recorded tasks are moved in time so the newest event was a minute ago: the default range
("Last hour") then holds all of them, whenever the test runs.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from lib.audit import AuditLog
from lib.workflows.config import DEFAULT_FILE
from tests.apptest.conftest import open_page, texts
from tests.recorded import RecordedFlower, recorded, special
from tests.scripted_server import ScriptedServer


def open_workflows(query: dict | None = None, timeout: float = 30) -> AppTest:
    return open_page("Workflows", query, timeout)


def tables(at: AppTest, column: str) -> list:
    """The page's tables that have ``column``, in page order."""
    return [d.value for d in at.dataframe if column in d.value.columns]


TIMES = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "timestamp")


def recent(tasks: dict[str, dict]) -> dict[str, dict]:
    shift = time.time() - 60 - max(t["timestamp"] for t in tasks.values())
    return {u: {**t, **{k: t[k] + shift for k in TIMES if t.get(k)}} for u, t in tasks.items()}


def serve(monkeypatch, tmp_path, tasks: dict[str, dict]):
    server = ScriptedServer(RecordedFlower(tasks))
    monkeypatch.setenv("FLOWER_URL", server.url)
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_POLL_SECONDS", "1")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    return server


@pytest.fixture
def recent_flower(monkeypatch, tmp_path):
    """The recorded Flower (and the task it saw mid-flight), a minute old."""
    with serve(
        monkeypatch, tmp_path, recent({**recorded("tasks"), **recorded("tasks_name_none")})
    ) as server:
        yield server.respond


def test_every_view_of_the_default_config_renders(recent_flower):
    at = open_workflows()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Workflows"
    assert [t.label for t in at.tabs] == ["ML training", "ETL pipelines", "Teams", "Chains"]
    downloads = [b for b in at.get("download_button") if b.proto.label == "Download CSV"]
    assert len(downloads) == len(at.dataframe), "every table has its Download CSV"
    (jobs,) = tables(at, "progress")
    assert len(jobs) == 9
    states = "FAILURE FAILURE PENDING PROGRESS PROGRESS RECEIVED RECEIVED REVOKED SUCCESS"
    assert sorted(jobs["state"]) == states.split()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active jobs"] == "2"
    assert metrics["Best accuracy"] == "0.6239"
    (pipelines,) = tables(at, "health")
    assert len(pipelines) == 8
    assert pipelines.set_index("pipeline").loc["pl-fixture02", "health"] == "unhealthy"
    assert (metrics["Healthy"], metrics["Unhealthy"]) == ("7", "1")
    (teams,) = tables(at, "workers_online")
    assert set(teams["team"]) >= {"ml", "data", "messaging", "platform"}
    (workflows,) = tables(at, "failing_step")
    assert len(workflows) == 9
    assert "CELERY_RESULT_BACKEND is not set" in texts(at)


def test_task_deep_link_opens_its_workflow_tree(recent_flower):
    at = open_workflows({"task": special("etl_transform")})
    assert not at.exception
    (tree,) = tables(at, "depth")
    assert tree["name"].tolist() == ["demo.extract", "demo.transform", "demo.load"]
    assert tree["depth"].tolist() == [0, 1, 2]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["State"], metrics["Tasks"], metrics["Unfinished"]) == ("SUCCESS", "3", "0")
    assert at.button(key="wf_revoke").disabled, "nothing left to revoke"


def test_picking_a_workflow_in_the_list_opens_its_tree(recent_flower):
    at = open_workflows()
    (workflows,) = tables(at, "failing_step")
    row = workflows.index[workflows["root_id"] == special("etl_extract")][0]
    at.session_state["wf_list"] = {"selection": {"rows": [int(row)], "columns": []}}
    at.run()
    (tree,) = tables(at, "depth")
    assert tree["uuid"].tolist() == [
        special("etl_extract"),
        special("etl_transform"),
        special("etl_load"),
    ]


def test_a_typed_task_id_opens_its_tree(recent_flower):
    at = open_workflows()
    at.text_input(key="wf_task").input(special("chord_callback")).run()
    (tree,) = tables(at, "depth")
    assert tree["name"].tolist() == ["demo.generate_report", "demo.summarize_reports"]


def test_an_unknown_task_says_so_escaped(recent_flower):
    at = open_workflows({"task": "**not-a-task**"})
    assert not at.exception
    assert any("\\*\\*not\\-a\\-task\\*\\*" in w.value for w in at.warning)


def running_chain() -> dict[str, dict]:
    """A three-step chain: the first done, the second running, the third waiting in a queue."""
    base = {"name": "demo.extract", "root_id": "s1", "worker": "w1@vm", "routing_key": "etl"}
    base |= {"kwargs": "{'pipeline_id': 'pl-run'}", "args": "()", "children": [], "timestamp": 2e9}
    return {
        "s1": {**base, "uuid": "s1", "state": "SUCCESS", "sent": 2e9 - 9, "started": 2e9 - 8,
               "succeeded": 2e9 - 7, "runtime": 1.0, "children": ["s2"], "parent_id": None},
        "s2": {**base, "uuid": "s2", "name": "demo.transform", "state": "STARTED", "sent": 2e9 - 6,
               "started": 2e9 - 5, "parent_id": "s1", "children": ["s3"]},
        "s3": {**base, "uuid": "s3", "name": "<b>demo.load</b> **x**", "state": "PENDING",
               "sent": 2e9 - 4, "parent_id": "s2"},
    }  # fmt: skip


@pytest.fixture
def chain_flower(monkeypatch, tmp_path):
    with serve(monkeypatch, tmp_path, recent(running_chain())) as server:
        yield server.respond


def test_revoke_workflow_confirms_then_revokes_every_unfinished_task(chain_flower, tmp_path):
    at = open_workflows({"task": "s3"})
    (tree,) = tables(at, "depth")
    assert tree["uuid"].tolist() == ["s1", "s2", "s3"]
    assert {m.label: m.value for m in at.metric}["Unfinished"] == "2"
    at.button(key="wf_revoke").click().run()
    assert chain_flower.posts == [], "the dialog comes first"
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert sorted(chain_flower.posts) == ["/api/task/revoke/s2", "/api/task/revoke/s3"]
    audit = AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()
    assert [(r.action, r.outcome) for r in audit] == [("revoke", "sent")]


def test_task_text_stays_out_of_markdown(chain_flower):
    at = open_workflows({"task": "s3"})
    (tree,) = tables(at, "depth")
    assert "<b>demo.load</b> **x**" in tree["name"].tolist()
    rendered = [m.value for m in (*at.markdown, *at.caption, *at.warning, *at.error, *at.metric)]
    assert not any("<b>" in str(value) for value in rendered)


def fit_jobs() -> dict[str, dict]:
    """Training under a name with no "train" in it: one run finished with loss/accuracy in its
    result, one failed (out of memory), one still queued."""
    base = {"name": "ml.fit_model", "routing_key": "ml", "args": "('net',)", "kwargs": "{}"}
    base |= {"children": [], "parent_id": None, "timestamp": 2e9}
    return {
        "ok": {**base, "uuid": "ok", "root_id": "ok", "state": "SUCCESS", "worker": "w2@vm",
               "sent": 2e9 - 30, "started": 2e9 - 29, "succeeded": 2e9 - 20, "runtime": 9.0,
               "result": "{'loss': 0.25, 'accuracy': 0.91}"},
        "oom": {**base, "uuid": "oom", "root_id": "oom", "state": "FAILURE", "worker": "w2@vm",
                "sent": 2e9 - 15, "started": 2e9 - 14, "failed": 2e9 - 5,
                "exception": "RuntimeError('CUDA out of memory')"},
        "queued": {**base, "uuid": "queued", "root_id": "queued", "state": "PENDING",
                   "sent": 2e9 - 2},
    }  # fmt: skip


@pytest.fixture
def fit_flower(monkeypatch, tmp_path):
    with serve(monkeypatch, tmp_path, recent(fit_jobs())) as server:
        yield server.respond


def test_every_task_of_a_detected_training_name_is_listed_whatever_its_state(fit_flower):
    at = open_workflows()
    assert not at.exception, [e.message for e in at.exception]
    (jobs,) = tables(at, "progress")
    rows = jobs.set_index("uuid")
    assert sorted(rows.index) == ["ok", "oom", "queued"]
    assert rows["state"].to_dict() == {"ok": "SUCCESS", "oom": "FAILURE", "queued": "PENDING"}
    assert rows.loc["ok", ["loss", "accuracy", "source"]].tolist() == [0.25, 0.91, "result"]
    assert rows.loc[["oom", "queued"], "source"].tolist() == ["not observed"] * 2
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Completed · Last hour"], metrics["Failed · Last hour"]) == ("1", "1")


def broken_defaults(change: tuple[str, str]) -> str:
    old, new = change
    text = DEFAULT_FILE.read_text()
    assert old in text
    return text.replace(old, new + "   # MARK", 1)


BROKEN = {
    "bad regex": ('tasks = ["*train*"]', 'tasks = ["re:train(("]'),
    "unknown kind": ('kind = "pipeline"', 'kind = "pipe-line"'),
    "toml syntax": ('title = "Teams"', 'title = "Teams'),
}
LEFT = {"bad regex": "ML training", "unknown kind": "ETL pipelines", "toml syntax": "Teams"}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_an_invalid_config_shows_its_line_and_the_other_views_render(
    case, recent_flower, monkeypatch, tmp_path
):
    text = broken_defaults(BROKEN[case])
    path = tmp_path / "workflows.toml"
    path.write_text(text)
    monkeypatch.setenv("OPS_WORKFLOWS_FILE", str(path))
    at = open_workflows()
    assert not at.exception, [e.message for e in at.exception]
    line = next(i for i, line in enumerate(text.splitlines(), 1) if "# MARK" in line)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and f"line {line}" in errors[0], errors
    labels = [t.label for t in at.tabs]
    assert LEFT[case] not in labels
    assert len(labels) == 3 and labels[-1] == "Chains"


def test_an_unreadable_config_leaves_the_chains_tab(recent_flower, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_WORKFLOWS_FILE", str(tmp_path / "missing.toml"))
    at = open_workflows()
    assert not at.exception
    assert any("cannot read" in e.value for e in at.error)
    assert [t.label for t in at.tabs] == ["Chains"]


def test_an_unreachable_result_backend_is_a_note_not_a_failure(
    recent_flower, monkeypatch, closed_port
):
    monkeypatch.setenv("CELERY_RESULT_BACKEND", f"redis://127.0.0.1:{closed_port}/1")
    at = open_workflows()
    assert not at.exception, [e.message for e in at.exception]
    assert any("cannot be read" in w.value for w in at.warning), [w.value for w in at.warning]
    (jobs,) = tables(at, "progress")
    assert len(jobs) == 9


def test_flower_down_is_a_plain_message(monkeypatch, closed_port):
    monkeypatch.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:hunter2")
    monkeypatch.setenv("OPS_AUTH", "off")
    at = open_workflows()
    assert not at.exception
    assert at.title[0].value == "Workflows"
    assert "cannot be reached" in texts(at) and "hunter2" not in texts(at)
