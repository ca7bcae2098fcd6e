"""Vega-Lite charts (Altair) for the pages, built from the frames of ``trends``, ``failures``
and ``frames.over_time`` (the pulse, sampled queues and workers).

Pure: a frame (and the viewer's timezone) in, a chart out; pages only ``st.altair_chart`` it.
Vega-Lite, not Plotly: Streamlit loads a 0.8 MB chart bundle for it instead of 4.7 MB on
every fresh page load (about a second per cold page).

Invariants: times on an axis are the viewer's wall-clock time — converted to the viewer's
zone, then stamped as UTC and drawn on a UTC time scale (tooltips in UTC time units), so the
browser, whatever its own zone, cannot shift them again — and the axis title names the zone;
labels from the cluster (state, task name, queue, category) are data, drawn as text: Vega-Lite
renders no markup in axes or legends and its tooltips escape HTML, so they are not escaped
here (escaping would show ``&lt;``); exception text is never put in a chart; the charts carry
exactly the frame's numbers, no smoothing or resampling; a missing value breaks a line (a
gap), and every line has a point per value, so a single value is still seen.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd

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
#: Tooltip time in UTC units: the data holds the wall clock stamped as UTC (see the docstring).
TIME_UNIT = "utcyearmonthdatehoursminutesseconds"
#: Time ticks on a 24-hour clock, as the tables show times; days, months keep Vega's defaults.
CLOCK = {"hours": "%H:%M", "minutes": "%H:%M", "seconds": "%H:%M:%S"}
#: A bar's span when a frame has one bucket, so no step to read from (the bar fills the axis).
LONE_BUCKET = pd.Timedelta(minutes=1)
#: A missing value breaks the line (a gap) instead of joining its neighbours.
GAP = "break-paths-show-domains"


def state_trend_chart(state_trend: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Stacked bars: tasks per bucket by state (a ``trends.state_trend_frame``).

    Draws ``tasks`` over ``bucket``, one bar series per ``state``.
    """
    frame = _local(state_trend, tz)
    colors = [STATE_COLORS.get(s, STATE_COLORS["UNKNOWN"]) for s in _order(frame, "state")]
    return _bars(frame, "tasks", "tasks", tz, "state", colors)


