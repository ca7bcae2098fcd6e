"""Shared by the webhook outbox's tests: queued notifications written as the state machine
writes them (a change row and its outbox row), and a real HTTP receiver on a loopback port."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import insert, select

from lib.store import Store
from lib.store.engine import reading, writing
from lib.store.schema import ALERT_CHANGES, ALERT_DELIVERIES
from tests.scripted_server import ScriptedServer

#: The webhook's token: a secret that must never reach the store, a log or a message.
TOKEN = "T0KEN-5ecret-9f8e7d6c"
HOOK_PATH = f"/hooks/{TOKEN}"
#: When the notifications of these tests were queued (epoch s).
QUEUED_AT = 1_780_000_000.0


def payload(rule: str, subject: str, state: str, since: float = QUEUED_AT) -> dict:
    """A notification body as the contract names it (lib.alerts' state machine makes them)."""
    return {
        "rule": rule,
        "state": state,
        "severity": "critical",
        "subject": subject,
        "summary": f"Worker {subject} is offline.",
        "value": 1.0,
        "threshold": None,
        "since": "2026-05-28T20:26:40+00:00",
        "url": f"https://console.example/workers?worker={subject}",
        "text": f":red_circle: {state}: Worker {subject} is offline.",
    }


def queue(
    store: Store,
    rule: str = "worker_offline",
    subject: str = "w1",
    state: str = "firing",
    at: float = QUEUED_AT,
    body: str | None = None,
    cluster: str = "default",
) -> tuple[int, str]:
    """Queue one notification (its change and its outbox row, one transaction); return the
    change id and the payload text."""
    text = body if body is not None else json.dumps(payload(rule, subject, state))
    change = dict(cluster=cluster, rule=rule, subject=subject, state=state, severity="critical")
    change.update(summary="Worker is offline.", link=f"workers?worker={subject}", at=at)
    with writing(store.engine) as conn:
        change_id = conn.execute(insert(ALERT_CHANGES).values(**change)).inserted_primary_key[0]
        row = dict(cluster=cluster, change_id=change_id, payload=text, status="queued")
        conn.execute(insert(ALERT_DELIVERIES).values(**row, attempts=0, created_at=at, next_at=at))
    return change_id, text


def outbox(store: Store) -> list[dict]:
    """Every outbox row, oldest first, as plain dicts."""
    with reading(store.engine) as conn:
        rows = conn.execute(select(ALERT_DELIVERIES).order_by(ALERT_DELIVERIES.c.id)).mappings()
        return [dict(r) for r in rows]


class Receiver:
    """A webhook receiver: answers ``status`` (or hangs when it is "hang"); keeps the POSTs."""

    def __init__(self) -> None:
        self.status: int | str = 200
        self.server: ScriptedServer | None = None

    def __call__(self, method: str, path: str):
        if self.status == "hang":
            return "hang"
        return self.status, '{"ok": true}', {}

    @property
    def posts(self) -> list[tuple[str, str, bytes, dict]]:
        return self.server.requests if self.server is not None else []

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, _, body, _ in self.posts]


@contextmanager
def receiving(receiver: Receiver, port: int = 0) -> Iterator[Receiver]:
    with ScriptedServer(receiver, port) as server:
        receiver.server = server
        yield receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(Receiver()) as running:
        yield running


def hook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{HOOK_PATH}"


def port_of(receiver: Receiver) -> int:
    return int(receiver.server.url.rsplit(":", 1)[1])


def free_port() -> int:
    """A loopback port nothing listens on (the receiver down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def shared_store(any_store_url) -> Iterator[Store]:
    """A store on SQLite, then on PostgreSQL (for claims between consoles)."""
    opened = Store(any_store_url)
    yield opened
    opened.close()
