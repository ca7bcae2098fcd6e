"""Flower payloads → pandas DataFrames with honest dtypes; plus the filters and KPIs on them.

Every function here is pure: payloads (or frames) in, a frame or a dict out, ``now`` passed in.
Times are UTC ``datetime64`` columns; durations are float seconds. Missing data stays missing
(NaN/NaT/NA): a task Flower saw only mid-flight has ``name`` NA, never a made-up name.

Definitions (DEVELOPERS.md): ``duration`` is Flower's ``runtime`` for successes and
``failed − started`` for failures; ``wait`` is ``started − sent`` (else ``started − received``);
error rate = FAILURE ÷ (SUCCESS + FAILURE) over tasks finished in the window; percentiles use
pandas' linear interpolation.

The tasks frame's ``state`` is the *effective* state (``effective_state``): REVOKED when Flower
marks a task revoked, whatever custom state outranks it; Flower's own state is ``flower_state``.
Every table, filter, export and count reads ``state``, so they all agree.

By concern, each module with one job; callers use the names below (``frames.tasks_frame``):

- ``tasks``: task payloads → the tasks frame (Arrow fast path, Python fallback);
- ``state``: the effective-state rule and what counts as running;
- ``odd_values``: ``OddValues``, what a builder met that Flower does not send;
- ``filters``: the Tasks page's filters, deep-link parameters and a task's lineage;
- ``workers``: worker payloads → the workers frame;
- ``queues``: queue depths and the queues frame;
- ``overview``: the Overview's KPIs;
- ``over_time``: the pulse (processed/failed per minute), sampled series' step, workers over time;
- ``attention``: the Overview's "needs attention" strip and its rules;
- ``flags``: orphaned and stuck tasks (``lib.frames.flags``, imported by module: it reads
  ``lib.store.histogram``'s bucket estimates).
"""

from lib.frames.filters import TaskFilter, filter_params, filter_tasks, task_lineage
from lib.frames.odd_values import OddValues
from lib.frames.overview import overview_kpis, range_kpis
from lib.frames.queues import backlog, flower_depths, idle_queues, queues_frame
from lib.frames.state import effective_state, effective_states
from lib.frames.tasks import (
    TASK_COLUMNS,
    TASK_TABLE_COLUMNS,
    TASK_TIME_COLUMNS,
    odd_fields,
    odd_values_of,
    tasks_frame,
)
from lib.frames.workers import WORKER_COLUMNS, workers_frame

__all__ = [
    "TASK_COLUMNS",
    "TASK_TABLE_COLUMNS",
    "TASK_TIME_COLUMNS",
    "WORKER_COLUMNS",
    "OddValues",
    "TaskFilter",
    "backlog",
    "effective_state",
    "effective_states",
    "filter_params",
    "filter_tasks",
    "flower_depths",
    "idle_queues",
    "odd_fields",
    "odd_values_of",
    "overview_kpis",
    "queues_frame",
    "range_kpis",
    "task_lineage",
    "tasks_frame",
    "workers_frame",
]
