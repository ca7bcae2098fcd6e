"""Taking the old audit file (``OPS_DATA_DIR/audit.sqlite3``) into the store: every row kept
exactly, once, and a file that cannot be read said in words with the store left usable."""

from __future__ import annotations

import sqlite3

import pytest

from lib.audit import AuditError, AuditLog
from lib.audit.legacy import import_legacy_audit
from tests.legacy_audit import write_legacy_file

ROWS = [
    # A bulk retry, sent, whose targets were recorded z before a (their order is kept).
    {"id": 3, "op_id": "op-retry", "at": 1_750_000_000.123456, "user": "ann", "action": "retry",
     "targets": ["z", "a"], "params": {"retry_again": [1]}, "preview_count": 2,
     "finished_at": 1_750_000_001.5, "outcome": "sent", "http_status": 200, "message": "ok",
     "links": {"z": "z2", "a": "a2"}},
    # A revoke whose outcome was never written (the console stopped in between).
    {"id": 7, "op_id": "op-crash", "at": 1_750_000_100.0, "user": "bob", "action": "revoke",
     "targets": ["q"]},
    {"id": 9, "op_id": "op-purge", "at": 1_750_000_200.0, "user": "cy", "action": "purge",
     "targets": ["default"], "outcome": "failed", "http_status": 503, "message": "broker down"},
]  # fmt: skip
TARGETS = [
    (3, "z", "sent", "", "z2", 1_750_000_001.25),
    (3, "a", "sent", "", "a2", 1_750_000_001.5),
    (7, "q", None, None, None, None),
    (9, "default", "failed", "broker down", "", 1_750_000_200.5),
]


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "audit.sqlite3"
    write_legacy_file(path, ROWS, TARGETS)
    return path


@pytest.fixture
def store(any_store_url) -> str:
    """The store the file is taken into: an SQLite file, then a PostgreSQL database."""
    return any_store_url


def dump(path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        found = db.execute(query).fetchall()
    db.close()
    return found


def dump_store(url: str, query: str) -> list[tuple]:
    from lib.store.engine import open_engine, reading

    with reading(open_engine(url)) as db:
        return [tuple(row) for row in db.exec_driver_sql(query)]


AUDIT_ROWS = "SELECT * FROM audit ORDER BY id"
TARGET_ROWS = "SELECT audit_id, target, outcome, reason, reply, at FROM audit_target"


def test_every_row_and_target_is_kept_exactly(old_file, store, tmp_path):
    before_rows = dump(old_file, AUDIT_ROWS)
    before_targets = dump(old_file, f"{TARGET_ROWS} ORDER BY rowid")
    taken = import_legacy_audit(store, old_file)
    assert (taken.rows, taken.targets) == (3, 4)
    assert not old_file.exists() and taken.renamed_to == tmp_path / "audit.sqlite3.migrated"
    assert dump(taken.renamed_to, AUDIT_ROWS) == before_rows, "the old file is kept as it was"
    # Ids, op ids, times, outcomes: exactly; each an action on the one cluster there was.
    assert [row[:-1] for row in dump_store(store, AUDIT_ROWS)] == before_rows
    assert {row[-1] for row in dump_store(store, AUDIT_ROWS)} == {"default"}
    assert dump_store(store, f"{TARGET_ROWS} ORDER BY id") == before_targets
    log = AuditLog(store)
    assert [r.op_id for r in log.rows()] == ["op-purge", "op-crash", "op-retry"]
    assert [t.target for t in log.targets(3)] == ["z", "a"], "in the order they were recorded"
    assert log.row(7).outcome_text == "outcome unknown"
    assert log.retry_links("a") == {"retried_as": ["a2"], "retry_of": []}
    assert [e.audit_id for e in log.earlier_retries(["z"])["z"]] == [3]
    assert [r.cluster for r in log.rows()] == ["default"] * 3
    assert log.count(clusters=["default"]) == 3 and log.count(clusters=["staging"]) == 0


def test_new_actions_never_reuse_an_old_id(old_file, store):
    import_legacy_audit(store, old_file)
    log = AuditLog(store)
    claim = log.claim("op-new", "ann", "operator", "revoke", ["t", "u"])
    assert claim.row_id == 10
    assert log.claim("op-next", "ann", "operator", "revoke", ["t"]).row_id == 11
    # Targets too: the new ones come after the copied ones, in the order they were recorded.
    ids = dump_store(store, "SELECT id, target FROM audit_target WHERE audit_id >= 10 ORDER BY id")
    assert [target for _, target in ids] == ["t", "u", "t"]
    assert min(i for i, _ in ids) > len(TARGETS)


def test_it_happens_once_and_a_restart_is_a_no_op(old_file, store, tmp_path):
    import_legacy_audit(store, old_file)
    AuditLog(store).claim("op-new", "ann", "operator", "revoke", ["t"])
    assert import_legacy_audit(store, old_file) is None  # the next start: nothing to take in
    assert AuditLog(store).count() == 4
    assert (tmp_path / "audit.sqlite3.migrated").is_file()


def test_a_crash_before_the_rename_is_finished_by_the_next_start(old_file, store):
    taken = import_legacy_audit(store, old_file)
    taken.renamed_to.rename(old_file)  # as if the console stopped between commit and rename
    again = import_legacy_audit(store, old_file)
    assert (again.rows, again.targets) == (0, 0) and not old_file.exists()
    assert AuditLog(store).count() == 3, "not copied twice"


def test_a_file_from_before_per_target_records_is_taken_in(tmp_path, store):
    path = tmp_path / "audit.sqlite3"
    write_legacy_file(path, ROWS, per_target=False)
    taken = import_legacy_audit(store, path)
    assert (taken.rows, taken.targets) == (3, 0)
    # Its retries are read from the links, as before.
    assert [e.new_id for e in AuditLog(store).earlier_retries(["z"])["z"]] == ["z2"]


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, it is a note" * 200, b"SQLite format 3\x00" + b"\x07" * 4000],
    ids=["not-sqlite", "damaged-header"],
)
def test_a_corrupt_file_is_said_in_words_and_the_store_stays_usable(tmp_path, store, content):
    path = tmp_path / "audit.sqlite3"
    path.write_bytes(content)
    with pytest.raises(AuditError) as caught:
        import_legacy_audit(store, path)
    said = str(caught.value)
    assert f"The old audit log {path} could not be taken into the store" in said
    assert "left where it is" in said and "Traceback" not in said
    assert path.read_bytes() == content, "left as it was"
    log = AuditLog(store)
    assert log.count() == 0
    log.claim("op-1", "ann", "operator", "revoke", ["t"])
    assert [r.op_id for r in log.rows()] == ["op-1"]


