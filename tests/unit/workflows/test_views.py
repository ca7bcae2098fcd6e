"""Every view together, through the package's surface (``from lib import workflows as wf``).

Each view's own behaviour is tested beside it (test_training, test_pipelines, test_teams,
test_chains); here, what holds for all of them and what the page imports.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib import workflows as wf
from tests.unit.workflows.factories import (
    ETL,
    NOW,
    TEAMS,
    TRAINING,
    chain,
    frame,
    task,
)

EMPTY = {
    "no tasks at all": [],
    "tasks, all out of range": [
        *chain("old", at=-90_000),
        task("t", "demo.train_model", at=-90_000),
    ],
}


@pytest.mark.parametrize("payloads", list(EMPTY.values()), ids=list(EMPTY))
def test_every_view_is_empty_not_broken_when_nothing_is_in_range(payloads):
    tasks, start = frame(*payloads), NOW - timedelta(minutes=15)
    jobs = wf.training_jobs_frame(tasks, TRAINING, {}, NOW)
    assert wf.training_kpis(jobs, start, NOW)["completed"] == 0
    stages = wf.pipeline_stages_frame(tasks, ETL, start, NOW)
    assert stages.empty and list(stages.columns)[:3] == ["pipeline", "stage", "stage_order"]
    assert wf.pipelines_frame(stages, ETL).empty and wf.stage_summary_frame(stages).empty
    members = wf.team_tasks_frame(tasks, TEAMS)
    teams = wf.teams_frame(members, wf.team_workers_frame(None, TEAMS), TEAMS, start, NOW)
    assert teams["processed"].sum() == 0
    assert wf.workflows_frame(tasks, NOW, start, NOW).empty


def test_the_package_surface_is_what_the_page_uses():
    from lib.workflows import (
        backend,
        chains,
        curves,
        lifecycle,
        literals,
        pipelines,
        teams,
        training,
    )

    modules = (backend, chains, curves, lifecycle, literals, pipelines, teams, training)
    for name in wf.__all__:
        assert any(getattr(m, name, None) is getattr(wf, name) for m in modules), name
