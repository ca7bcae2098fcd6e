"""The team view: each task's and worker's team, and the per-team counts and rates."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.workflows.teams import team_tasks_frame, team_workers_frame, teams_frame
from tests.unit.workflows.factories import HOUR_AGO, NOW, T0, TEAMS, frame, task, view


def test_team_of_a_task_tag_first_then_members_then_unassigned():
    tasks = frame(
        task("a", worker="w1@team-search", routing_key="ml"),
        task("b", routing_key="team_billing"),
        task("c", routing_key="ml"),
        task("d", routing_key="nobody"),
    )
    assert team_tasks_frame(tasks, TEAMS)[["uuid", "team"]].values.tolist() == [
        ["a", "search"],
        ["b", "billing"],
        ["c", "ml"],
        ["d", "(no team)"],
    ]
    dropping = view('[views.t]\nkind = "team"\nunassigned = ""\n')
    assert team_tasks_frame(tasks, dropping)["uuid"].tolist() == ["a", "b"]


def test_a_team_members_queued_and_revoked_tasks_are_the_team_s_too():
    # Before a worker takes it, a task has no worker tag: its name's team says whose it is.
    search = {"worker": "w1@team-search", "routing_key": "jobs"}
    unplaced = {"worker": None, "routing_key": "jobs"}  # on no worker yet, queue of no team
    tasks = frame(
        task("ok", "search.index", **search),
        task("bad", "search.index", "FAILURE", at=5, **search),
        task("queued", "search.index", "PENDING", at=10, **unplaced),
        task("dropped", "search.index", "REVOKED", at=20, revoked=T0 + 21, **unplaced),
        task("both", "shared.job", worker="w1@team-a"),
        task("both2", "shared.job", worker="w2@team-b"),
        task("both3", "shared.job", "PENDING", **unplaced),  # two teams run it: no guess
    )
    teams = team_tasks_frame(tasks, TEAMS).set_index("uuid")["team"]
    assert teams[["ok", "bad", "queued", "dropped"]].tolist() == ["search"] * 4
    assert teams["both3"] == "(no team)"
    dropping = view('[views.t]\nkind = "team"\nworkers = ["*@team-*"]\nunassigned = ""\n'
                    'team = ["worker:team-([a-z]+)"]\n')  # fmt: skip
    kept = team_tasks_frame(tasks, dropping)
    assert set(kept["uuid"]) == {"ok", "bad", "queued", "dropped", "both", "both2"}


def workers(*rows) -> pd.DataFrame:
    columns = ["worker", "online", "active", "processed", "queues"]
    return pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows])


def test_workers_belong_to_every_team_they_serve():
    table = team_workers_frame(
        workers(
            ("w1@h", True, 1, 10, "default, etl"),
            ("w9@team-search", False, 0, 3, "other"),
            ("w3@h", True, 0, 0, None),  # not inspected yet: queues unknown
        ),
        TEAMS,
    )
    assert table[["team", "worker"]].values.tolist() == [
        ["data", "w1@h"],
        ["platform", "w1@h"],
        ["search", "w9@team-search"],
        ["(no team)", "w3@h"],
    ]
    assert team_workers_frame(None, TEAMS).empty


def test_teams_frame_counts_in_range_error_rate_and_p95():
    payloads = [task(f"ok{i}", routing_key="etl", at=i, runtime=float(i + 1)) for i in range(4)]
    payloads += [
        task("bad", "demo.load", "FAILURE", at=5, routing_key="etl"),
        task("run", "demo.load", "STARTED", at=6, routing_key="etl"),
        task("old", "demo.load", "FAILURE", at=-7200, routing_key="etl"),
    ]
    members = team_tasks_frame(frame(*payloads), TEAMS)
    staff = team_workers_frame(
        workers(("w1@h", True, 1, 10, "etl"), ("w2@h", False, 0, 1, "etl")), TEAMS
    )
    members = pd.concat([team_tasks_frame(frame(task("z", routing_key="nobody")), TEAMS), members])
    teams = teams_frame(members, staff, TEAMS, HOUR_AGO, NOW)
    assert teams["team"].tolist() == ["data", "(no team)"], "the unassigned row comes last"
    row = teams.set_index("team").loc["data"]
    assert row[["workers_online", "workers", "active", "processed", "failed"]].tolist() == [
        1,
        2,
        1,
        5,
        1,
    ]
    assert row["error_rate"] == 20.0
    # durations: 1, 2, 3, 4 and the failure's failed − started = 1.0 → sorted 1,1,2,3,4 → p95 = 3.8
    assert row["p95_runtime"] == pytest.approx(3.8)
