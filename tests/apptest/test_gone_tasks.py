"""Actions on a task Flower no longer holds (issue 12 point 4): the store keeps it, marked
``in_flower`` False; its detail and the action dialog say what each action can still do before
the click, refuse what cannot work, and audit as for any task."""

from __future__ import annotations

from lib.audit import AuditLog
from lib.ui import wiring
from tests.apptest.conftest import collector_caught_up, open_page, texts
from tests.recorded import recorded_tasks


def forget(recorded_flower, uuid: str) -> None:
    """Flower forgets ``uuid`` (evicted, or restarted); the console's collector notices on its
    next full reload, made due now."""
    del recorded_flower.tasks[uuid]
    for collector in wiring._COLLECTORS.values():
        collector.sync.full_every = 0
    collector_caught_up()


def waiting_task() -> str:
    return next(t["uuid"] for t in recorded_tasks() if t["state"] in ("RECEIVED", "STARTED"))


def gone_task_dialog(recorded_flower, action: str) -> tuple:
    """A waiting task Flower then forgets, opened, and ``action``'s dialog on it."""
    uuid = waiting_task()
    open_page("Tasks")
    forget(recorded_flower, uuid)
    at = open_page("Tasks", query={"task": uuid})
    at.button(key=f"one_{action}").click().run()
    return at, uuid


def test_the_detail_of_a_gone_task_says_what_each_action_can_do(recorded_flower):
    uuid = waiting_task()
    open_page("Tasks")  # starts the collector
    forget(recorded_flower, uuid)
    at = open_page("Tasks", query={"task": uuid})
    assert not at.exception
    said = texts(at).replace("**", "")
    assert "Flower no longer holds this task" in said
    assert "Revoke: Revoke still works: it is broadcast to the workers by id" in said
    assert "Retry: Retry re-sends the task's original call" in said
    assert "Reveal values: Reveal is not possible" in said


def test_revoke_of_a_gone_task_says_so_in_the_dialog_sends_and_audits(recorded_flower, tmp_path):
    at, uuid = gone_task_dialog(recorded_flower, "revoke")
    assert any("Flower no longer holds this task" in i.value for i in at.info)
    assert recorded_flower.posts == [], "opening the dialog sends nothing"
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert recorded_flower.posts == [f"/api/task/revoke/{uuid}"]
    rows = AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()
    assert len(rows) == 1 and rows[0].outcome == "sent"


def test_reveal_of_a_gone_task_is_refused_before_the_click(recorded_flower):
    at, _ = gone_task_dialog(recorded_flower, "reveal")
    assert any("store keeps only masked values" in w.value for w in at.warning)
    assert at.button(key="dialog_confirm").disabled, "nothing eligible: Confirm is disabled"
