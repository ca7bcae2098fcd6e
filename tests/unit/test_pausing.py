"""Pause and resume through the action door, over a real socket and a real store: one request
per consuming worker, each audited; the paused state kept in the store, refused when crafted."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.flower import FlowerClient
from lib.store import Store
from lib.store.pauses import PauseBook, QueuePause
from tests.scripted_server import ScriptedServer

STATUS = {"w1@h": True, "w2@h": True, "w3@h": False}
INFO = {
    "w1@h": {"active_queues": [{"name": "etl"}, {"name": "default"}]},
    "w2@h": {"active_queues": [{"name": "etl"}, {"name": "ml"}]},
    "w3@h": {"active_queues": [{"name": "etl"}]},  # offline: not asked
}
OPERATOR, VIEWER = Actor("olga", "operator"), Actor("vic", "viewer")


class FakeFlower:
    """Flower's worker listings and consumer controls; ``fail`` names workers whose POST fails."""

    def __init__(self):
        self.fail: set[str] = set()

    def __call__(self, method: str, path: str):
        url = urlsplit(path)
        query = parse_qs(url.query)
        if method == "GET" and url.path == "/api/workers":
            return 200, json.dumps(STATUS if "status" in query else INFO), {}
        worker = url.path.rsplit("/", 1)[-1]
        if worker in self.fail:
            return 500, "broken", {}
        return 200, json.dumps({"message": f"done on {worker}"}), {}


