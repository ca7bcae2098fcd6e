"""Action dialogs through AppTest: select, open, confirm, toast; cancel; double confirm."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import frames
from lib.actions import ActionDesk
from lib.audit import AuditLog
from tests.apptest.conftest import console_on, open_page, plain, texts
from tests.recorded import RecordedFlower, recorded_tasks, truncated_args


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
    return AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()


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


# -- issue 10: readable refusals, the limit before the preview, double retries, the rest -------

ENABLE = (
    "Run the workers with result_extended=True and set CELERY_RESULT_BACKEND so the console "
    "reads the real arguments."
)


def warnings(at) -> str:
    return "\n".join(plain(w.value) for w in at.warning)


def test_skip_reasons_are_shown_in_full_as_text_above_the_tables(recorded_flower):
    at = open_page("Tasks", query={"task": truncated_args()})
    at.button(key="one_retry").click().run()
    said = warnings(at)
    assert "1 task skipped: the args Flower shows are truncated or masked" in said
    assert ENABLE in said, "the whole reason, not a cell cut at 'result_extende…'"
    assert at.button(key="dialog_confirm").disabled


def test_act_on_all_over_the_limit_refuses_before_building_the_preview(
    recorded_flower, monkeypatch
):
    monkeypatch.setenv("OPS_BULK_LIMIT", "2")
    previews: list[int] = []
    real = ActionDesk.preview
    monkeypatch.setattr(
        ActionDesk, "preview", lambda self, a, ids: previews.append(1) or real(self, a, ids)
    )
    at = open_page("Tasks", query={"state": "FAILURE"})
    at.checkbox(key="act_on_all").check().run()
    at.button(key="bulk_retry").click().run()
    failures = sum(t["state"] == "FAILURE" for t in recorded_tasks())
    assert f"{failures} tasks is over the bulk limit of 2 per action" in texts(at)
    assert "will be affected" not in texts(at)
    assert previews == [], "no task was read for a preview that cannot be confirmed"
    assert at.button(key="dialog_confirm").disabled


def retryable_failure() -> str:
    return next(
        t["uuid"] for t in recorded_tasks() if t["state"] == "FAILURE" and t["name"] == "demo.flaky"
    )


def test_a_second_retry_warns_with_the_earlier_one_and_needs_the_tick(recorded_flower, tmp_path):
    failed = retryable_failure()
    at = open_page("Tasks", query={"task": failed})
    at.button(key="one_retry").click().run()
    assert "retried before" not in warnings(at)
    at.button(key="dialog_confirm").click().run()
    assert len(recorded_flower.posts) == 1 and "send-task" in recorded_flower.posts[0]
    at.button(key="one_retry").click().run()
    said = warnings(at)
    assert "retried before" in said and f"task {failed} was already retried as new-1" in said
    assert at.button(key="dialog_confirm").disabled, "Confirm waits for 'Retry again anyway'"
    at.checkbox(key="dialog_retry_again").check().run()
    assert not at.button(key="dialog_confirm").disabled
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert len(recorded_flower.posts) == 2
    rows = audit_rows(tmp_path)
    assert [r.outcome for r in rows] == ["sent", "sent"]
    assert rows[0].params["retry_again"] == [rows[1].id]


class FailingPosts(RecordedFlower):
    """Reads work; every POST after the first ``ok`` answers 500 until ``ok`` is raised."""

    def __init__(self):
        super().__init__()
        self.ok = 1

    def _post(self, path: str):
        if len(self.posts) >= self.ok:
            self.posts.append(path)
            return 500, "Internal Server Error", {}
        return super()._post(path)


@pytest.fixture
def failing_posts(monkeypatch, tmp_path):
    with console_on(FailingPosts(), monkeypatch, tmp_path) as script:
        yield script


def test_a_stopped_bulk_action_says_so_and_offers_the_rest(failing_posts, tmp_path):
    # The filter reads effective states: a job terminated mid-PROGRESS is REVOKED, not waiting.
    shown = {"PENDING", "RECEIVED", "PROGRESS"}
    every = frames.tasks_frame(recorded_tasks())
    waiting = every.loc[every["state"].isin(shown), "uuid"].tolist()
    at = open_page("Tasks", query={"state": ",".join(sorted(shown))})
    at.checkbox(key="act_on_all").check().run()
    at.button(key="bulk_revoke").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    n = len(waiting)
    assert len(failing_posts.posts) == 4, "1 sent, then 3 failures in a row: stop"
    said = warnings(at)
    assert f"stopped after 4 of {n}: Flower stopped answering" in said
    assert f"{n - 4} not sent" in said
    first_op = audit_rows(tmp_path)[0].op_id
    sent = {p.rsplit("/", 1)[-1] for p in failing_posts.posts}
    failing_posts.ok = 100
    at.button(key="send_rest").click().run()
    pending = at.session_state["pending_action"]
    assert set(pending["targets"]) == set(waiting) - sent and pending["op_id"] != first_op
    assert at.button(key="dialog_confirm"), "the rest opens its own confirmation"
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    revoked = [p.rsplit("/", 1)[-1] for p in failing_posts.posts]
    assert sorted(revoked[4:]) == sorted(set(waiting) - sent)
    assert not [b for b in at.button if b.key == "send_rest"], "the offer is gone once used"
    rows = audit_rows(tmp_path)
    assert [r.outcome for r in rows] == ["sent", "partial"]


def test_the_audit_log_shows_each_targets_outcome(recorded_flower, tmp_path):
    desk_audit = AuditLog(tmp_path / "ops-data" / "store.sqlite3")
    claim = desk_audit.claim("op-x", "ann", "operator", "revoke", ["a", "b", "c"])
    desk_audit.record_targets(
        claim.row_id,
        [
            ("a", "sent", "", "ok"),
            ("b", "failed", "Flower answered 500", ""),
            ("c", "not tried", "Flower stopped answering", ""),
        ],
    )
    desk_audit.record_outcome(claim.row_id, "partial", "Revoke stopped after 2 of 3")
    at = open_page("Audit log")
    assert not at.exception
    at.selectbox(key="audit_pick").select("op-x").run()
    table = next(df.value for df in at.dataframe if "target" in df.value.columns)
    assert dict(zip(table["target"], table["outcome"], strict=True)) == {
        "a": "sent",
        "b": "failed",
        "c": "not tried",
    }
    assert "Flower stopped answering" in table["reason"].tolist()
