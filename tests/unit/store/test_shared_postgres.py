"""One PostgreSQL store shared by two processes' worth of writers (two engines, two pools).

Each race is made to happen, not hoped for: the first writer holds its transaction open, the
second is started and seen waiting for a lock (PostgreSQL's own view of its sessions), then the
first commits. What the second does next is what a second console or collector would do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import func, select

from lib.audit import AuditLog, DuplicateOperation
from lib.audit.database import AuditStore
from lib.audit.writing import claim
from lib.errors import StoreError
from lib.store import Store, tasks
from lib.store import engine as engine_module
from lib.store.engine import close_engine, open_engine, reading, writing
from lib.store.schema import AUDIT
from tests.unit.store.histories import success_history

pytestmark = pytest.mark.postgres

NOW = 1_800_000_000.0
SECOND = "second"


@pytest.fixture
def second_url(postgres_url):
    """The same database under another URL: its own engine, as in another process."""
    url = f"{postgres_url}?application_name={SECOND}"
    yield url
    close_engine(url)


class Writer(threading.Thread):
    """Runs ``work`` once; keeps what it returned or raised."""

    def __init__(self, work: Callable[[], object]):
        super().__init__(name="second-writer")
        self.work = work
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as exc:  # handed to the test, which says what it expected
            self.error = exc


def start_waiting_writer(postgres, work: Callable[[], object]) -> Writer:
    """Start ``work`` on the second engine and return once PostgreSQL shows it waiting for
    a lock the first writer holds."""
    writer = Writer(work)
    writer.start()
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        f"WHERE application_name = '{SECOND}' AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 15
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        while not admin.execute(query).fetchone()[0]:
            if not writer.is_alive() or time.monotonic() > deadline:
                writer.join(timeout=15)
                raise AssertionError(
                    f"the second writer never waited for the first: {writer.error!r}"
                )
            time.sleep(0.02)  # polling PostgreSQL's view until the deadline
    return writer


def race_claims(postgres, url: str, second: AuditLog, action: str, first_op: str, second_op: str):
    """Console one claims ``first_op`` on ``url`` and holds its transaction while console two
    (``second``) claims ``second_op`` for the same target; then one commits. → (won, writer)"""
    with AuditStore(url, timeout=10.0).writing() as db:
        won = claim(db, first_op, "ann", "operator", action, ["t"], None, 1, None, ())
        writer = start_waiting_writer(
            postgres, lambda: second.claim(second_op, "bob", "operator", action, ["t"])
        )
    writer.join(timeout=15)
    return won, writer


def test_two_consoles_claiming_one_operation_id_record_it_once(postgres, postgres_url, second_url):
    won, writer = race_claims(postgres, postgres_url, AuditLog(second_url), "revoke", "op", "op")
    assert isinstance(writer.error, DuplicateOperation), writer.error
    assert writer.error.row.id == won.row_id  # the second is told who sent it
    with reading(open_engine(postgres_url)) as db:
        assert db.execute(select(func.count()).select_from(AUDIT)).scalar() == 1


def test_two_consoles_retrying_one_task_at_once_send_it_once(postgres, postgres_url, second_url):
    second = AuditLog(second_url)
    won, writer = race_claims(postgres, postgres_url, second, "retry", "op-a", "op-b")
    assert writer.error is None, writer.error
    assert won.held == {}
    assert [e.audit_id for e in writer.result.held["t"]] == [won.row_id], "held back"
    assert [t.outcome for t in second.targets(writer.result.row_id)] == ["skipped"]


def test_two_collectors_counting_one_minute_add_up(postgres, postgres_url, second_url):
    # Both tasks finish in the same minute under the same name, queue and worker: each
    # writer reads the rollup key, then updates or inserts it.
    first, other = Store(postgres_url), Store(second_url)
    one = success_history("one", NOW - 100, 1.0)[-1]
    two = success_history("two", NOW - 100, 1.0)[-1]
    with writing(first.engine) as conn:
        tasks.upsert_tasks(conn, [one], NOW, first.masking)
        writer = start_waiting_writer(postgres, lambda: other.upsert_tasks([two], NOW))
    writer.join(timeout=15)
    assert writer.error is None, writer.error
    counts = first.rollup_counts(0, NOW, by=("name", "state"))
    assert counts[["name", "state", "tasks"]].values.tolist() == [["demo.add", "SUCCESS", 2]]
    assert first.percentiles("runtime", 0, NOW)["tasks"].tolist() == [2]


def test_a_write_waits_at_most_its_timeout_for_another(postgres, postgres_url, second_url):
    held = open_engine(postgres_url)
    impatient = open_engine(second_url)
    with writing(held):
        with pytest.raises(StoreError, match="lock timeout"), writing(impatient, timeout=0.2):
            pass
    with writing(impatient, timeout=0.2):
        pass  # the lock is free again


def test_a_server_that_never_answers_is_a_store_error_not_a_hang(monkeypatch):
    # A PostgreSQL host that accepts connections and never answers (overloaded, half down):
    # opening the store gives up after the connect timeout, as the audit log's pages expect.
    monkeypatch.setattr(engine_module, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel completes connections; nobody ever reads them
        url = f"postgresql://ops:S3cretPw@127.0.0.1:{silent.getsockname()[1]}/ops"
        try:
            with pytest.raises(StoreError, match="could not be written") as raised:
                Store(url)
        finally:
            close_engine(url)
    assert "S3cretPw" not in str(raised.value)


def test_a_postgresql_url_uses_psycopg_and_never_shows_its_password(postgres, postgres_url):
    assert open_engine(postgres_url).dialect.driver == "psycopg"
    user_and_host = postgres_url.split("//", 1)[1].split("@", 1)
    spelled = f"postgres://{user_and_host[0]}@{user_and_host[1]}"  # the older scheme, too
    try:
        assert open_engine(spelled).dialect.driver == "psycopg"
    finally:
        close_engine(spelled)
    nowhere = f"postgresql://ops:S3cretPw@127.0.0.1:{postgres.port}/no_such_database"
    try:
        with pytest.raises(StoreError) as raised:
            Store(nowhere)
    finally:
        close_engine(nowhere)
    said = str(raised.value)
    assert "S3cretPw" not in said and "ops:" not in said
    assert "127.0.0.1" in said and "no_such_database" in said
