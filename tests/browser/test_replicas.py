"""Replicas: one collector (``python -m lib.collector``) and two console servers (``streamlit
run app.py``, ``OPS_COLLECTOR=external``) on one PostgreSQL store and the real cluster.

Separate processes throughout, as a team runs them behind a load balancer: the consoles only
read the store; they show the same numbers, share the audit log (an action done in one is on
the other's Audit log at its next run), and an operation id is sent once however many console
processes try it at the same moment (the store's audit claim serializes them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from demo.cluster import Cluster, spawn_logged
from lib.store import Store
from lib.store.engine import close_engine
from tests.browser.conftest import (
    REPO_ROOT,
    VIEWPORT,
    _stop_group,
    confirm_action,
    download_csv,
    log_tail,
    open_page,
    park_task,
    serve_console,
    task_heading,
    wait_until,
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Server:
    """A console server's base URL (what ``open_page`` needs)."""

    url: str


@dataclass
class Replicas:
    """The collector process, the two console servers and the store they share."""

    store_url: str
    collector: subprocess.Popen
    collector_log: Path
    consoles: tuple[Server, Server]
    env: dict[str, str]  # a console replica's environment (for more console processes)

    def stored(self, task_id: str) -> bool:
        """True once the collector has written ``task_id`` to the store."""
        if self.collector.poll() is not None:
            raise RuntimeError(f"the collector exited:\n{log_tail(self.collector_log)}")
        store = Store(self.store_url)
        try:
            return store.task(task_id) is not None
        finally:
            store.close()


@pytest.fixture(scope="module")
def replicas(
    cluster: Cluster, postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    """``./ops collect`` and two consoles, each with its own data directory: the PostgreSQL
    store (and the session secret) is all they share."""
    store_url = postgres.database()
    work = tmp_path_factory.mktemp("replicas")
    shared = {"OPS_STORE_URL": store_url, "PYTHONUNBUFFERED": "1"}
    collector_env = {
        **os.environ,
        **cluster.env(),
        **shared,
        "OPS_POLL_SECONDS": "1",
        "OPS_DATA_DIR": str(work / "collector"),
    }
    replica_env = {
        **shared,
        "OPS_AUTH": "off",
        "OPS_COLLECTOR": "external",
        "OPS_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    log = work / "collector.log"
    collector = spawn_logged([sys.executable, "-m", "lib.collector"], collector_env, log)
    try:
        with ExitStack() as stack:
            homes = [work / f"console-{i}" for i in (1, 2)]
            for home in homes:
                home.mkdir()
            urls = [stack.enter_context(serve_console(cluster, h, replica_env))[0] for h in homes]
            env = {**os.environ, **cluster.env(), **replica_env, "OPS_DATA_DIR": str(work)}
            yield Replicas(store_url, collector, log, (Server(urls[0]), Server(urls[1])), env)
    finally:
        _stop_group(collector)
        close_engine(store_url)
        postgres.drop(store_url)


def claimant(replicas: Replicas, op: str, task_id: str, go: Path) -> subprocess.Popen:
    """A console process of its own that will revoke ``task_id`` as operation ``op``."""
    args = [sys.executable, "-m", "tests.browser.claimant", op, task_id, str(go)]
    return subprocess.Popen(
        args, env=replicas.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )


def test_two_console_processes_send_one_operation_once(replicas: Replicas, cluster: Cluster):
    task_id = park_task(cluster, (11, 17))
    wait_until(lambda: replicas.stored(task_id), 20, f"the collector to store {task_id}")
    go = Path(replicas.env["OPS_DATA_DIR"]) / "go"
    op = secrets.token_hex(16)
    procs = [claimant(replicas, op, task_id, go) for _ in range(2)]
    try:
        for proc in procs:  # both built, waiting: then they act at the same moment
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go.touch()
        said = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sum(s["sent"] for s in said) == 1, said
    assert said[0]["row"] == said[1]["row"] is not None, "one audit row for the operation"
    (sender,) = [s for s in said if s["sent"]]
    assert sender["outcome"] == "sent", said  # the other is told of that row (in flight or done)


@pytest.fixture
def tabs(browser: Browser) -> Iterator[tuple[Page, Page]]:
    """A browser tab on each console (each its own context: its own Streamlit session)."""
    contexts = [
        browser.new_context(accept_downloads=True, viewport=VIEWPORT, timezone_id="UTC")
        for _ in range(2)
    ]
    try:
        for context in contexts:
            context.set_default_timeout(20_000)
        yield contexts[0].new_page(), contexts[1].new_page()
    finally:
        for context in contexts:
            context.close()


def shows_pending(tab: Page, console: Server, task_id: str) -> None:
    open_page(tab, console, f"/tasks?task={task_id}")
    expect(task_heading(tab, task_id)).to_be_visible()
    state = tab.get_by_test_id("stMetric").filter(has_text="State")
    expect(state.get_by_test_id("stMetricValue")).to_have_text("PENDING")


def revokes_of(tab: Page, console: Server, task_id: str, into: Path) -> list[dict[str, str]]:
    open_page(tab, console, "/audit_log")
    rows = download_csv(tab, into, "audit-log")
    return [r for r in rows if r["action"] == "revoke" and r["targets"] == task_id]


def sidebar_status(tab: Page, console: Server) -> str:
    """The sidebar's "Last good refresh <time> (<age>) · <n> tasks", without the age (which
    grows between two reads)."""
    open_page(tab, console, "/")
    status = tab.get_by_test_id("stSidebar").get_by_text("Last good refresh")
    expect(status).to_have_count(1)
    return re.sub(r" \([^)]*\)", "", status.inner_text())


def test_two_consoles_show_the_same_and_share_the_audit_log(
    replicas: Replicas, cluster: Cluster, tabs: tuple[Page, Page], tmp_path: Path
):
    (a, b), (first, second) = tabs, replicas.consoles
    task_id = park_task(cluster, (12, 19))
    wait_until(lambda: replicas.stored(task_id), 20, f"the collector to store {task_id}")
    shows_pending(a, first, task_id)
    shows_pending(b, second, task_id)

    note = confirm_action(a, "one_revoke", "Revoke")
    assert f"Revoke: {task_id}." in note, note
    on_b = revokes_of(b, second, task_id, tmp_path / "b")  # B's next run: the same log
    assert len(on_b) == 1 and (on_b[0]["outcome"], on_b[0]["count"]) == ("sent", "1"), on_b
    assert revokes_of(a, first, task_id, tmp_path / "a") == on_b

    _stop_group(replicas.collector)  # the store stands still: both must say the same of it
    shown = [sidebar_status(a, first), sidebar_status(b, second)]
    assert shown[0] == shown[1], shown
    store = Store(replicas.store_url)
    try:
        held = store.task_count()
    finally:
        store.close()
    assert f"· {held:,} tasks" in shown[0], (shown, held)
