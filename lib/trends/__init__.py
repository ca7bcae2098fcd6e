"""Trends over a time range: tasks per bucket, throughput, failure rate, latency, queue wait, workers.

Every function is pure: a tasks frame (``frames.tasks_frame``) or a window of it in, a frame
out, the range ``[start, end)`` passed in as UTC datetimes. Nothing reads the clock.

Which time places a task (``placed_at``): a task in a final state is placed at its finish,
``succeeded`` / ``failed`` / ``revoked`` / ``rejected`` for SUCCESS / FAILURE / REVOKED /
REJECTED (``timestamp``, Flower's time of the task's last event, when that column is
missing); any other task — pending, received, started, retried, custom or unknown states —
is placed at ``received``, else ``timestamp``, else ``sent``. A task with none of these times
cannot be placed and is in no range. So "failures in the last hour" means tasks that failed in
the last hour, whenever they were sent.

Invariants:

- A window holds exactly the tasks placed in ``[start, end)``; bucket counts of a window sum
  to its length, and every bucket of the range is present (empty ones count 0).
- Buckets are ``bucket_size(start, end)`` wide, their edges whole multiples of the size since
  the Unix epoch (UTC). The first and last bucket may be cut by the range: rates divide by the
  ``seconds`` of the bucket inside the range, never by the full bucket width.
- Error rate = FAILURE ÷ (SUCCESS + FAILURE), a percent, NaN where nothing finished.
- Runtime is the frame's ``duration`` (Flower's ``runtime`` for successes, ``failed − started``
  for failures), over SUCCESS and FAILURE tasks; wait is the frame's ``wait`` (``started −
  sent``, else ``started − received``; negative when the hosts' clocks disagree, kept as is).
- Percentiles use linear interpolation between the two nearest ranks (pandas' default,
  numpy's ``"linear"`` method), over the values that are not NaN.
- A missing name or queue is the label ``(unknown)``; a missing state is ``UNKNOWN``.

By concern, each module with one job; callers use the names below (``trends.trend_frame``):

- ``buckets``: the bucket × label grid (sizes, epoch-aligned starts, counting into cells);
- ``window``: which time places a task, the tasks of a range, and their totals;
- ``throughput``: tasks per bucket and state; successes, failures and failure rate per bucket;
- ``latency``: runtime and queue-wait percentiles per name and queue, runtime p95 over time;
- ``usage``: per worker, work done and how busy it was;
- ``history`` (imported as ``lib.trends.history``): a range's analytics from the store — raw
  rows where every task is held, per-minute rollups (rows with a ``weight``) before;
- ``estimates``: runtime and wait statistics from log-scale histograms, within a stated bound.

A window row counts as its ``weight`` when the window has that column (a rollup row stands for
many tasks), else as one task.
"""

from lib.trends.buckets import (
    ALL,
    BUCKET_SIZES,
    OTHER,
    UNKNOWN,
    UTC_TIME,
    bucket_counts,
    bucket_label,
    bucket_size,
    bucket_starts,
)
from lib.trends.latency import (
    queue_wait_frame,
    runtime_percentiles_frame,
    runtime_trend_frame,
    top_names_frame,
)
from lib.trends.throughput import state_trend_frame, trend_frame
from lib.trends.usage import worker_usage_frame
from lib.trends.window import (
    WINDOW_COLUMNS,
    held_since,
    placed_at,
    window_frame,
    window_summary,
)

__all__ = [
    "ALL",
    "BUCKET_SIZES",
    "OTHER",
    "UNKNOWN",
    "UTC_TIME",
    "WINDOW_COLUMNS",
    "bucket_counts",
    "bucket_label",
    "bucket_size",
    "bucket_starts",
    "held_since",
    "placed_at",
    "queue_wait_frame",
    "runtime_percentiles_frame",
    "runtime_trend_frame",
    "state_trend_frame",
    "top_names_frame",
    "trend_frame",
    "window_frame",
    "window_summary",
    "worker_usage_frame",
]
