"""Analytics pages say when the store's data reach back less far than the chosen range.

Flower serves the recorded tasks (about 20 seconds of them) moved in time; the collector writes
them to the store; the page's viewer timezone is UTC under AppTest. The note names the store's
oldest data: the oldest task's last event, or the first minute of the rollups when earlier
(a finished task is counted in the whole minute of its finish).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest.conftest import open_page, texts
from tests.recorded import RecordedFlower, recorded
from tests.scripted_server import ScriptedServer

PAGES = ["Trends", "Errors", "Workflows"]
TIMES = ("sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected")
DAY = 86400.0


def moved(newest_ago: float) -> dict[str, dict]:
    """The recorded tasks moved so that the newest event was ``newest_ago`` seconds ago."""
    tasks = {**recorded("tasks"), **recorded("tasks_name_none")}
    shift = time.time() - newest_ago - max(t["timestamp"] for t in tasks.values())
    keys = (*TIMES, "timestamp")
    return {u: {**t, **{k: t[k] + shift for k in keys if t.get(k)}} for u, t in tasks.items()}


FINISHES = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "REVOKED": "revoked",
    "REJECTED": "rejected",
}


def oldest(tasks: dict[str, dict]) -> datetime:
    """The earlier of the oldest last event and the whole minute of the earliest finish."""
    finishes = [
        t.get(FINISHES[t["state"]]) or t["timestamp"]
        for t in tasks.values()
        if t.get("state") in FINISHES and not t.get("revoked")
    ]
    revoked = [t["revoked"] for t in tasks.values() if t.get("revoked")]
    minute = min(finishes + revoked) // 60 * 60
    return datetime.fromtimestamp(min(minute, *(t["timestamp"] for t in tasks.values())), UTC)


@pytest.fixture
def serve(monkeypatch, tmp_path):
    """Start a Flower serving the given tasks; stopped at the end of the test."""
    servers = []

    def start(tasks: dict[str, dict]) -> None:
        server = ScriptedServer(RecordedFlower(tasks))
        servers.append(server.__enter__())
        monkeypatch.setenv("FLOWER_URL", server.url)

    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    yield start
    for server in servers:
        server.__exit__(None, None, None)


def open_with_range(page: str, time_range: str) -> AppTest:
    at = open_page(page, timeout=60)
    if time_range != "Last hour":
        at.selectbox(key="time_range_pick").select(time_range).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="time_range_pick").value == time_range
    return at


@pytest.mark.parametrize("page", PAGES)
def test_a_range_older_than_flower_holds_says_since_when(serve, page):
    tasks = moved(2 * DAY)  # all within the last 7 days, none of them today
    serve(tasks)
    said = texts(open_with_range(page, "Last 7 days"))
    since = oldest(tasks)
    assert (
        f"The store holds tasks since {since:%Y-%m-%d %H:%M} (UTC); the last 7 days can't be "
        "shown before that." in said
    )


def today_form(since: datetime, today: date) -> str:
    return f"{since:%H:%M}" if since.date() == today else f"{since:%Y-%m-%d %H:%M}"


def test_a_time_today_is_said_without_the_date(serve):
    tasks = moved(60)
    serve(tasks)
    since = oldest(tasks)
    before = datetime.now(UTC).date()
    said = texts(open_with_range("Trends", "Last hour"))
    # The page read "today" somewhere between these two moments (they differ only at midnight).
    forms = {today_form(since, day) for day in (before, datetime.now(UTC).date())}
    assert any(
        f"The store holds tasks since {form} (UTC); the last hour can't be shown before that."
        in said
        for form in forms
    ), said


@pytest.mark.parametrize("page", PAGES)
def test_a_range_flower_covers_has_no_note(serve, page):
    tasks = moved(60)
    early = dict(next(iter(tasks.values())))
    early.update(uuid="held-since-early", timestamp=time.time() - 2 * 3600)
    serve({**tasks, "held-since-early": early})
    said = texts(open_with_range(page, "Last hour"))
    assert "holds tasks since" not in said
