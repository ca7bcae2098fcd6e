"""Purge marks in the store (``lib.store.purged``) on SQLite and PostgreSQL: written with the
purge's target outcome through the audit log, read back per task with the purging user, the
queue's last purge, and pruned with their audit row."""

from __future__ import annotations

from lib.audit import AuditLog
from lib.purge_marks import PurgeMark
from lib.store import Store

NOW = 1_800_000_000.0
DAY = 86400.0


def purge(audit: AuditLog, user: str, queue: str, ids: list[str], op: str) -> int:
    """A purge's audit row as the desk writes it: claim, target outcome with its ids, outcome."""
    row = audit.claim(op, user, "admin", "purge", [queue], {"previewed": len(ids)}, len(ids)).row_id
    audit.record_targets(row, [(queue, "sent", "", f"{len(ids)} removed")], {queue: ids})
    audit.record_outcome(row, "sent", "done")
    return row


def test_marks_name_the_queue_the_time_and_the_user_and_the_latest_wins(store: Store, store_url):
    audit = AuditLog(store_url)
    purge(audit, "olga", "jobs", ["a", "b", "b"], "op-1")  # an id twice in one purge: once
    purge(audit, "ada", "other", ["b"], "op-2")  # b re-sent under its id, purged again
    marks = store.purge_marks(["a", "b", "c", ""])
    assert set(marks) == {"a", "b"}
    assert (marks["a"].queue, marks["a"].user) == ("jobs", "olga")
    assert (marks["b"].queue, marks["b"].user) == ("other", "ada")
    assert isinstance(marks["a"], PurgeMark) and marks["a"].at <= marks["b"].at
    assert store.purge_marks([f"x{i}" for i in range(2500)] + ["a"]).keys() == {"a"}, "batched"


def test_the_last_purge_of_a_queue_counts_any_answered_purge(store: Store, store_url):
    audit = AuditLog(store_url)
    assert store.last_purge_at("jobs") is None
    purge(audit, "olga", "jobs", [], "op-1")  # RabbitMQ: no ids, still a purge
    first = store.last_purge_at("jobs")
    refused = audit.claim("op-2", "vic", "viewer", "purge", ["jobs"], {}, None).row_id
    audit.record_targets(refused, [("jobs", "failed", "down", "")])
    assert first is not None and store.last_purge_at("jobs") == first, "a failed purge is none"
    assert store.last_purge_at("other") is None


def test_marks_are_pruned_with_their_audit_row(store: Store, store_url):
    clock = [NOW]
    audit = AuditLog(store_url, retention_days=1, clock=lambda: clock[0])
    purge(audit, "olga", "jobs", ["a"], "op-1")
    clock[0] = NOW + 2 * DAY
    assert audit.prune() == 1
    assert store.purge_marks(["a"]) == {}


def test_the_audit_lists_the_tasks_one_purge_removed(store: Store, store_url):
    audit = AuditLog(store_url)
    purge(audit, "olga", "jobs", ["b", "a"], "op-1")
    purge(audit, "olga", "jobs", ["c"], "op-2")
    removed = audit.purged_frame("op-1")
    assert removed["task"].tolist() == ["a", "b"] and set(removed["queue"]) == {"jobs"}
    assert str(removed["at"].dt.tz) == "UTC"
    assert audit.purged_frame("op-unknown").empty