def test_a_file_that_is_no_audit_log_is_refused(tmp_path, store):
    path = tmp_path / "audit.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(AuditError, match="no such table: audit"):
        import_legacy_audit(store, path)
    assert path.exists()


def test_a_store_with_other_rows_leaves_the_file_for_a_person(old_file, store):
    AuditLog(store).claim("op-elsewhere", "ann", "operator", "revoke", ["t"])
    with pytest.raises(AuditError, match="already holds 1 other audit rows"):
        import_legacy_audit(store, old_file)
    assert old_file.exists()
    assert [r.op_id for r in AuditLog(store).rows()] == ["op-elsewhere"]


def test_no_old_file_is_nothing_to_do(tmp_path):
    store = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    assert import_legacy_audit(store, tmp_path / "audit.sqlite3") is None
    assert not (tmp_path / "store.sqlite3").exists(), "the store is not even opened"


def test_a_row_the_store_refuses_takes_in_nothing(tmp_path, store):
    # Rows are copied in one transaction: one bad target (an outcome the store does not know,
    # possible in a hand-edited file) and none of the file's rows are in the store.
    path = tmp_path / "audit.sqlite3"
    write_legacy_file(path, ROWS, per_target=False)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE audit_target (audit_id, target, outcome, reason, reply, at)")
        db.executemany("INSERT INTO audit_target VALUES (?, ?, ?, ?, ?, ?)", TARGETS)
        db.execute("INSERT INTO audit_target VALUES (9, 'other', 'maybe', '', '', 1.0)")
    db.close()
    with pytest.raises(AuditError, match="audit log"):
        import_legacy_audit(store, path)
    assert path.exists()
    assert AuditLog(store).count() == 0


def test_a_store_from_before_the_audit_moved_in_gains_its_tables(store):
    from sqlalchemy import inspect

    from lib.store.engine import open_engine, reading
    from lib.store.migrations import STEPS, current_version, migrate

    engine = open_engine(store)
    migrate(engine, STEPS[:1])  # the store as the foundation commit left it
    with reading(engine) as conn:
        assert not inspect(conn).has_table("audit")
    log = AuditLog(store)
    log.claim("op-1", "ann", "operator", "revoke", ["t"])
    with reading(engine) as conn:
        assert current_version(conn) == STEPS[-1].version
    assert [t.target for t in log.targets(1)] == ["t"]