@pytest.fixture
def desk(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(url)
    flower = FakeFlower()
    with ScriptedServer(flower) as server:
        client = FlowerClient(server.url, timeout=3)
        desk = ActionDesk(client, AuditLog(url), lambda _: None, pauses=PauseBook(store))
        desk.server, desk.flower, desk.url = server, flower, url
        yield desk
    store.close()


def posts(desk) -> list[str]:
    return [path for method, path, _, _ in desk.server.requests if method == "POST"]


def targets(desk, row: int) -> dict[str, str]:
    return {t.target: t.outcome for t in desk.audit.targets(row)}


def test_pause_cancels_the_consumer_on_each_online_consumer_and_keeps_the_pause(desk):
    result = desk.perform(OPERATOR, "pause", ["etl"], {}, "op1")
    assert result.outcome == "sent", result.message
    assert posts(desk) == [
        "/api/worker/queue/cancel-consumer/w1@h",
        "/api/worker/queue/cancel-consumer/w2@h",
    ]
    assert targets(desk, result.audit_id) == {"w1@h": "sent", "w2@h": "sent"}
    row = desk.audit.row(result.audit_id)
    assert row.action == "pause" and row.user == "olga" and row.preview_count == 2
    pause = desk.pauses.pause_of("etl")
    assert (pause.by, pause.workers) == ("olga", ("w1@h", "w2@h"))


def test_the_pause_survives_a_restart_and_resume_gives_the_queue_back(desk):
    desk.perform(OPERATOR, "pause", ["etl"], {}, "op1")
    reopened = PauseBook(Store(desk.url))  # a console started again reads the same store
    assert set(reopened.paused()) == {"etl"}
    desk.pauses = reopened
    result = desk.perform(OPERATOR, "resume", ["etl"], {}, "op2")
    assert result.outcome == "sent", result.message
    assert posts(desk)[2:] == [
        "/api/worker/queue/add-consumer/w1@h",
        "/api/worker/queue/add-consumer/w2@h",
    ]
    assert reopened.paused() == {}


@pytest.mark.parametrize(
    ("action", "prepare", "said"),
    [
        ("pause", "pause", "already paused (by olga)"),
        ("resume", "", "is not paused"),
    ],
    ids=["pause-twice", "resume-unpaused"],
)
def test_what_cannot_be_done_is_refused_and_sends_nothing(desk, action, prepare, said):
    if prepare == "pause":
        desk.perform(OPERATOR, "pause", ["etl"], {}, "first")
    sent_before = len(posts(desk))
    result = desk.perform(OPERATOR, action, ["etl"], {}, "op")
    assert result.outcome == "refused" and said in result.message, result.message
    assert len(posts(desk)) == sent_before
    assert desk.audit.row(result.audit_id).outcome == "refused"


def test_a_queue_no_online_worker_consumes_is_paused_with_nothing_to_send(desk):
    # w3@h, offline (down for a deploy), is the only one with "deploys"; nobody consumes it now.
    INFO["w3@h"]["active_queues"].append({"name": "deploys"})
    try:
        result = desk.perform(OPERATOR, "pause", ["deploys"], {}, "op1")
    finally:
        INFO["w3@h"]["active_queues"].pop()
    assert result.outcome == "sent", result.message
    assert "Pause of queue deploys recorded, nothing to send." in result.message
    assert "any that starts consuming it will have its consumer cancelled" in result.message
    assert posts(desk) == []
    row = desk.audit.row(result.audit_id)
    assert (row.action, row.user, row.outcome, row.preview_count) == ("pause", "olga", "sent", 0)
    assert row.message == result.message and targets(desk, result.audit_id) == {}
    pause = desk.pauses.pause_of("deploys")
    assert (pause.by, pause.workers) == ("olga", ())


def test_resuming_a_pause_that_names_no_worker_lifts_it_and_sends_nothing(desk):
    desk.perform(OPERATOR, "pause", ["deploys"], {}, "op1")
    result = desk.perform(OPERATOR, "resume", ["deploys"], {}, "op2")
    assert result.outcome == "sent", result.message
    assert result.message.startswith("Resume of queue deploys recorded, nothing to send.")
    assert posts(desk) == [] and desk.pauses.paused() == {}
    assert desk.audit.row(result.audit_id).outcome == "sent"


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_a_viewer_cannot_pause_or_resume_even_with_a_crafted_request(desk, action):
    if action == "resume":
        desk.perform(OPERATOR, "pause", ["etl"], {}, "first")
    before = desk.pauses.paused()
    sent_before = len(posts(desk))
    crafted = {"queue": "etl", "workers": ["w1@h"]}
    result = desk.perform(VIEWER, action, ["etl"], crafted, "crafted")
    assert result.outcome == "refused" and "needs the operator role" in result.message
    assert len(posts(desk)) == sent_before and desk.pauses.paused() == before


def test_a_failed_cancel_is_audited_per_worker_and_the_pause_stands_for_the_collector(desk):
    desk.flower.fail = {"w2@h"}
    result = desk.perform(OPERATOR, "pause", ["etl"], {}, "op1")
    assert result.outcome == "partial"
    assert targets(desk, result.audit_id) == {"w1@h": "sent", "w2@h": "failed"}
    assert "etl" in desk.pauses.paused()


def test_a_double_confirm_pauses_once(desk):
    first = desk.perform(OPERATOR, "pause", ["etl"], {}, "same-op")
    again = desk.perform(OPERATOR, "pause", ["etl"], {}, "same-op")
    assert again.audit_id == first.audit_id and len(posts(desk)) == 2


# -- the pause book on both databases ------------------------------------------------------


def test_the_pause_book_keeps_one_pause_per_queue(any_store_url):
    store = Store(any_store_url)
    book = PauseBook(store)
    first = QueuePause("etl", 100.0, "olga", ("w1@h",))
    assert book.pause(first) is None
    assert book.pause(QueuePause("etl", 200.0, "ann", ())) == first, "the first pause stands"
    assert book.add_workers("etl", ["w2@h", "w1@h"], 300.0)
    assert book.pause_of("etl").workers == ("w1@h", "w2@h")
    assert book.resume("etl").workers == ("w1@h", "w2@h")
    assert not book.add_workers("etl", ["w3@h"], 400.0), "a resumed queue is not paused again"
    assert book.paused() == {} and book.resume("etl") is None
    store.close()
