"""Action dialogs through AppTest: select, open, confirm, toast; cancel; double confirm."""

from __future__ import annotations

from pathlib import Path

from lib.audit import AuditLog
from tests.apptest.conftest import open_page
from tests.recorded import recorded_tasks


def revocable_row(at) -> tuple[int, str]:
    """A table position of a task still waiting (revoke acts on it, skips finished ones)."""
    table = at.dataframe[0].value
    waiting = table.index[table["state"].isin(["PENDING", "RECEIVED", "STARTED"])]
    assert len(waiting), "the recorded tasks include waiting ones"
    return int(waiting[0]), table.loc[waiting[0], "uuid"]


def select(at, *rows: int) -> None:
    at.session_state["task_grid"] = {"selection": {"rows": list(rows), "columns": []}}
    at.run()


def audit_rows(tmp_path: Path) -> list:
    """The audit log the app wrote (the recorded_flower fixture sets OPS_DATA_DIR)."""
    return AuditLog(tmp_path / "ops-data" / "audit.sqlite3").rows()


def test_select_revoke_confirm_toast(recorded_flower, tmp_path):
    at = open_page("Tasks")
    row, uuid = revocable_row(at)
    select(at, row)
    at.button(key="bulk_revoke").click().run()
    assert at.button(key="dialog_confirm"), "the confirmation dialog is open"
    assert recorded_flower.posts == [], "opening the dialog sends nothing"
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert recorded_flower.posts == [f"/api/task/revoke/{uuid}"]
    assert any("Revoke" in t.value for t in at.toast)
    rows = audit_rows(tmp_path)
    assert len(rows) == 1 and rows[0].outcome == "sent" and rows[0].user == "local"


def test_cancel_sends_nothing(recorded_flower, tmp_path):
    at = open_page("Tasks")
    row, _ = revocable_row(at)
    select(at, row)
    at.button(key="bulk_revoke").click().run()
    at.button(key="dialog_cancel").click().run()
    assert not at.exception
    assert "pending_action" not in at.session_state
    assert recorded_flower.posts == []
    assert audit_rows(tmp_path) == []


def test_double_confirm_is_one_action(recorded_flower, tmp_path):
    at = open_page("Tasks")
    row, _ = revocable_row(at)
    select(at, row)
    at.button(key="bulk_revoke").click().run()
    pending = dict(at.session_state["pending_action"])
    at.button(key="dialog_confirm").click().run()
    # The same click arrives again (a fast rerun re-delivers it, or a second tab replays it).
    at.session_state["pending_action"] = pending
    at.run()
    at.button(key="dialog_confirm").click().run()
    at.session_state["done_ops"] = set()  # even without this session's memory of the click
    at.session_state["pending_action"] = pending
    at.run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert len(recorded_flower.posts) == 1
    assert len(audit_rows(tmp_path)) == 1


def test_retry_of_truncated_args_is_refused_in_the_dialog(recorded_flower, tmp_path):
    truncated = next(t["uuid"] for t in recorded_tasks() if len(t.get("args") or "") > 1024)
    at = open_page("Tasks", query={"task": truncated})
    at.button(key="one_retry").click().run()
    assert any("truncated" in w.value for w in at.warning) or any(
        "truncated" in str(df.value.to_dict()) for df in at.dataframe
    )
    assert at.button(key="dialog_confirm").disabled, "nothing eligible: Confirm is disabled"
    assert recorded_flower.posts == []


def test_act_on_all_matching_shows_the_exact_count(recorded_flower):
    at = open_page("Tasks", query={"state": "FAILURE"})
    at.checkbox(key="act_on_all").check().run()
    failures = [t for t in recorded_tasks() if t["state"] == "FAILURE"]
    assert any(f"{len(failures)} task(s) selected" in c.value for c in at.caption)
    at.button(key="bulk_revoke").click().run()
    assert "0** task(s) will be affected" in "".join(m.value for m in at.markdown)
    assert at.button(key="dialog_confirm").disabled, "finished tasks cannot be revoked"
