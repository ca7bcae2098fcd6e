"""The console started with its server (``serve``, ``lib.ui.wiring.start``): the collector runs
before any visit, and the first visit finds the pages' readings built."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from demo.cluster import free_port
from lib.monitor import ClusterMonitor
from lib.settings import load_settings
from lib.ui import wiring
from tests.apptest.conftest import open_page, texts

REPO = Path(__file__).resolve().parents[2]


def started(monkeypatch):
    monkeypatch.setenv("OPS_POLL_SECONDS", "60")  # one poll in the test: nothing moves after it
    settings = load_settings(os.environ, {})
    wiring.start(settings)
    return wiring.console(settings).monitor


def test_a_started_console_has_read_the_cluster_before_any_visit(recorded_flower, monkeypatch):
    monitor = started(monkeypatch)
    assert monitor.version >= 1, "the collector polled with no page open"
    assert monitor.tasks_held() == len(recorded_flower.tasks)


def test_the_first_visits_build_nothing_the_start_built(recorded_flower, monkeypatch):
    monitor = started(monkeypatch)
    built = monitor.builds
    for page in ("Overview", "Trends", "Errors", "Workers", "Queues"):
        at = open_page(page)
        assert not at.exception, page
        assert "Login is off" in texts(at), page  # the page ran to its end
    assert monitor.builds == built, "a page built what the start should have"


def test_the_first_poll_waits_for_the_readings_built_from_the_store(recorded_flower, monkeypatch):
    """A restarted console's first visitor reads what the store held, built with no poll
    beside it (a poll's parsing slowed that build by half at 100k tasks)."""
    versions = []
    warm_up = ClusterMonitor.warm_up

    def slow_warm_up(self, rules=()):
        if not versions:
            time.sleep(1.0)  # a big store's build: a poll not held would come meanwhile
        warm_up(self, rules)
        versions.append(self.version)

    monkeypatch.setattr(ClusterMonitor, "warm_up", slow_warm_up)
    monitor = started(monkeypatch)
    assert versions[0] == 0, "the collector polled before the readings were built"
    assert monitor.version >= 1 and versions[1:] == [monitor.version]  # built again after it


def test_serve_starts_the_collector_with_the_server_before_any_visit(recorded_flower, tmp_path):
    data = Path(os.environ["OPS_DATA_DIR"])
    env = {**os.environ, "OPS_POLL_SECONDS": "1"}
    port = free_port()
    command = [sys.executable, "-m", "serve", "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        held, deadline = 0, time.monotonic() + 60
        while held < len(recorded_flower.tasks) and time.monotonic() < deadline:
            time.sleep(0.2)
            held = stored_tasks(data / "store.sqlite3")
        assert held == len(recorded_flower.tasks), "no page was opened; the collector wrote"
    finally:
        server.terminate()
        server.wait(timeout=20)


def stored_tasks(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0
