"""Workflow views of the console's Workflows page: training jobs, pipelines, teams, chains.

One module per concern; this package re-exports the names the page uses (``from lib import
workflows as wf``; ``wf.training_jobs_frame(...)``), so callers need not know the layout:

* ``config``    the views of ``workflows.toml`` (``OPS_WORKFLOWS_FILE``, else the built-in
                ``lib/workflows.toml``): model, loader with line-numbered problems, matching.
* ``literals``  values read out of a task's fields: repr literals, progress meta, ids.
* ``lifecycle`` effective state (``lib.frames``' one definition), running and finished,
                error rates and roll-ups.
* ``training``, ``pipelines``, ``teams``, ``chains``  one view each; ``curves`` the
                training jobs' loss and accuracy over their progress samples.
* ``backend``   the bounded, cached result-backend reads (``MetaCache``) and the names
                views identified (``KnownNames``): the package's only state and I/O.

Invariant: every module but ``backend`` is pure: a tasks frame (``frames.tasks_frame``) and
a view in, a frame out, ``now`` passed in; the backend's records are handed in as a dict.
The definitions each view relies on are in its module's docstring.
"""

from __future__ import annotations

from lib.workflows.backend import KnownNames, MetaCache, MetaReading
from lib.workflows.chains import (
    group_candidates,
    group_ids_from,
    unfinished_ids,
    workflow_summary,
    workflow_tree_frame,
    workflows_frame,
)
from lib.workflows.curves import (
    CURVE_AXES,
    CURVE_METRICS,
    curve_labels,
    default_curves,
    training_curves_frame,
)
from lib.workflows.lifecycle import effective_states, rollup_by, rollup_state
from lib.workflows.literals import MAX_META_READS
from lib.workflows.pipelines import (
    health,
    pipeline_kpis,
    pipeline_stages_frame,
    pipelines_frame,
    stage_summary_frame,
)
from lib.workflows.teams import team_tasks_frame, team_workers_frame, teams_frame
from lib.workflows.training import (
    NOT_OBSERVED,
    eta_seconds,
    training_candidates,
    training_cards,
    training_jobs_frame,
    training_kpis,
    training_names,
)

__all__ = [
    "CURVE_AXES",
    "CURVE_METRICS",
    "MAX_META_READS",
    "NOT_OBSERVED",
    "KnownNames",
    "MetaCache",
    "MetaReading",
    "curve_labels",
    "default_curves",
    "effective_states",
    "eta_seconds",
    "group_candidates",
    "group_ids_from",
    "health",
    "pipeline_kpis",
    "pipeline_stages_frame",
    "pipelines_frame",
    "rollup_by",
    "rollup_state",
    "stage_summary_frame",
    "team_tasks_frame",
    "team_workers_frame",
    "teams_frame",
    "training_candidates",
    "training_cards",
    "training_curves_frame",
    "training_jobs_frame",
    "training_kpis",
    "training_names",
    "unfinished_ids",
    "workflow_summary",
    "workflow_tree_frame",
    "workflows_frame",
]
