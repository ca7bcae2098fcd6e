"""The Celery status block in a host app (tests/apptest/hosts/status_host.py) under AppTest:
from a seeded store, from Flower, and failing soft (one line, within its timeout, no password).
It imports nothing of the console, so a host with its own ``lib`` can use it."""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.store.engine import writing
from lib.store.store import Store
from tests.alert_rows import Episode, seed
from tests.factories import task_payload
from tests.recorded import RecordedFlower
from tests.scripted_server import ScriptedServer

HOST = str(Path(__file__).parent / "hosts" / "status_host.py")
BLOCK = Path(__file__).resolve().parents[2] / "lib" / "ui" / "celery_status.py"
UNAVAILABLE = "Celery status unavailable: "


def host(**args) -> AppTest:
    at = AppTest.from_file(HOST, default_timeout=30)
    at.session_state["status_args"] = args
    return at.run()


def sidebar_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.sidebar.get("metric")}


def said(at: AppTest) -> str:
    return "\n".join(
        str(el.value) for kind in ("warning", "caption", "markdown") for el in at.get(kind)
    )


def everything(at: AppTest) -> str:
    """All the host page holds, buttons' URLs included."""
    return str(at._tree) + said(at)


@pytest.fixture
def store(any_store_url) -> Store:
    """A store whose collector polled a minute ago: 3 workers (2 online, 5 tasks active), two
    queues (40 + 2 waiting), 9 successes and 1 failure in the last hour (and 50 failures two
    hours ago, outside it), two alerts firing, one resolved."""
    now = time.time()
    store = Store(any_store_url)
    workers = pd.DataFrame(
        {"worker": ["w1", "w2", "w3"], "online": [True, True, False], "active": [3, 2, 0]}
    )
    queues = pd.DataFrame({"queue": ["default", "mail"], "messages": [40, 2], "consumers": [2, 1]})
    store.record_samples(queues.assign(messages=[1, 1]), workers.assign(online=False), now - 120)
    store.record_samples(queues, workers, now - 60)
    recent = [task_payload(f"ok-{i}", "SUCCESS", at=now - 300 - i) for i in range(9)]
    old = [task_payload(f"old-{i}", "FAILURE", at=now - 2 * 3600 - i) for i in range(50)]
    store.upsert_tasks([*recent, task_payload("bad-1", "FAILURE", at=now - 200), *old], now)
    seed(
        store,
        Episode("worker_offline", "w3", "critical", fired=now - 60),
        Episode("queue_backlog", "default", "warning", fired=now - 30),
        Episode("failure_rate", "overall", "critical", fired=now - 900, resolved=now - 899),
    )
    return store


def test_the_block_imports_nothing_of_the_console():
    tree = ast.parse(BLOCK.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = {"streamlit", "requests", "sqlalchemy", "__future__"} | set(sys.stdlib_module_names)
    assert imported <= allowed, imported - allowed
    assert "lib" not in imported


def test_healthy_from_the_store(store):
    at = host(store_url=store.url, console_url="https://ops.example.com")
    assert not at.exception
    assert sidebar_metrics(at) == {
        "Workers online": "2/3",
        "Active tasks": "5",
        "Failure rate (1 h)": "10.0%",
        "Queue backlog": "42",
        "Firing alerts": "2",
    }
    assert "From the store, as of 1 min ago." in said(at)
    assert [b.proto.url for b in at.sidebar.get("link_button")] == ["https://ops.example.com"]
    assert at.session_state["status_result"].workers_total == 3
    assert "The host's own page goes on." in said(at)


def test_an_old_store_without_alerts_says_dash(store):
    with writing(store.engine) as conn:
        conn.exec_driver_sql("DROP TABLE alerts")
    at = host(store_url=store.url)
    assert sidebar_metrics(at)["Firing alerts"] == "—"


def test_healthy_from_flower():
    with ScriptedServer(RecordedFlower()) as server:
        at = host(flower_url=server.url)
    assert not at.exception
    shown = sidebar_metrics(at)
    # tests/fixtures/flower: workers_ui.json has w1@vm and w2@vm online, 0 + 2 active; the
    # queues hold 0 + 0 + 0 + 1; the recorded tasks finished days ago (no rate: none this hour).
    assert (shown["Workers online"], shown["Active tasks"], shown["Queue backlog"]) == (
        "2/2",
        "2",
        "1",
    )
    assert shown["Failure rate (1 h)"] == "—" and shown["Firing alerts"] == "—"
    assert "From the Flower" in said(at)
    assert any(path.startswith("/api/tasks?limit=1000") for _, path, *_ in server.requests)


def test_an_unreachable_store_is_one_line_without_its_password(closed_port):
    url = f"postgresql://ops:pg-pw-5x@127.0.0.1:{closed_port}/ops"
    at = host(store_url=url, console_url="https://admin:console-pw-3@ops.example.com")
    assert not at.exception
    [warning] = at.sidebar.warning
    assert warning.value.replace("\\", "").startswith(UNAVAILABLE + "the store could not be read")
    assert not at.sidebar.get("metric")
    assert at.session_state["status_result"] is None
    page = everything(at)
    assert "pg-pw-5x" not in page and "console-pw-3" not in page
    assert "The host's own page goes on." in said(at)


def test_a_missing_sqlite_store_is_not_created(tmp_path):
    where = tmp_path / "nowhere" / "store.sqlite3"
    at = host(store_url=f"sqlite:///{where}")
    assert at.sidebar.warning[0].value.replace("\\", "") == (
        f"{UNAVAILABLE}there is no store at {where}"
    )
    assert not where.exists()


def test_a_hung_flower_is_said_within_the_timeout():
    with ScriptedServer(lambda method, path: "hang") as server:
        host_url = server.url.removeprefix("http://")
        at = host(flower_url=f"http://admin:fl-pw-8k@{host_url}", timeout=0.5)
    assert not at.exception, "the host app returned"
    [warning] = at.sidebar.warning
    assert warning.value.replace("\\", "") == f"{UNAVAILABLE}Flower did not answer within 0.5 s"
    assert "fl-pw-8k" not in everything(at)
    assert "The host's own page goes on." in said(at)


def test_flower_refusing_the_credentials_is_said(monkeypatch):
    with ScriptedServer(lambda method, path: (401, "", {})) as server:
        at = host(flower_url=server.url)
    warning = at.sidebar.warning[0].value.replace("\\", "")
    assert warning == f"{UNAVAILABLE}Flower refused the credentials (HTTP 401)"


def test_nothing_to_read_is_said():
    at = host()
    assert at.sidebar.warning[0].value.replace("\\", "") == (
        f"{UNAVAILABLE}no store_url or flower_url given"
    )


def test_a_dead_flower_is_said(closed_port):
    at = host(flower_url=f"http://127.0.0.1:{closed_port}")
    assert at.sidebar.warning[0].value.replace("\\", "") == (
        f"{UNAVAILABLE}Flower could not be reached"
    )
