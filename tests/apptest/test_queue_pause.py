"""Pause and resume from ``Queues?queue=<name>`` through AppTest on a recorded Flower served
over HTTP: the buttons, Confirm, the requests to each consuming worker, "Paused since … by …" in
the viewer's timezone, the queues table's paused columns, and no button for a viewer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from lib.store import Store
from lib.store.pauses import PauseBook, QueuePause
from tests.apptest.conftest import console_on, open_page, texts
from tests.apptest.test_access import go, log_in, users_on  # noqa: F401 (a fixture)
from tests.recorded import RecordedFlower, recorded

CANCELS = ["/api/worker/queue/cancel-consumer/w1@vm", "/api/worker/queue/cancel-consumer/w2@vm"]
ADDS = ["/api/worker/queue/add-consumer/w1@vm", "/api/worker/queue/add-consumer/w2@vm"]


class ConsumingFlower(RecordedFlower):
    """The recorded Flower whose workers' queues follow the cancel/add-consumer requests, as
    real workers' do (else the console's collector would rightly cancel them again)."""

    def __init__(self):
        super().__init__()
        self.info = recorded("workers")

    def __call__(self, method: str, path: str):
        url = urlsplit(path)
        if method == "GET" and url.path == "/api/workers" and "status" not in parse_qs(url.query):
            return 200, json.dumps(self.info), {}
        if method == "POST" and "-consumer/" in url.path:
            worker = url.path.rsplit("/", 1)[-1]
            queues = self.info[worker]["active_queues"]
            if "cancel" in url.path:
                self.info[worker]["active_queues"] = [q for q in queues if q["name"] != "etl"]
            else:
                queues.append({"name": "etl"})
        return super().__call__(method, path)


@pytest.fixture
def consuming_flower(monkeypatch, tmp_path):
    with console_on(ConsumingFlower(), monkeypatch, tmp_path) as script:
        yield script


def book(tmp_path) -> PauseBook:
    return PauseBook(Store(f"sqlite:///{tmp_path / 'ops-data' / 'store.sqlite3'}"))


def confirm(at) -> None:
    at.button(key="dialog_confirm").click().run()
    assert not at.exception


def test_pause_then_resume_from_the_queue_panel(consuming_flower, tmp_path):
    recorded_flower = consuming_flower
    at = open_page("Queues", {"queue": "etl"}, tz="Europe/Berlin")
    assert not at.exception and "Not paused" in texts(at)
    at.button(key="queue_pause").click().run()
    said = texts(at)
    assert "Pause queue etl" in said and "does not stop" in said
    assert recorded_flower.posts == [], "nothing is sent before Confirm"
    confirm(at)
    assert recorded_flower.posts == CANCELS
    pause = book(tmp_path).pause_of("etl")
    since = datetime.fromtimestamp(pause.since, UTC).astimezone(ZoneInfo("Europe/Berlin"))
    at.run()
    assert f"Paused since {since:%H:%M} by local (Europe/Berlin)." in texts(at)
    table = next(df.value for df in at.dataframe if "paused_by" in df.value.columns)
    assert table.set_index("queue").loc["etl", "paused_by"] == "local"
    assert at.button(key="queue_resume").label == "Resume"
    at.button(key="queue_resume").click().run()
    confirm(at)
    assert recorded_flower.posts == CANCELS + ADDS
    at.run()
    assert "Not paused" in texts(at) and book(tmp_path).paused() == {}


@pytest.mark.parametrize("collector", ["embedded", "external"])
def test_a_viewer_sees_the_pause_but_no_button(users_on, tmp_path, monkeypatch, collector):  # noqa: F811
    """The pause another console wrote into the store, read back by this one either way."""
    monkeypatch.setenv("OPS_COLLECTOR", collector)
    book(tmp_path).pause(QueuePause("etl", 0.0, "olga"))
    at = log_in("vic")
    at.query_params["queue"] = "etl"
    go(at, "Queues")
    assert not at.exception
    assert "Paused since 1970-01-01 00:00 by olga (UTC)." in texts(at)
    keys = {b.key for b in at.button}
    assert "queue_resume" not in keys and "queue_pause" not in keys


class NobodyOnMl(ConsumingFlower):
    """Flower whose workers are up but none consumes ``ml`` (its one message waits)."""

    def __init__(self):
        super().__init__()
        for info in self.info.values():
            info["active_queues"] = [q for q in info["active_queues"] if q["name"] != "ml"]


def test_a_queue_nobody_consumes_is_paused_with_nothing_sent_and_said_paused(monkeypatch, tmp_path):
    with console_on(NobodyOnMl(), monkeypatch, tmp_path) as flower:
        at = open_page("Queues", {"queue": "ml"})
        assert not at.exception
        assert "Messages wait with no consumer in: ml." in texts(at)
        at.button(key="queue_pause").click().run()
        said = texts(at)
        assert (
            "Queue ml: No worker consumes it now; any that starts consuming it will have its "
            "consumer cancelled." in said
        )
        confirm(at)
        assert flower.posts == []
        assert book(tmp_path).pause_of("ml").workers == ()
        at.run()
        said = texts(at)
        assert "Messages wait in paused queues until Resume: ml." in said
        assert "Messages wait with no consumer in" not in said
        # The panel's consumers say why there are none, not that nobody consumes it.
        assert "None while the queue is paused: its messages wait until Resume." in said
        assert "No online worker consumes this queue now" not in said
