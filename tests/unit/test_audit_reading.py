"""Reading and pruning the audit log: every row in the filter, exact filters, retention.

Rows are inserted straight into the store with one ``executemany`` (tens of thousands in well
under a second); the ``AuditLog`` under test then reads them like the Audit log page does. Each
test runs on an SQLite file and on a PostgreSQL database, except those about SQLite itself.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import insert as sa_insert

from lib.audit import AuditLog
from lib.export import csv_bytes
from lib.store.engine import open_engine, writing
from lib.store.schema import AUDIT

NOW = 1_750_000_000.0  # a fixed "now" for the whole file
DAY = 86_400.0
USERS = ("ann", "bob", "cy")
ACTIONS = ("revoke", "retry", "purge", "terminate")
#: More than the 10,000 rows the log used to stop at.
MANY = 12_345


def insert(url: str, rows: list[tuple[str, float, str, str]]) -> None:
    """Insert finished rows ``(op_id, at, user, action)`` directly, fast."""
    values = [
        {"op_id": op, "at": at, "user": user, "role": "operator", "action": action,
         "targets": json.dumps([f"t-{op}"]), "params": "{}", "preview_count": 1,
         "finished_at": at + 1, "outcome": "sent", "message": "ok"}
        for op, at, user, action in rows
    ]  # fmt: skip
    with writing(open_engine(url)) as db:
        db.execute(sa_insert(AUDIT), values)


def spread(count: int, days: float = 40.0) -> list[tuple[str, float, str, str]]:
    """``count`` rows over the last ``days``, users and actions interleaved unevenly."""
    step = days * DAY / count
    return [(f"op-{i}", NOW - i * step, USERS[i % 3], ACTIONS[(i // 2) % 4]) for i in range(count)]


@pytest.fixture
def store(any_store_url) -> str:
    return any_store_url


def filled(url: str) -> tuple[AuditLog, list[tuple[str, float, str, str]]]:
    log = AuditLog(url)
    rows = spread(MANY)
    insert(url, rows)
    return log, rows


@pytest.fixture
def many(store) -> tuple[AuditLog, list[tuple[str, float, str, str]]]:
    return filled(store)


@pytest.fixture
def many_in_sqlite(tmp_path) -> tuple[AuditLog, list[tuple[str, float, str, str]]]:
    return filled(f"sqlite:///{tmp_path / 'store.sqlite3'}")


def expected(rows, since=None, users=(), actions=()) -> list[str]:
    """The op ids a careful person picks from ``rows`` by hand, newest first."""
    picked = [
        r
        for r in rows
        if (since is None or r[1] >= since)
        and (not users or r[2] in users)
        and (not actions or r[3] in actions)
    ]
    return [r[0] for r in sorted(picked, key=lambda r: r[1], reverse=True)]


def test_rows_and_frame_return_every_row_without_a_filter(many):
    log, _ = many
    assert len(log.rows()) == MANY
    assert len(log.frame()) == MANY
    assert log.count() == MANY


@pytest.mark.parametrize(
    ("since_days", "users", "actions"),
    [
        (None, (), ()),
        (30, (), ()),
        (None, ("ann",), ()),
        (None, (), ("retry", "purge")),
        (35, ("ann", "cy"), ("revoke",)),
        (1, ("bob",), ("terminate",)),
        (7, ("nobody",), ()),
    ],
    ids=["all", "30-days", "one-user", "two-actions", "all-three", "narrow", "no-match"],
)
def test_filters_are_exact_and_uncapped(many, since_days, users, actions):
    log, rows = many
    since = NOW - since_days * DAY if since_days else None
    want = expected(rows, since, users, actions)
    assert [r.op_id for r in log.rows(since, users=users, actions=actions)] == want
    frame = log.frame(since, users=users, actions=actions)
    assert frame["op_id"].tolist() == want
    assert log.count(since, users=users, actions=actions) == len(want)


def test_a_limit_keeps_the_newest(many):
    log, rows = many
    assert [r.op_id for r in log.rows(limit=5)] == expected(rows)[:5]
    assert (
        log.frame(users=("bob",), limit=3)["op_id"].tolist() == expected(rows, users=("bob",))[:3]
    )


def test_csv_holds_every_row_in_the_filter(many):
    log, rows = many
    since = NOW - 30 * DAY
    frame = log.frame(since, users=("ann", "bob"))
    lines = list(csv.DictReader(io.StringIO(csv_bytes(frame).decode("utf-8"))))
    assert [line["op_id"] for line in lines] == expected(rows, since, ("ann", "bob"))
    assert len(lines) > 5_000


def test_filter_choices_come_from_the_whole_period(store):
    path = store
    log = AuditLog(path)
    # 10,500 recent rows by ann, and one older row by zed that a newest-10,000 read never saw.
    recent = [(f"op-{i}", NOW - i, "ann", "revoke") for i in range(10_500)]
    insert(path, [*recent, ("op-old", NOW - 3 * DAY, "zed", "purge")])
    assert log.choices(NOW - 7 * DAY) == {"user": ["ann", "zed"], "action": ["purge", "revoke"]}
    assert log.choices(NOW - DAY) == {"user": ["ann"], "action": ["revoke"]}
    assert log.count(NOW - 7 * DAY, users=("zed",)) == 1


def test_filter_choices_sort_the_same_on_every_database(store):
    # By code point, as SQLite and Python sort text; a PostgreSQL database sorts by its
    # collation (here ICU English: "_ops", "ann", "Bob") unless the order is made explicit.
    log = AuditLog(store)
    insert(store, [("op-1", NOW, "ann", "retry"), ("op-2", NOW, "Bob", "Revoke")])
    insert(store, [("op-3", NOW, "_ops", "purge"), ("op-4", NOW, "Zed", "revoke")])
    assert log.choices() == {
        "user": ["Bob", "Zed", "_ops", "ann"],
        "action": ["Revoke", "purge", "retry", "revoke"],
    }


def test_csv_times_are_iso_8601_with_offset(store):
    path = store
    log = AuditLog(path)
    insert(path, [("op-1", NOW + 0.123456, "ann", "revoke")])
    frame = log.frame()
    # The page converts to the viewer's timezone before export (ui.local_frame).
    shown = frame.assign(
        time=frame["time"].dt.tz_convert("Asia/Kolkata"),
        finished=frame["finished"].dt.tz_convert("Asia/Kolkata"),
    )
    line = next(csv.DictReader(io.StringIO(csv_bytes(shown).decode("utf-8"))))
    for column, at in (("time", NOW + 0.123456), ("finished", NOW + 1.123456)):
        parsed = datetime.fromisoformat(line[column])
        assert line[column].endswith("+05:30"), line[column]
        assert parsed.timestamp() == pytest.approx(at, abs=1e-6)


# -- retention (OPS_AUDIT_RETENTION_DAYS) -----------------------------------------------------


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_retention_prunes_old_rows_when_the_log_opens(store):
    path = store
    AuditLog(path)
    insert(
        path, [("old", NOW - 31 * DAY, "ann", "revoke"), ("new", NOW - 29 * DAY, "ann", "retry")]
    )
    log = AuditLog(path, retention_days=30, clock=Clock(NOW))
    assert [r.op_id for r in log.rows()] == ["new"]


def test_without_retention_nothing_is_pruned(store):
    path = store
    AuditLog(path)
    insert(path, [("ancient", NOW - 3650 * DAY, "ann", "revoke")])
    clock = Clock(NOW)
    log = AuditLog(path, clock=clock)
    clock.now += 7 * DAY
    assert log.prune() == 0
    assert [r.op_id for r in log.rows()] == ["ancient"]


def test_pruning_runs_at_most_hourly_on_reads(store):
    path = store
    clock = Clock(NOW)
    log = AuditLog(path, retention_days=30, clock=clock)
    # Becomes older than 30 days 10 minutes after the log opened.
    insert(path, [("ages", NOW - 30 * DAY + 600, "ann", "revoke"), ("keeps", NOW, "bob", "retry")])
    clock.now += 1800  # half an hour later: past retention, but the hourly prune is not due
    assert log.count() == 2
    assert len(log.frame()) == 2
    clock.now = NOW + 3600  # an hour after opening: the next read prunes
    assert [r.op_id for r in log.rows()] == ["keeps"]
    assert log.count() == 1


def test_prune_says_how_many_rows_went(store):
    path = store
    clock = Clock(NOW)
    log = AuditLog(path, retention_days=1, clock=clock)
    insert(path, [(f"op-{i}", NOW - 2 * DAY - i, "ann", "revoke") for i in range(11_000)])
    insert(path, [("today", NOW, "ann", "revoke")])
    assert log.prune() == 11_000
    assert [r.op_id for r in log.rows()] == ["today"]


@pytest.mark.parametrize(
    ("since", "users", "actions"),
    [
        (NOW - DAY, (), ()),
        (None, ("ann",), ()),
        (None, (), ("retry", "purge")),
        (NOW - DAY, ("ann", "bob"), ("revoke",)),
    ],
    ids=["span", "users", "actions", "all-three"],
)
def test_every_filter_is_answered_from_an_index(many_in_sqlite, since, users, actions):
    """A filter on a huge log stays quick: SQLite searches an index instead of scanning rows."""
    from sqlalchemy.dialects import sqlite

    from lib.audit.reading import count_query

    log, _ = many_in_sqlite
    query = count_query(since, users, actions).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    with sqlite3.connect(log.path) as db:
        plan = db.execute(f"EXPLAIN QUERY PLAN {query}")
        steps = " ".join(str(step[-1]) for step in plan)
    db.close()
    assert "USING" in steps and "INDEX" in steps, steps


def test_an_unusable_audit_file_is_an_audit_error_not_a_crash(tmp_path):
    # The store is down (here: the file's place is taken by a directory). Opening the log must
    # not take every page with it; each read and write says, as an AuditError, what is wrong.
    from lib.audit import AuditError

    path = tmp_path / "store.sqlite3"
    path.mkdir()
    log = AuditLog(path)
    for read in (log.count, log.choices, log.rows, log.frame, lambda: log.retry_links("t")):
        with pytest.raises(AuditError, match="audit log"):
            read()
    with pytest.raises(AuditError, match="audit log"):
        log.earlier_retries(["t"])
    with pytest.raises(AuditError, match="audit log"):
        log.claim("op", "ann", "operator", "revoke", ["t"])
    path.rmdir()  # the store is back: the log works without a restart
    assert log.count() == 0
    log.claim("op", "ann", "operator", "revoke", ["t"])
    assert [r.op_id for r in log.rows()] == ["op"]
