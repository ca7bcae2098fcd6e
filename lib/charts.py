"""Plotly figures for the pages, built from the frames of ``trends``, ``failures`` and
``frames.over_time`` (the pulse, sampled queues and workers).

Pure: a frame (and the viewer's timezone) in, a figure out; pages only ``st.plotly_chart`` it.

Invariants: times on an axis are the viewer's wall-clock time (converted, then made naive, so
Plotly cannot shift them again) and the axis title names the timezone; every label that comes
from the cluster (state, task name, queue, category) is HTML-escaped, because Plotly renders
a few HTML tags in legends and hover text; exception text is never put in a figure; the
figures carry exactly the frame's numbers, no smoothing or resampling.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

__all__ = [
    "STATE_COLORS",
    "breakdown_chart",
    "category_chart",
    "category_trend_chart",
    "failure_rate_chart",
    "pool_utilization_chart",
    "pulse_chart",
    "queue_depth_chart",
    "queue_wait_chart",
    "runtime_trend_chart",
    "state_trend_chart",
    "throughput_chart",
    "worker_figure_chart",
    "workers_online_chart",
]

#: One colour per state on every chart: green done, red failed, grey gone, blue under way.
STATE_COLORS = {
    "SUCCESS": "#2ca02c",
    "FAILURE": "#d62728",
    "REVOKED": "#7f7f7f",
    "REJECTED": "#8c564b",
    "RETRY": "#ff7f0e",
    "STARTED": "#1f77b4",
    "RECEIVED": "#9467bd",
    "PENDING": "#bcbd22",
    "UNKNOWN": "#c7c7c7",
}
HEIGHT = 320
#: The worker figures drawn per worker (a ``Store.worker_figures`` column) → the y axis title.
#: Celery's rusage describes the worker's MAIN process, never its prefork children: say so.
WORKER_FIGURES = {
    "active": "active tasks",
    "load": "host load (1-minute average)",
    "main_peak_rss_mib": "main process peak RSS (MiB)",
}
#: The throughput chart's lines: the rate column drawn → the line's name.
THROUGHPUT_LINES = {"succeeded_per_s": "succeeded", "failed_per_s": "failed"}


def state_trend_chart(state_trend: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Stacked bars: tasks per bucket by state (a ``trends.state_trend_frame``).

    Draws ``tasks`` over ``bucket``, one bar series per ``state``.
    """
    frame = _local(_escaped(state_trend, "state"), tz)
    fig = px.bar(
        frame,
        x="bucket",
        y="tasks",
        color="state",
        color_discrete_map=STATE_COLORS,
        category_orders={"state": list(dict.fromkeys(frame["state"]))},
    )
    return _layout(fig, tz, "tasks")


