"""After an action, the page's rerun shows the new state (issue 12 point 5 and the design's
"the collector's next poll shows it"): the dialog wakes the collector and waits, briefly, for a
poll that started after the send, instead of rerunning on the poll before it."""

from __future__ import annotations

import time

from lib.ui import dialog
from tests.apptest.conftest import console_on, open_page
from tests.recorded import RecordedFlower


class RevokingFlower(RecordedFlower):
    """A recorded Flower whose revoke marks the task REVOKED at once (as Flower does once the
    worker's task-revoked event arrives)."""

    def _post(self, path: str):
        if path.startswith("/api/task/revoke/"):
            uuid = path.rsplit("/", 1)[-1]
            now = time.time()
            self.tasks[uuid] = {**self.tasks[uuid], "state": "REVOKED", "revoked": now}
            self.tasks[uuid]["timestamp"] = now
        return super()._post(path)


def revoke_a_waiting_task(monkeypatch) -> tuple:
    """The Tasks page (30 s polls) after a confirmed revoke of a waiting task, and its id."""
    monkeypatch.setenv("OPS_POLL_SECONDS", "30")
    at = open_page("Tasks")
    table = at.dataframe[0].value
    row = int(table.index[table["state"].isin(["RECEIVED", "STARTED"])][0])
    at.session_state["task_grid"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    at.button(key="bulk_revoke").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    return at, table.loc[row, "uuid"]


def test_the_rerun_after_a_revoke_shows_revoked(monkeypatch, tmp_path):
    # A long poll interval: without the wake and the wait, the rerun would show the poll before.
    with console_on(RevokingFlower(), monkeypatch, tmp_path) as flower:
        at, uuid = revoke_a_waiting_task(monkeypatch)
        assert flower.posts == [f"/api/task/revoke/{uuid}"]
        table = at.dataframe[0].value.set_index("uuid")
        assert table.loc[uuid, "state"] == "REVOKED", "the first rerun shows the new state"
        assert not any("next poll" in t.value for t in at.toast)


def test_when_the_collector_cannot_poll_in_time_the_result_says_when(monkeypatch, tmp_path):
    monkeypatch.setattr(dialog, "AFTER_ACTION_WAIT", 0.0)  # the wait ends before any poll
    with console_on(RevokingFlower(), monkeypatch, tmp_path):
        at, _ = revoke_a_waiting_task(monkeypatch)
        toasts = " ".join(t.value for t in at.toast)
        assert "The collector's next poll \\(every 30 s\\) will show the change" in toasts, toasts
