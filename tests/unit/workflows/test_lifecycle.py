"""A task's life in the workflow views: effective state, running, finished, error rates, roll-ups."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.workflows.lifecycle import (
    effective_states,
    error_rates,
    finished_at,
    is_running,
    rollup_by,
    rollup_state,
    row_state,
)
from tests.recorded import special
from tests.unit.workflows.factories import T0, frame, task

ROLLUPS = [
    ("any failure wins", ["SUCCESS", "STARTED", "FAILURE"], "FAILURE"),
    ("running", ["SUCCESS", "PROGRESS"], "RUNNING"),
    ("waiting only", ["SUCCESS", "PENDING", "RECEIVED"], "PENDING"),
    ("revoked", ["SUCCESS", "REVOKED"], "REVOKED"),
    ("rejected", ["REJECTED", "SUCCESS"], "REVOKED"),
    ("all done", ["SUCCESS", "SUCCESS"], "SUCCESS"),
    ("missing nodes ignored", ["SUCCESS", "MISSING", "GROUP"], "SUCCESS"),
    ("nothing known", ["MISSING"], "UNKNOWN"),
]


@pytest.mark.parametrize(("states", "state"), [r[1:] for r in ROLLUPS], ids=[r[0] for r in ROLLUPS])
def test_rollup_state(states, state):
    assert rollup_state(states) == state


def test_workflows_and_the_tasks_frame_share_one_effective_state(recorded_frame):
    # One definition: the Tasks table, its counts and every workflow view say the same state.
    job = special("revoked_in_progress")
    states = effective_states(recorded_frame)
    assert states.tolist() == recorded_frame["state"].fillna("UNKNOWN").tolist()
    assert states[recorded_frame["uuid"] == job].tolist() == ["REVOKED"]


def test_running_is_started_and_not_finished_by_the_effective_state():
    tasks = frame(
        task("ok"),
        task("queued", state="PENDING"),
        task("busy", state="PROGRESS"),
        task("killed", state="PROGRESS", revoked=T0 + 1),
    )
    running = is_running(tasks, effective_states(tasks))
    assert tasks.loc[running, "uuid"].tolist() == ["busy"]
    assert finished_at(tasks).notna().tolist() == [True, False, False, True]
    assert row_state(tasks.iloc[3].to_dict()) == "REVOKED"
    assert row_state({}) == "UNKNOWN"


def test_error_rates_count_successes_and_failures_only():
    states = pd.DataFrame(
        {
            "key": ["a", "a", "a", "a", "b"],
            "state": ["SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "REVOKED"],
        }
    )
    rates = error_rates(states, "key")
    assert rates.loc["a"].tolist() == [3, 1, 25.0]
    assert rates.loc["b", ["succeeded", "failed"]].tolist() == [0, 0]
    assert pd.isna(rates.loc["b", "error_rate"]), "nothing finished: no rate, not 0%"


def test_rollup_by_rolls_up_each_group():
    states = pd.Series(["SUCCESS", "FAILURE", "SUCCESS", "PENDING", "MISSING"])
    keys = pd.Series(["x", "x", "y", "y", "z"])
    assert rollup_by(states, keys).to_dict() == {"x": "FAILURE", "y": "PENDING", "z": "UNKNOWN"}