def throughput_chart(trend: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Lines: tasks per second succeeded and failed per bucket (a ``trends.trend_frame``).

    Draws ``succeeded_per_s`` as the line "succeeded" and ``failed_per_s`` as "failed"; the
    frame's count columns (``succeeded``, ``failed``) are not drawn.
    """
    # Melt the rate columns under the line names: renaming them onto the names would collide
    # with the frame's count columns of the same names (issue 10).
    long = _local(trend, tz).melt(
        id_vars="bucket", value_vars=list(THROUGHPUT_LINES), var_name="outcome", value_name="per_s"
    )
    long["outcome"] = long["outcome"].map(THROUGHPUT_LINES)
    fig = px.line(
        long,
        x="bucket",
        y="per_s",
        color="outcome",
        color_discrete_map={
            "succeeded": STATE_COLORS["SUCCESS"],
            "failed": STATE_COLORS["FAILURE"],
        },
    )
    return _layout(fig, tz, "tasks / s")


def failure_rate_chart(trend: pd.DataFrame, tz: ZoneInfo, by: str | None = None) -> go.Figure:
    """Line(s): failure rate in percent per bucket; one line per group with ``by``.

    Draws ``failure_rate`` over ``bucket`` of a ``trends.trend_frame`` (one line, or one per
    ``by`` value). Buckets where nothing finished have no rate and leave a gap.
    """
    frame = _local(_escaped(trend, by) if by else trend, tz)
    fig = px.line(frame, x="bucket", y="failure_rate", color=by, markers=True)
    fig.update_yaxes(rangemode="tozero", ticksuffix="%")
    return _layout(fig, tz, "failure rate")


def breakdown_chart(trend: pd.DataFrame, tz: ZoneInfo, by: str) -> go.Figure:
    """Stacked bars: tasks per bucket by ``by`` (a ``trends.trend_frame`` with ``by``).

    Draws ``tasks`` over ``bucket``, one bar series per ``by`` value.
    """
    frame = _local(_escaped(trend, by), tz)
    fig = px.bar(
        frame,
        x="bucket",
        y="tasks",
        color=by,
        category_orders={by: list(dict.fromkeys(frame[by]))},
    )
    return _layout(fig, tz, "tasks")


def runtime_trend_chart(runtime_trend: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Lines: runtime p95 per bucket and name (a ``trends.runtime_trend_frame``).

    Draws ``p95`` over ``bucket``, one line per ``name``; a NaN leaves a gap.
    """
    frame = _local(_escaped(runtime_trend, "name"), tz)
    fig = px.line(frame, x="bucket", y="p95", color="name", markers=True)
    fig.update_yaxes(rangemode="tozero", ticksuffix=" s")
    return _layout(fig, tz, "runtime p95")


def queue_wait_chart(queue_wait: pd.DataFrame) -> go.Figure:
    """Grouped bars: wait p50 / p95 / p99 per queue (a ``trends.queue_wait_frame``).

    Draws ``p50``, ``p95`` and ``p99`` over ``queue``, one bar series per percentile.
    """
    long = _escaped(queue_wait, "queue").melt(
        id_vars="queue", value_vars=["p50", "p95", "p99"], var_name="percentile", value_name="wait"
    )
    fig = px.bar(long, x="queue", y="wait", color="percentile", barmode="group")
    fig.update_yaxes(title="wait", ticksuffix=" s")
    fig.update_layout(height=HEIGHT, margin={"t": 30, "b": 10}, legend_title_text="")
    return fig


def category_chart(categories: pd.DataFrame) -> go.Figure:
    """Horizontal bars: failures per category, labelled with count and share.

    Draws ``failures`` per ``category`` of a ``failures.category_frame``, in its order; the
    label is ``failures`` and ``share``.
    """
    frame = _escaped(categories, "category")
    counts, shares = frame["failures"], frame["share"]
    frame["label"] = [f"{n:,} ({s:.1f}%)" for n, s in zip(counts, shares, strict=True)]
    fig = px.bar(frame, x="failures", y="category", orientation="h", text="label")
    fig.update_yaxes(autorange="reversed", title="")
    fig.update_traces(textposition="outside", cliponaxis=False)
    fig.update_layout(height=max(160, 50 * len(frame) + 60), margin={"t": 30, "b": 10, "r": 80})
    return fig


def category_trend_chart(category_trend: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Lines: failures per bucket and category (a ``failures.category_trend_frame``).

    Draws ``failures`` over ``bucket``, one line per ``category``.
    """
    frame = _local(_escaped(category_trend, "category"), tz)
    fig = px.line(frame, x="bucket", y="failures", color="category", markers=True)
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tz, "failures")


def pulse_chart(pulse: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Lines: tasks processed and failed per minute (a ``frames.over_time.pulse_frame``).

    Draws ``processed`` as the line "processed" and ``failed`` as "failed" over ``at``.
    """
    long = _local(pulse, tz, "at").melt(
        id_vars="at", value_vars=["processed", "failed"], var_name="outcome", value_name="tasks"
    )
    colors = {"processed": STATE_COLORS["STARTED"], "failed": STATE_COLORS["FAILURE"]}
    fig = px.line(long, x="at", y="tasks", color="outcome", color_discrete_map=colors)
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tz, "tasks / min")


def queue_depth_chart(depths: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Lines: waiting messages per queue and step (a ``Store.queue_depths`` frame).

    Draws ``messages`` over ``at``, one line per ``queue``; a step the broker did not answer
    in leaves a gap.
    """
    return _per_subject(depths, tz, "messages", "queue", "waiting messages")


def workers_online_chart(over_time: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Line: workers online per step (a ``frames.over_time.workers_over_time_frame``).

    Draws ``online`` over ``at``.
    """
    fig = px.line(_local(over_time, tz, "at"), x="at", y="online", line_shape="hv")
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tz, "workers online")


def pool_utilization_chart(over_time: pd.DataFrame, tz: ZoneInfo) -> go.Figure:
    """Line: pool utilization in percent per step (busy slots ÷ slots; a
    ``frames.over_time.workers_over_time_frame``). Draws ``utilization`` over ``at``; a step
    without sampled slots leaves a gap."""
    fig = px.line(_local(over_time, tz, "at"), x="at", y="utilization")
    fig.update_yaxes(rangemode="tozero", ticksuffix="%")
    return _layout(fig, tz, "pool utilization")


def worker_figure_chart(figures: pd.DataFrame, tz: ZoneInfo, figure: str) -> go.Figure:
    """Lines: one worker figure per worker and step (a ``Store.worker_figures`` frame).

    Draws ``figure`` (a key of ``WORKER_FIGURES``, whose title the y axis takes) over ``at``,
    one line per ``worker``.
    """
    return _per_subject(figures, tz, figure, "worker", WORKER_FIGURES[figure])


def _per_subject(frame: pd.DataFrame, tz: ZoneInfo, y: str, by: str, title: str) -> go.Figure:
    local = _local(_escaped(frame, by), tz, "at")
    local[y] = local[y].astype("float64")  # NA → NaN: a gap, not an error
    fig = px.line(local, x="at", y=y, color=by, category_orders={by: sorted(set(local[by]))})
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tz, title)


