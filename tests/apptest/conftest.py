"""AppTest helpers: run the real entrypoint, then switch to a page, with fresh caches."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.ui import wiring
from lib.ui.wiring import stop_collectors
from tests.recorded import RecordedFlower
from tests.scripted_server import ScriptedServer

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = {
    "Overview": "screens/overview.py",
    "Workers": "screens/workers.py",
    "Tasks": "screens/tasks.py",
    "Queues": "screens/queues.py",
    "Alerts": "screens/alerts.py",
    "Trends": "screens/trends.py",
    "Errors": "screens/errors.py",
    "Workflows": "screens/workflows.py",
    "Audit log": "screens/audit_log.py",
    "Setup check": "screens/setup_check.py",
}


def open_page(
    page: str, query: dict | None = None, timeout: float = 30, tz: str | None = None
) -> AppTest:
    """``page`` opened through the entrypoint; ``tz``: the browser's timezone (else none: UTC)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if tz is not None:
        at.context["timezone"] = tz
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if PAGES[page] != "screens/overview.py":
        at.switch_page(PAGES[page]).run()
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab ``label`` of the lazy tabs ``key`` (``ui.lazy_tabs``), as a click does:
    the page reruns and builds that tab only."""
    at.session_state[key] = label
    return at.run()


def open_section(at: AppTest, key: str) -> AppTest:
    """Open the closed section ``key`` (``ui.lazy_section``), as a click does."""
    at.session_state[key] = True
    return at.run()


def plain(markdown: str) -> str:
    """Markdown source as a reader sees it: the console escapes untrusted text with '\\'."""
    return re.sub(r"\\(.)", r"\1", str(markdown))


def texts(at: AppTest) -> str:
    """Everything the page says in alerts, captions, markdown and headings, as one string."""
    parts = []
    for kind in ("error", "warning", "info", "caption", "markdown", "title", "subheader", "text"):
        parts += [plain(el.value) for el in getattr(at, kind)]
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch, tmp_path):
    # Each test's own store: the collector keeps state there (a cursor, its health) that must
    # not pass from one test to the next through the default OPS_DATA_DIR.
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    # The recorded Flower's tasks are days old: retention would keep them out of the store.
    monkeypatch.setenv("OPS_RETENTION_DAYS", "3650")
    monkeypatch.setenv("OPS_RETENTION_SUCCESS_DAYS", "3650")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    # The console's collector threads are daemons, but each polls its test's Flower until
    # stopped: stop them with the test that started them.
    stop_collectors()
    st.cache_data.clear()
    st.cache_resource.clear()


def run_until(
    at: AppTest,
    predicate: Callable[[AppTest], bool],
    timeout: float = 10,
    before: Callable[[AppTest], object] | None = None,
) -> AppTest:
    """Rerun ``at`` until ``predicate(at)`` holds (the collector shows a change after its next
    poll, ``OPS_POLL_SECONDS=1`` here) or ``timeout`` s pass; returns ``at`` either way, so the
    test's own assertion says what was wrong. ``before(at)`` runs before each rerun (e.g. click
    Refresh on a page that keeps its snapshot)."""
    deadline = time.monotonic() + timeout
    while not predicate(at) and time.monotonic() < deadline:
        if before is not None:
            before(at)
        at.run()
    return at


def collector_caught_up(timeout: float = 30) -> None:
    """Wait until each running console collector has finished a poll that started after now
    (two more polls: the one under way may have started before), so pages show what the
    cluster did until now."""
    for collector in list(wiring._COLLECTORS.values()):
        collector.wait_polled(collector.snapshot.version + 1, timeout)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def console_on(script, monkeypatch, tmp_path: Path) -> Iterator:
    """``script`` served over real HTTP as the console's Flower (login off, 1 s polls)."""
    with ScriptedServer(script) as server:
        monkeypatch.setenv("FLOWER_URL", server.url)
        monkeypatch.setenv("OPS_AUTH", "off")
        monkeypatch.setenv("OPS_POLL_SECONDS", "1")
        monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
        yield script


@pytest.fixture
def recorded_flower(monkeypatch, tmp_path):
    """A real HTTP server answering with recorded Flower payloads; set ``.fault`` to break it."""
    with console_on(RecordedFlower(), monkeypatch, tmp_path) as script:
        yield script
