"""The Tasks page as the Errors drill-down lands on it: one error group, acted on in bulk."""

from __future__ import annotations

from lib import failures, frames
from tests.apptest.conftest import open_page, texts
from tests.recorded import recorded_tasks, special


def biggest_group() -> tuple[str, set[str]]:
    tasks = frames.tasks_frame(recorded_tasks())
    ids = failures.task_group_ids(tasks, failures.load_rules())
    gid = ids.value_counts().index[0]
    return gid, set(tasks.loc[(ids == gid).fillna(False).astype(bool), "uuid"])


def test_error_group_link_filters_to_exactly_its_tasks(recorded_flower):
    gid, members = biggest_group()
    at = open_page("Tasks", query={"error_group": gid})
    assert not at.exception
    assert set(at.dataframe[0].value["uuid"]) == members
    assert len(members) >= 2, "the recorded failures include a group of several"


def test_a_group_can_be_retried_in_bulk_with_a_dry_run(recorded_flower):
    gid, members = biggest_group()
    at = open_page("Tasks", query={"error_group": gid})
    at.checkbox(key="act_on_all").check().run()
    at.button(key="bulk_retry").click().run()
    said = "".join(m.value for m in at.markdown)
    eligible = int(said.split("**")[1])
    notes = [w.value for w in at.warning if "skipped" in w.value]
    skipped = int(notes[0].split()[0]) if notes else 0
    assert eligible + skipped == len(members)
    if eligible:
        at.button(key="dialog_confirm").click().run()
        sent = [p for p in recorded_flower.posts if "/api/task/send-task/" in p]
        assert len(sent) == eligible


def test_state_link_finds_a_job_terminated_mid_progress_as_revoked(recorded_flower):
    # Flower keeps it PROGRESS (custom states outrank REVOKED) with ``revoked`` set.
    job = special("revoked_in_progress")
    at = open_page("Tasks", query={"state": "REVOKED"})
    assert not at.exception
    shown = at.dataframe[0].value.set_index("uuid")
    assert set(shown.index) == {job, special("revoked_terminated")}
    assert (shown.loc[job, "state"], shown.loc[job, "flower_state"]) == ("REVOKED", "PROGRESS")
    assert list(shown.columns[1:3]) == ["state", "flower_state"], "the CSV is this table"
    assert at.multiselect(key="filter_state").value == ["REVOKED"]


def test_detail_of_a_job_terminated_mid_progress_says_revoked_and_flowers_state(recorded_flower):
    job = special("revoked_in_progress")
    at = open_page("Tasks", query={"task": job})
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["State"] == "REVOKED"
    assert "Flower's state: PROGRESS" in texts(at)
