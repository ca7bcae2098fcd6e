"""The Tasks page as the Errors drill-down lands on it: one error group, acted on in bulk."""

from __future__ import annotations

import pandas as pd

from lib import failures, frames
from lib.monitor import ClusterMonitor
from lib.store import text_search
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


def served(flower) -> pd.DataFrame:
    """The tasks the recorded Flower serves (its special cases included), as a frame."""
    return frames.tasks_frame([{**task, "uuid": uuid} for uuid, task in flower.tasks.items()])


def test_a_search_shows_what_the_pandas_filter_finds_newest_first(recorded_flower):
    at = open_page("Tasks")
    at.text_input(key="filter_text").input("  ERROR ").run()
    assert not at.exception
    every = served(recorded_flower)
    found = frames.filter_tasks(every, text="error")
    assert 0 < len(found) < len(every)
    assert set(at.dataframe[0].value["uuid"]) == set(found["uuid"])
    assert f"{len(found):,} matching tasks." in texts(at)


def test_more_matching_tasks_than_the_page_holds_are_counted_and_all_acted_on(
    recorded_flower, monkeypatch
):
    read = ClusterMonitor.task_page
    monkeypatch.setattr(  # a page of 3 rows stands in for the page's 10,000
        ClusterMonitor, "task_page", lambda self, wanted, limit, *a: read(self, wanted, 3, *a)
    )
    at = open_page("Tasks", query={"state": "SUCCESS"})
    assert not at.exception
    successes = frames.filter_tasks(served(recorded_flower), states=["SUCCESS"])
    assert len(at.dataframe[0].value) == 3 < len(successes)
    assert f"Showing the newest 3 of {len(successes):,} matching tasks" in texts(at)
    at.checkbox(key="act_on_all").check().run()
    assert f"{len(successes):,} task(s) selected for actions." in texts(at)


def test_a_search_matching_more_than_the_page_says_more_than_and_acts_on_all(
    recorded_flower, monkeypatch
):
    read = ClusterMonitor.task_page
    monkeypatch.setattr(  # a page of 3 rows stands in for the page's 10,000
        ClusterMonitor, "task_page", lambda self, wanted, limit, *a: read(self, wanted, 3, *a)
    )
    monkeypatch.setattr(text_search, "LOOKUP_MAX", 0)  # as a needle in many tasks of a big store
    monkeypatch.setattr(text_search, "WALK_MAX", 0)
    at = open_page("Tasks")
    at.text_input(key="filter_text").input("error").run()
    assert not at.exception
    found = frames.filter_tasks(served(recorded_flower), text="error")
    assert len(at.dataframe[0].value) == 3 < len(found) - 1
    assert "Showing the newest 3 of more than 3 matching tasks" in texts(at)
    at.checkbox(key="act_on_all").check().run()
    assert at.checkbox(key="act_on_all").label == "Act on all more than 3 matching tasks"
    assert f"{len(found):,} task(s) selected for actions." in texts(at)


def test_a_short_search_on_a_big_store_says_it_read_the_newest_tasks_only(
    recorded_flower, monkeypatch
):
    monkeypatch.setattr(text_search, "SHORT_WINDOW", 3)  # as a store of more than 100,000
    every = served(recorded_flower).sort_values("timestamp", ascending=False)
    newest = set(every.head(3)["uuid"])
    at = open_page("Tasks")
    at.text_input(key="filter_text").input("e").run()
    assert not at.exception
    assert "A search of 1 or 2 characters reads only the newest 3 tasks (since 20" in texts(at)
    assert "type 3 or more characters to search every stored task." in texts(at)
    expected = newest & set(frames.filter_tasks(every, text="e")["uuid"])
    assert set(at.dataframe[0].value["uuid"]) == expected and expected
    at.text_input(key="filter_text").input("err").run()  # long enough for the index: all read
    assert "A search of 1 or 2" not in texts(at)
    found = frames.filter_tasks(every, text="err")
    assert len(at.dataframe[0].value) == len(found) > 3


def test_a_preset_range_keeps_the_rows_read_across_reruns(recorded_flower, monkeypatch):
    reads = []
    read = ClusterMonitor.task_page
    monkeypatch.setattr(
        ClusterMonitor, "task_page", lambda self, *a: reads.append(a[0]) or read(self, *a)
    )
    at = open_page("Tasks")
    at.selectbox(key="filter_range").select("Last 7 days").run()
    assert not at.exception and len(reads) == 2
    at.checkbox(key="act_on_all").check().run()  # a rerun a moment later: the range's start moved
    assert len(reads) == 2, "the page kept what it read for this range"
    assert reads[-1].received_from is not None