def _local(frame: pd.DataFrame, tz: ZoneInfo, column: str = "bucket") -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].dt.tz_convert(tz).dt.tz_localize(None)
    return out


def _escaped(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(str).map(lambda s: html.escape(s, quote=False))
    return out


def _layout(fig: go.Figure, tz: ZoneInfo, y_title: str) -> go.Figure:
    fig.update_xaxes(title=f"time ({tz})")
    fig.update_yaxes(title=y_title)
    fig.update_layout(height=HEIGHT, margin={"t": 30, "b": 10}, legend_title_text="")
    return fig


# -- training curves (issue 13 point 5) -------------------------------------------------------
# Appended here, not in the list at the top: other work edits that list in parallel.
__all__ += ["training_curve_chart"]

#: What the training curves' x axes say (``lib.workflows.CURVE_AXES``; time names the zone).
CURVE_X_TITLES = {"progress": "training progress (%)"}


def training_curve_chart(curves: pd.DataFrame, metric: str, x: str, tz: ZoneInfo) -> go.Figure:
    """Lines: one training figure (``loss`` or ``accuracy``) per job, a ``training_curves_frame``.

    Draws ``metric`` over ``x`` (``progress``, percent, or ``at``, the sample time in ``tz``),
    one line per ``job``, a marker per progress report.
    """
    frame = _escaped(curves, "job")
    frame["at"] = frame["at"].dt.tz_convert(tz).dt.tz_localize(None)
    fig = px.line(frame, x=x, y=metric, color="job", markers=True)
    fig.update_xaxes(title=CURVE_X_TITLES.get(x, f"time ({tz})"))
    fig.update_yaxes(title=metric)
    fig.update_layout(height=HEIGHT, margin={"t": 30, "b": 10}, legend_title_text="")
    return fig
