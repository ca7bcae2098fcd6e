"""The Audit log page over a large log: counts of every row in the filter, choices from the whole
period, filters done by the query, and empty states that say why."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from lib.audit import AuditLog
from tests.apptest.conftest import open_page, texts
from tests.recorded import recorded_tasks

#: More rows than the page used to read (it silently stopped at the newest 10,000).
RECENT = 10_500


def audit_path(tmp_path: Path) -> Path:
    """Where the app keeps its audit log: the store file in OPS_DATA_DIR (recorded_flower)."""
    return tmp_path / "ops-data" / "store.sqlite3"


def insert(path: Path, rows: list[tuple[str, float, str, str]]) -> None:
    """Finished rows ``(op_id, at, user, action)``, inserted directly (fast)."""
    AuditLog(path)  # the schema
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO audit (op_id, at, user, role, action, targets, params, finished_at,"
            " outcome, message) VALUES (?, ?, ?, 'operator', ?, ?, '{}', ?, 'sent', 'ok')",
            [(op, at, user, act, json.dumps([f"t-{op}"]), at + 1) for op, at, user, act in rows],
        )
    db.close()


@pytest.fixture
def big_log(recorded_flower, tmp_path):
    """10,500 revokes by ann in the last 3 hours, and one purge by zed three days ago."""
    now = time.time()
    recent = [(f"op-{i}", now - i, "ann", "revoke") for i in range(RECENT)]
    insert(audit_path(tmp_path), [*recent, ("op-zed", now - 3 * 86_400, "zed", "purge")])
    return recorded_flower


def test_the_count_covers_every_row_in_the_filter(big_log):
    at = open_page("Audit log")
    assert not at.exception
    assert "10,500 entries" in texts(at)
    assert at.multiselect(key="audit_users").options == ["ann"]

    at.selectbox(key="audit_span").select("Last 7 days").run()
    assert "10,501 entries" in texts(at)
    # The option comes from the whole period, not from the newest rows that were read.
    assert at.multiselect(key="audit_users").options == ["ann", "zed"]

    at.multiselect(key="audit_users").select("zed").run()
    assert "1 entry" in texts(at)
    table = at.dataframe[0].value
    assert table["op_id"].tolist() == ["op-zed"] and table["user"].tolist() == ["zed"]


def test_a_table_too_long_for_the_browser_says_it_is_capped(big_log):
    at = open_page("Audit log")
    assert len(at.dataframe[0].value) == 10_000
    said = texts(at)
    assert "newest 10,000 of 10,500" in said
    assert "Download CSV and Download JSON have all 10,500" in said


def test_empty_log_says_nothing_was_recorded_yet(recorded_flower):
    at = open_page("Audit log")
    assert not at.exception
    assert "No actions recorded yet" in texts(at)
    assert "0 entries" in texts(at)


def test_a_filter_that_matches_nothing_says_how_to_see_the_period(big_log):
    at = open_page("Audit log")
    at.selectbox(key="audit_span").select("Last 7 days").run()
    at.multiselect(key="audit_users").select("zed").run()
    at.multiselect(key="audit_actions").select("revoke").run()
    said = texts(at)
    assert "No entries match these filters" in said and "10,501 entries" in said


def test_a_quiet_period_points_to_a_longer_span(recorded_flower, tmp_path, monkeypatch):
    monkeypatch.setenv("OPS_AUDIT_RETENTION_DAYS", "90")
    insert(audit_path(tmp_path), [("op-old", time.time() - 3 * 86_400, "zed", "purge")])
    at = open_page("Audit log")
    said = texts(at)
    assert "No actions recorded in the last 24 hours" in said
    assert "older than 90 days are deleted" in said
    at.selectbox(key="audit_span").select("Everything").run()
    assert "1 entry" in texts(at)


def test_an_unusable_audit_log_is_said_in_words_and_other_pages_still_work(
    recorded_flower, tmp_path
):
    audit_path(tmp_path).mkdir(parents=True)  # a directory where the store file belongs
    at = open_page("Audit log")
    assert not at.exception
    assert "The audit log" in "\n".join(e.value for e in at.error)
    at.switch_page("screens/tasks.py").run()
    assert not at.exception
    assert at.dataframe, "the Tasks page still shows its table"
    waiting = next(t["uuid"] for t in recorded_tasks() if t["state"] == "RECEIVED")
    at.query_params["task"] = waiting
    at.run()
    assert not at.exception
    assert "Retry links unknown: The audit log" in texts(at), "the detail says what it lacks"
    at.button(key="one_revoke").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert "Nothing was sent" in "\n".join(t.value for t in at.toast)
    assert recorded_flower.posts == [], "nothing is sent unaudited"


# -- issue 12: the audit log lives in the store; the old file is taken in once ----------------


def test_the_old_audit_file_is_taken_in_when_the_console_starts(recorded_flower, tmp_path):
    from tests.legacy_audit import write_legacy_file

    old = tmp_path / "ops-data" / "audit.sqlite3"
    now = time.time()
    write_legacy_file(
        old,
        [{"id": 41, "op_id": "op-old", "at": now - 60, "user": "zed", "action": "purge",
          "targets": ["default"], "outcome": "sent", "message": "purged 3"}],
        [(41, "default", "sent", "", "purged 3", now - 59)],
    )  # fmt: skip
    at = open_page("Audit log")
    assert not at.exception
    assert "1 entry" in texts(at)
    table = at.dataframe[0].value
    assert table["op_id"].tolist() == ["op-old"] and table["user"].tolist() == ["zed"]
    assert not old.exists() and old.with_name("audit.sqlite3.migrated").is_file()
    assert AuditLog(audit_path(tmp_path)).row(41).message == "purged 3"


def test_a_corrupt_old_audit_file_is_said_and_the_log_still_works(recorded_flower, tmp_path):
    old = tmp_path / "ops-data" / "audit.sqlite3"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"not a database " * 400)
    at = open_page("Audit log")
    assert not at.exception
    warned = "\n".join(w.value for w in at.warning)
    assert "The old audit log" in warned and "could not be taken into the store" in warned
    assert "No actions recorded yet" in texts(at), "the log in the store is usable"
    assert old.exists(), "left where it is"
    at.switch_page("screens/tasks.py").run()
    assert not at.exception and at.dataframe
