"""The team view: each task's and worker's team, and one row per team.

Pure: a tasks frame (``frames.tasks_frame``), a workers frame and the view in, frames out;
no I/O.

Definitions and invariants:

* A task's team is its tag (the view's id sources: ``team-<x>`` in the worker's name,
  ``team_<x>`` in the routing key by default), else the first members table whose rules
  take it, else the team of its name (when every task of the name with a team has the same
  one: a task has no worker tag before a worker takes it), else ``unassigned`` (left out
  when that is empty).
* A worker belongs to every team it serves: a tag in its name or any of its queues, and
  every members table whose worker and queue rules it meets.
* Processed and failed count tasks finished in [start, end]; error rate as in
  ``lib.workflows.lifecycle``; active counts running tasks now; p95 uses pandas' linear
  interpolation. Teams by name, ``unassigned`` last.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from lib.workflows.config import View
from lib.workflows.lifecycle import effective_states, error_rates, finished_at, is_running
from lib.workflows.literals import extract_ids, regex_id

__all__ = ["team_tasks_frame", "team_workers_frame", "teams_frame"]


def team_tasks_frame(frame: pd.DataFrame, view: View) -> pd.DataFrame:
    """The view's tasks with a ``team`` column first: tag source, else members rules, else
    the team of the task's name (when all its tasks with a team share one), else
    ``unassigned`` (dropped when that is empty). Other columns as in the tasks frame."""
    selected = view.mask(frame)
    # A task has no worker until one takes it (queued, or revoked before): worker rules miss
    # it, so a name the view takes counts in that state too.
    named = frame["name"].isin(frame.loc[selected, "name"].dropna()) & frame["worker"].isna()
    tasks = frame[selected | named.fillna(False).astype(bool)]
    team = extract_ids(tasks, view.ids)
    for name, rules in view.members:
        team = team.mask(team.isna() & rules.mask(tasks), name)
    team = team.fillna(tasks["name"].map(_team_of_names(tasks["name"], team)).astype("string"))
    out = tasks.assign(team=team.fillna(view.unassigned or pd.NA))
    out = out.dropna(subset=["team"])
    return out[["team", *frame.columns]].reset_index(drop=True)


def _team_of_names(names: pd.Series, team: pd.Series) -> pd.Series:
    """Each task name's team, when every task of it with a team has the same one (a worker
    tag is unknown before a worker takes the task); names of several teams get none."""
    known = pd.DataFrame({"name": names, "team": team}).dropna()
    teams = known.drop_duplicates().groupby("name")["team"]
    return teams.first()[teams.size() == 1]


def team_workers_frame(workers: pd.DataFrame | None, view: View) -> pd.DataFrame:
    """One row per (team, worker); none while the workers are unknown (``workers`` None).

    Columns: team, worker, online, active, processed, queues.
    """
    fields = ["worker", "online", "active", "processed", "queues"]
    rows = []
    for worker in workers[fields].itertuples(index=False) if workers is not None else ():
        queues = worker.queues.split(", ") if isinstance(worker.queues, str) else []
        for team in _worker_teams(str(worker.worker), queues, view) or [view.unassigned]:
            rows += [{"team": team, **worker._asdict()}] if team else []
    return pd.DataFrame(rows, columns=["team", *fields])


def _worker_teams(name: str, queues: list[str], view: View) -> list[str]:
    """The teams of a worker: tags in its name or its queues' (id sources), then the
    members tables whose worker and queue rules it meets."""
    teams: list[str] = []
    for source in view.ids:
        values = [name] if source.kind == "worker" else queues if source.kind == "queue" else []
        tags = (regex_id(source.regex, v) for v in values if source.regex)
        teams += [tag for tag in tags if tag]
    for team, rules in view.members:
        if not (rules.workers or rules.queues):
            continue
        named = not rules.workers or any(p.matches(name) for p in rules.workers)
        serves = not rules.queues or any(p.matches(q) for p in rules.queues for q in queues)
        teams += [team] if named and serves else []
    return list(dict.fromkeys(teams))


def teams_frame(
    team_tasks: pd.DataFrame,
    team_workers: pd.DataFrame,
    view: View,
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """One row per team, by name, ``unassigned`` last. Columns: team, workers_online,
    workers, active (running tasks), processed and failed (finished in [start, end]),
    error_rate (%), p95_runtime (s)."""
    states = effective_states(team_tasks)
    finished = finished_at(team_tasks).between(pd.Timestamp(start), pd.Timestamp(end))
    done = team_tasks[finished.fillna(False) & states.isin(["SUCCESS", "FAILURE"])]
    rates = error_rates(done, "team")
    out = pd.DataFrame(
        {
            "workers_online": team_workers.groupby("team")["online"].sum(),
            "workers": team_workers.groupby("team").size(),
            "active": is_running(team_tasks, states).groupby(team_tasks["team"]).sum(),
            "processed": rates["succeeded"] + rates["failed"],
            "failed": rates["failed"],
            "error_rate": rates["error_rate"].round(1),
            "p95_runtime": done.groupby("team")["duration"].quantile(0.95),
        }
    )
    counts = ["workers_online", "workers", "active", "processed", "failed"]
    out[counts] = out[counts].fillna(0).astype(int)
    out = out.rename_axis("team").reset_index()
    last = out.sort_values(
        "team", key=lambda t: t.eq(view.unassigned).astype("int64"), kind="stable"
    )
    return last.reset_index(drop=True)