def throughput_chart(trend: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
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
    colors = [STATE_COLORS["SUCCESS"], STATE_COLORS["FAILURE"]]
    return _lines(long, "per_s", "tasks / s", tz, "outcome", colors=colors)


def failure_rate_chart(trend: pd.DataFrame, tz: ZoneInfo, by: str | None = None) -> alt.Chart:
    """Line(s): failure rate in percent per bucket; one line per group with ``by``.

    Draws ``failure_rate`` over ``bucket`` of a ``trends.trend_frame`` (one line, or one per
    ``by`` value). Buckets where nothing finished have no rate and leave a gap.
    """
    return _lines(_local(trend, tz), "failure_rate", "failure rate", tz, by, suffix="%")


def breakdown_chart(trend: pd.DataFrame, tz: ZoneInfo, by: str) -> alt.Chart:
    """Stacked bars: tasks per bucket by ``by`` (a ``trends.trend_frame`` with ``by``).

    Draws ``tasks`` over ``bucket``, one bar series per ``by`` value.
    """
    return _bars(_local(trend, tz), "tasks", "tasks", tz, by)


def runtime_trend_chart(runtime_trend: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Lines: runtime p95 per bucket and name (a ``trends.runtime_trend_frame``).

    Draws ``p95`` over ``bucket``, one line per ``name``; a NaN leaves a gap.
    """
    return _lines(_local(runtime_trend, tz), "p95", "runtime p95", tz, "name", suffix=" s")


def queue_wait_chart(queue_wait: pd.DataFrame) -> alt.Chart:
    """Grouped bars: wait p50 / p95 / p99 per queue (a ``trends.queue_wait_frame``).

    Draws ``p50``, ``p95`` and ``p99`` over ``queue``, one bar series per percentile.
    """
    long = queue_wait.melt(
        id_vars="queue", value_vars=["p50", "p95", "p99"], var_name="percentile", value_name="wait"
    )
    long["queue"] = long["queue"].astype(str)
    order = list(dict.fromkeys(long["queue"]))
    return (
        alt.Chart(long, height=HEIGHT)
        .mark_bar()
        .encode(
            x=alt.X("queue:N", title="queue", sort=order, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("percentile:N", sort=["p50", "p95", "p99"]),
            y=alt.Y("wait:Q", title="wait", axis=_suffixed(" s")),
            color=_color("percentile", ["p50", "p95", "p99"]),
            tooltip=["queue:N", "percentile:N", alt.Tooltip("wait:Q", title="wait (s)")],
        )
    )


def category_chart(categories: pd.DataFrame) -> alt.LayerChart:
    """Horizontal bars: failures per category, labelled with count and share.

    Draws ``failures`` per ``category`` of a ``failures.category_frame``, in its order; the
    label is ``failures`` and ``share``.
    """
    frame = categories.copy()
    frame["category"] = frame["category"].astype(str)
    counts, shares = frame["failures"], frame["share"]
    frame["label"] = [f"{n:,} ({s:.1f}%)" for n, s in zip(counts, shares, strict=True)]
    base = alt.Chart(frame, height=max(100, 50 * len(frame))).encode(
        y=alt.Y("category:N", title=None, sort=list(frame["category"])),
        x=alt.X("failures:Q", title="failures"),
        tooltip=["category:N", "failures:Q", alt.Tooltip("share:Q", title="share (%)")],
    )
    bars = base.mark_bar(color=STATE_COLORS["FAILURE"])
    return alt.layer(bars, base.mark_text(align="left", dx=4).encode(text="label:N"))


def category_trend_chart(category_trend: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Lines: failures per bucket and category (a ``failures.category_trend_frame``).

    Draws ``failures`` over ``bucket``, one line per ``category``.
    """
    return _lines(_local(category_trend, tz), "failures", "failures", tz, "category")


def pulse_chart(pulse: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Lines: tasks processed and failed per minute (a ``frames.over_time.pulse_frame``).

    Draws ``processed`` as the line "processed" and ``failed`` as "failed" over ``at``.
    """
    long = _local(pulse, tz, "at").melt(
        id_vars="at", value_vars=["processed", "failed"], var_name="outcome", value_name="tasks"
    )
    colors = [STATE_COLORS["STARTED"], STATE_COLORS["FAILURE"]]
    return _lines(long, "tasks", "tasks / min", tz, "outcome", x="at", colors=colors)


def queue_depth_chart(depths: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Lines: waiting messages per queue and step (a ``Store.queue_depths`` frame).

    Draws ``messages`` over ``at``, one line per ``queue``; a step the broker did not answer
    in leaves a gap.
    """
    return _per_subject(depths, tz, "messages", "queue", "waiting messages")


def workers_online_chart(over_time: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Line: workers online per step (a ``frames.over_time.workers_over_time_frame``).

    Draws ``online`` over ``at``, as steps (a count holds until the next sample).
    """
    frame = _local(over_time, tz, "at")
    return _lines(frame, "online", "workers online", tz, x="at", interpolate="step-after")


def pool_utilization_chart(over_time: pd.DataFrame, tz: ZoneInfo) -> alt.Chart:
    """Line: pool utilization in percent per step (busy slots ÷ slots; a
    ``frames.over_time.workers_over_time_frame``). Draws ``utilization`` over ``at``; a step
    without sampled slots leaves a gap."""
    frame = _local(over_time, tz, "at")
    return _lines(frame, "utilization", "pool utilization", tz, x="at", suffix="%")


def worker_figure_chart(figures: pd.DataFrame, tz: ZoneInfo, figure: str) -> alt.Chart:
    """Lines: one worker figure per worker and step (a ``Store.worker_figures`` frame).

    Draws ``figure`` (a key of ``WORKER_FIGURES``, whose title the y axis takes) over ``at``,
    one line per ``worker``.
    """
    return _per_subject(figures, tz, figure, "worker", WORKER_FIGURES[figure])


def _per_subject(frame: pd.DataFrame, tz: ZoneInfo, y: str, by: str, title: str) -> alt.Chart:
    local = _local(frame[["at", by, y]], tz, "at")
    local[by] = local[by].astype(str)
    local[y] = local[y].astype("float64")  # NA → NaN: a gap, not an error
    local = local.sort_values(by, kind="stable")  # the legend's order, sorted
    return _lines(local, y, title, tz, by, x="at")


def _lines(
    frame: pd.DataFrame,
    y: str,
    title: str,
    tz: ZoneInfo,
    by: str | None = None,
    *,
    x: str = "bucket",
    colors: list[str] | None = None,
    suffix: str = "",
    interpolate: str = "linear",
) -> alt.Chart:
    """One line per ``by`` value (in the frame's order), a point per value, gaps at NaN."""
    if by:
        frame = frame.assign(**{by: frame[by].astype(str)})
    mark = alt.MarkDef(type="line", point=True, interpolate=interpolate, invalid=GAP)
    encoding = _time_encoding(frame, x, y, title, tz, by, colors, suffix)
    return alt.Chart(frame, height=HEIGHT, mark=mark).encode(**encoding)


def _bars(
    frame: pd.DataFrame,
    y: str,
    title: str,
    tz: ZoneInfo,
    by: str,
    colors: list[str] | None = None,
) -> alt.Chart:
    """Bars stacked by ``by`` (in the frame's order), each spanning its bucket."""
    frame = frame.assign(**{by: frame[by].astype(str), "end": _bucket_ends(frame["bucket"])})
    encoding = _time_encoding(frame, "bucket", y, title, tz, by, colors, "")
    encoding["order"] = alt.Order("series_order:Q")  # stack in the legend's order
    order = {name: i for i, name in enumerate(_order(frame, by))}
    frame["series_order"] = frame[by].map(order)
    # A bar ranged on x (start to end) reads as horizontal unless told: it stacks upwards.
    bars = alt.Chart(frame, height=HEIGHT).mark_bar(orient="vertical")
    return bars.encode(x2="end:T", **encoding)


def _time_encoding(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    tz: ZoneInfo,
    by: str | None,
    colors: list[str] | None,
    suffix: str,
) -> dict[str, object]:
    """x: the time on a UTC scale (see the docstring); y: the column; colour: the series."""
    tips = [alt.Tooltip(f"{x}:T", title=f"time ({tz})", timeUnit=TIME_UNIT)]
    encoding = {
        "x": alt.X(
            f"{x}:T", title=f"time ({tz})", scale=alt.Scale(type="utc"), axis=alt.Axis(format=CLOCK)
        ),
        "y": alt.Y(f"{y}:Q", title=title, axis=_suffixed(suffix)),
    }
    if by:
        encoding["color"] = _color(by, _order(frame, by), colors)
        tips.append(alt.Tooltip(f"{by}:N", title=by))
    encoding["tooltip"] = [*tips, alt.Tooltip(f"{y}:Q", title=title)]
    return encoding


def _color(field: str, order: list[str], colors: list[str] | None = None) -> alt.Color:
    scale = alt.Scale(domain=order, range=colors) if colors else alt.Scale(domain=order)
    return alt.Color(f"{field}:N", scale=scale, sort=order, legend=alt.Legend(title=None))


def _suffixed(suffix: str) -> alt.Axis:
    """Tick labels with a unit after the number (``%``, `` s``); the title stays the figure."""
    return alt.Axis(labelExpr=f"datum.label + '{suffix}'") if suffix else alt.Undefined


def _order(frame: pd.DataFrame, by: str) -> list[str]:
    return [str(v) for v in dict.fromkeys(frame[by])]


def _local(frame: pd.DataFrame, tz: ZoneInfo, column: str = "bucket") -> pd.DataFrame:
    """``column`` as the viewer's wall clock stamped UTC: drawn on a UTC scale, never shifted.

    Not naive: Streamlit moves a naive time by the browser's own UTC offset before Vega-Lite
    sees it (to show it on a local scale), which would shift it on a UTC scale."""
    out = frame.copy()
    wall = out[column].dt.tz_convert(tz).dt.tz_localize(None)
    out[column] = wall.dt.tz_localize("UTC")
    return out


def _bucket_ends(buckets: pd.Series) -> pd.Series:
    """Each bucket's end: the next bucket start, the frame's step apart (one step throughout)."""
    starts = buckets.drop_duplicates().sort_values()
    step = starts.diff().min() if len(starts) > 1 else LONE_BUCKET
    return buckets + step


# -- training curves (issue 13 point 5) -------------------------------------------------------
# Appended here, not in the list at the top: other work edits that list in parallel.
__all__ += ["training_curve_chart"]

#: What the training curves' x axes say (``lib.workflows.CURVE_AXES``; time names the zone).
CURVE_X_TITLES = {"progress": "training progress (%)"}


def training_curve_chart(curves: pd.DataFrame, metric: str, x: str, tz: ZoneInfo) -> alt.Chart:
    """Lines: one training figure (``loss`` or ``accuracy``) per job, a ``training_curves_frame``.

    Draws ``metric`` over ``x`` (``progress``, percent, or ``at``, the sample time in ``tz``),
    one line per ``job``, a marker per progress report.
    """
    frame = _local(curves[["job", "at", "progress", metric]], tz, "at")
    if x == "at":
        return _lines(frame, metric, metric, tz, "job", x="at")
    order = _order(frame, "job")
    mark = alt.MarkDef(type="line", point=True, invalid=GAP)
    return alt.Chart(frame.assign(job=frame["job"].astype(str)), height=HEIGHT, mark=mark).encode(
        x=alt.X(f"{x}:Q", title=CURVE_X_TITLES[x]),
        y=alt.Y(f"{metric}:Q", title=metric),
        color=_color("job", order),
        tooltip=["job:N", alt.Tooltip(f"{x}:Q", title=CURVE_X_TITLES[x]), f"{metric}:Q"],
    )
