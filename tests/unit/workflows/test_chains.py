"""Chains, groups and chords as trees, the list of multi-task workflows, and group ids.

Tasks come from the payload factories and from the recorded real payloads; every expected
tree is worked out by hand in the test.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.workflows.chains import (
    group_candidates,
    group_ids_from,
    unfinished_ids,
    workflow_summary,
    workflow_tree_frame,
    workflows_frame,
)
from tests.recorded import special
from tests.unit.workflows.factories import NOW, chain, frame, task


def test_chain_tree_in_order_with_depths_and_rolled_up_state():
    tasks = frame(*chain("pl", ("SUCCESS", "FAILURE")))
    tree = workflow_tree_frame(tasks, "pl-extract", NOW)
    assert tree[["depth", "name", "role", "state"]].values.tolist() == [
        [0, "demo.extract", "root", "SUCCESS"],
        [1, "demo.transform", "step", "FAILURE"],
    ]
    assert tree["node"].tolist() == ["demo.extract", "    └ demo.transform"]
    assert workflow_summary(tree) == {
        "state": "FAILURE",
        "tasks": 2,
        "missing": 0,
        "unfinished": [],
    }


def test_the_same_tree_from_any_member():
    tasks = frame(*chain("pl"))
    trees = [
        workflow_tree_frame(tasks, u, NOW)["uuid"].tolist()
        for u in ("pl-extract", "pl-transform", "pl-load")
    ]
    assert trees[0] == trees[1] == trees[2] == ["pl-extract", "pl-transform", "pl-load"]


def test_a_retried_task_is_its_own_parent_and_child_yet_one_node():
    tasks = frame(task("r", "demo.retry_once", "FAILURE", parent_id="r", children=["r"], retries=1))
    tree = workflow_tree_frame(tasks, "r", NOW)
    assert tree[["depth", "uuid", "role"]].values.tolist() == [[0, "r", "root"]]
    assert "own parent" in tree["note"].iloc[0]
    assert workflows_frame(tasks, NOW, min_size=1)["missing"].tolist() == [0]


def test_a_missing_parent_becomes_a_placeholder_node():
    tasks = frame(
        task("b", parent_id="a", root_id="a"), task("c", at=1, parent_id="b", root_id="a")
    )
    tree = workflow_tree_frame(tasks, "c", NOW)
    assert tree[["depth", "uuid", "role", "state"]].values.tolist() == [
        [0, "a", "missing", "MISSING"],
        [1, "b", "step", "SUCCESS"],
        [2, "c", "step", "SUCCESS"],
    ]
    assert "missing from Flower" in tree["note"].iloc[0]
    assert workflow_summary(tree)["missing"] == 1
    assert workflows_frame(tasks, NOW).loc[0, ["tasks", "missing"]].tolist() == [2, 1]


def test_a_missing_middle_step_is_placed_under_the_root():
    # a → b → c with b evicted: Flower's children lists only held tasks, so only c still
    # names b (as parent), and a (as root).
    tasks = frame(task("a"), task("c", at=2, parent_id="b", root_id="a"))
    tree = workflow_tree_frame(tasks, "c", NOW)
    assert tree[["depth", "uuid", "state"]].values.tolist() == [
        [0, "a", "SUCCESS"],
        [1, "b", "MISSING"],
        [2, "c", "SUCCESS"],
    ]
    assert "placed under the root" in tree["note"].iloc[1]


def test_a_missing_child_is_listed_under_its_parent():
    tasks = frame(task("a", children=["gone"]))
    tree = workflow_tree_frame(tasks, "a", NOW)
    assert tree[["depth", "uuid", "state"]].values.tolist() == [
        [0, "a", "SUCCESS"],
        [1, "gone", "MISSING"],
    ]


def test_a_two_task_cycle_is_cut_at_its_earliest_task():
    tasks = frame(
        task("x", at=1, parent_id="y", root_id="x"), task("y", at=2, parent_id="x", root_id="x")
    )
    tree = workflow_tree_frame(tasks, "y", NOW)
    assert tree[["depth", "uuid"]].values.tolist() == [[0, "x"], [1, "y"]]
    assert "cycle" in tree["note"].iloc[0]


def chord_tasks(callback_state="SUCCESS"):
    """As Flower records a chord sent by a client: every header is its own root; the callback's
    parent is the header that completed the chord (here h0)."""
    headers = [task(f"h{i}", "demo.generate_report", at=i * 0.01) for i in range(3)]
    headers[0]["children"] = ["cb"]
    callback = task(
        "cb", "demo.summarize_reports", callback_state, at=1, root_id="h0", parent_id="h0"
    )
    return frame(*headers, callback, task("alone", at=2))


def test_a_chord_from_flower_alone_shows_the_callback_under_one_header():
    tree = workflow_tree_frame(chord_tasks(), "cb", NOW)
    assert tree[["depth", "uuid"]].values.tolist() == [[0, "h0"], [1, "cb"]]


def test_a_chord_with_backend_group_ids_has_a_group_node_over_headers_and_callback():
    groups = {"h0": "g1", "h1": "g1", "h2": "g1", "cb": "g1"}
    tree = workflow_tree_frame(chord_tasks("STARTED"), "h2", NOW, groups)
    assert tree[["depth", "uuid", "role", "state"]].fillna("-").values.tolist() == [
        [0, "-", "group", "RUNNING"],
        [1, "h0", "group member", "SUCCESS"],
        [1, "h1", "group member", "SUCCESS"],
        [1, "h2", "group member", "SUCCESS"],
        [1, "cb", "chord callback", "STARTED"],
    ]
    assert unfinished_ids(tree) == ["cb"]


def test_group_candidates_are_the_workflow_then_nearby_top_level_tasks():
    tasks = chord_tasks()
    candidates = group_candidates(tasks, "cb")
    assert set(candidates[:2]) == {"h0", "cb"}
    assert set(candidates) == {"h0", "cb", "h1", "h2", "alone"}
    # within 0.5 s of the workflow's sends (T0 … T0+1): h1 and h2, nearest first; not "alone"
    assert group_candidates(tasks, "cb", window=0.5)[2:] == ["h1", "h2"]
    assert group_candidates(tasks, "cb", limit=3) == [*candidates[:2], "h1"]
    assert group_ids_from({"h0": {"group_id": "g"}, "x": {"status": "SUCCESS"}}) == {"h0": "g"}


def test_group_candidates_from_an_unlinked_header_include_the_callback():
    # Flower links the callback only to h0, the header that finished the chord last; from
    # h2 it is found as the child of a nearby top-level sibling, right after that sibling.
    candidates = group_candidates(chord_tasks(), "h2")
    assert candidates[0] == "h2"
    assert candidates.index("cb") == candidates.index("h0") + 1
    assert set(candidates) == {"h0", "h1", "h2", "cb", "alone"}


def test_the_same_chord_tree_from_any_header_with_the_backend_group_ids():
    tasks = chord_tasks()
    metas = {u: {"group_id": "g1"} for u in ("h0", "h1", "h2", "cb")}
    trees = [
        workflow_tree_frame(tasks, u, NOW, group_ids_from(
            {c: metas[c] for c in group_candidates(tasks, u) if c in metas}
        ))
        for u in ("h0", "h1", "h2", "cb")
    ]  # fmt: skip
    for tree in trees:
        assert tree[["depth", "uuid", "role"]].fillna("-").values.tolist() == [
            [0, "-", "group"],
            [1, "h0", "group member"],
            [1, "h1", "group member"],
            [1, "h2", "group member"],
            [1, "cb", "chord callback"],
        ]


def test_unknown_task_gives_an_empty_tree():
    assert workflow_tree_frame(chord_tasks(), "nope", NOW).empty


def test_workflows_frame_lists_multi_task_workflows_with_failing_step():
    tasks = frame(*chain("ok"), *chain("bad", ("SUCCESS", "FAILURE"), at=10), task("single", at=20))
    table = workflows_frame(tasks, NOW).set_index("root_id")
    assert table.index.tolist() == ["bad-extract", "ok-extract"]  # newest first; singles left out
    assert table.loc["bad-extract", ["name", "tasks", "state", "failing_step", "failing_task"]].tolist() == [
        "demo.extract", 2, "FAILURE", "demo.transform", "bad-transform"
    ]  # fmt: skip
    # sent at T0+10; the transform failed at T0+10+2+1.5
    assert table.loc["bad-extract", "duration"] == pytest.approx(3.5)
    assert workflows_frame(tasks, NOW, min_size=1).shape[0] == 3


def test_a_running_workflow_has_no_finish_and_lasts_until_now():
    tasks = frame(*chain("live", ("SUCCESS", "STARTED"), at=40))
    row = workflows_frame(tasks, NOW).iloc[0]
    assert row["state"] == "RUNNING" and pd.isna(row["finished"])
    assert row["duration"] == pytest.approx(60.0)


links = st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdefxy")), max_size=12)


@settings(max_examples=60, deadline=None)
@given(links)
def test_any_links_give_a_finite_tree_with_each_node_once(edges):
    parents = dict(edges)
    tasks = frame(
        *[task(u, at=i, parent_id=parents.get(u), root_id="a") for i, u in enumerate("abcdef")]
    )
    tree = workflow_tree_frame(tasks, "a", NOW)
    assert tree["uuid"].is_unique
    assert set("abcdef") <= set(tree["uuid"])
    depth = dict(zip(tree["uuid"], tree["depth"], strict=True))
    assert all(d == 0 or depth_above(tree, i) == d - 1 for i, d in enumerate(tree["depth"]))
    assert max(depth.values()) < len(tree)


def depth_above(tree: pd.DataFrame, i: int) -> int:
    """Depth of the nearest row above ``i`` that is shallower: its parent in preorder."""
    d = tree["depth"].iloc[i]
    return next(tree["depth"].iloc[j] for j in range(i - 1, -1, -1) if tree["depth"].iloc[j] < d)


def test_recorded_trees(recorded_frame):
    retried = workflow_tree_frame(recorded_frame, special("retried_self_parent"), NOW)
    assert len(retried) == 1
    chord = workflow_tree_frame(recorded_frame, special("chord_callback"), NOW)
    assert chord["name"].tolist() == ["demo.generate_report", "demo.summarize_reports"]
