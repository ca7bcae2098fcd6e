"""Training curves: the store's progress samples → one point per report → the chart's data.

The samples go through a real store (SQLite, then PostgreSQL) as the collector writes them;
the jobs frame is the training view's own (``training_jobs_frame``) over factory payloads.
The chart is checked against the frame it draws: one line per job (named as the frame names
it, verbatim), x the progress or the sample time in the viewer's timezone, y the figure.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lib import charts, frames
from lib import workflows as wf
from lib.collector.stored import progress_records
from lib.store import Store
from lib.workflows.config import load_workflows
from tests.factories import task_payload
from tests.vega import drawn

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: a half-hour offset shows a wrong conversion
T0 = float(int(time.time()) - 600)  # whole seconds: times compare exactly
TRAINING = load_workflows().views[0]
ODD = "<b>net</b>"  # a model name: must reach the chart verbatim, never as markup


def job(uuid: str, state: str, model: str, at: float) -> dict:
    kwargs = repr({"model_name": model})
    return task_payload(uuid, state, at=at, name="demo.train_model", kwargs=kwargs)


PAYLOADS = [
    job("a" * 36, "STARTED", "resnet50", T0 + 10),
    job("b" * 36, "SUCCESS", ODD, T0),
    job("c" * 36, "STARTED", "bert-base", T0 + 20),  # never sampled
]
#: Poll by poll: (offset s, uuid, progress, loss, accuracy); job a's first report seen twice.
POLLS = [
    (0, "b" * 36, 20.0, 2.1, 0.3),
    (1, "a" * 36, 25.0, 1.9, 0.4),
    (1, "b" * 36, 40.0, 1.5, 0.5),
    (2, "a" * 36, 25.0, 1.9, 0.4),
    (2, "b" * 36, 60.0, 1.2, None),
    (3, "a" * 36, 50.0, 1.4, 0.6),
]


@pytest.fixture
def store(any_store_url):
    opened = Store(any_store_url)
    for offset, uuid, progress, loss, accuracy in POLLS:
        figures = {"progress": progress, "loss": loss, "accuracy": accuracy}
        opened.record_progress([{"uuid": uuid, "name": "demo.train_model", **figures}], T0 + offset)
    yield opened
    opened.close()


@pytest.fixture
def jobs() -> pd.DataFrame:
    tasks = frames.tasks_frame(PAYLOADS)
    return wf.training_jobs_frame(tasks, TRAINING, {}, datetime.now(UTC))


def test_the_store_reads_the_picked_jobs_samples_and_each_jobs_latest(store):
    picked = store.progress_of(["a" * 36, "z"], T0, T0 + 60)
    assert picked["uuid"].tolist() == ["a" * 36] * 3
    assert picked["progress"].tolist() == [25.0, 25.0, 50.0]
    assert store.progress_of([], T0, T0 + 60).empty
    assert store.progress_of(["a" * 36], T0 + 2, T0 + 3)["progress"].tolist() == [25.0]
    latest = store.latest_progress(T0).set_index("uuid")
    assert latest.loc["a" * 36, "progress"] == 50.0
    assert latest.loc["b" * 36, "progress"] == 60.0 and pd.isna(latest.loc["b" * 36, "accuracy"])
    assert store.latest_progress(T0 + 3)["uuid"].tolist() == ["a" * 36]


def test_one_point_per_report_in_the_jobs_order(store, jobs):
    samples = store.progress_of(jobs["uuid"], T0, T0 + 60)
    curves = wf.training_curves_frame(samples, jobs)
    assert curves.columns.tolist() == ["job", "uuid", "at", "progress", "loss", "accuracy"]
    # jobs newest first: a (started T0+10) before b; c was never sampled, so has no points
    assert curves["job"].tolist() == ["resnet50 · aaaaaaaa"] * 2 + [f"{ODD} · bbbbbbbb"] * 3
    a = curves[curves["uuid"] == "a" * 36]
    assert a["progress"].tolist() == [25.0, 50.0], "a report seen by two polls is one point"
    seen = [pd.Timestamp(T0 + s, unit="s", tz="UTC") for s in (1, 3)]
    assert a["at"].tolist() == seen, "at the first poll that saw it"
    assert wf.default_curves(jobs) == ["c" * 36, "a" * 36, "b" * 36], "running first"
    assert wf.default_curves(jobs, limit=1) == ["c" * 36]


@pytest.mark.parametrize("x", ["progress", "at"])
@pytest.mark.parametrize("metric", wf.CURVE_METRICS)
def test_the_chart_draws_exactly_its_frame(store, jobs, metric, x):
    curves = wf.training_curves_frame(store.progress_of(jobs["uuid"], T0, T0 + 60), jobs)
    check_training_curves(curves, metric, x)


def check_training_curves(curves: pd.DataFrame, metric: str, x: str) -> None:
    chart = drawn(charts.training_curve_chart(curves, metric, x, KOLKATA))
    series = chart.series()
    assert list(series) == list(curves["job"].unique())
    assert len(chart.rows) == len(curves), "extra rows"
    for (name, lines), (_, rows) in zip(
        series.items(), curves.groupby("job", sort=False), strict=True
    ):
        want_x = (
            rows["at"].dt.tz_convert(KOLKATA).dt.tz_localize(None).tolist()
            if x == "at"
            else rows["progress"].tolist()
        )
        got_x = chart.times(lines) if x == "at" else lines[chart.field("x")].tolist()
        assert got_x == want_x, name
        got_y = lines[chart.field("y")].astype("float64").reset_index(drop=True)
        assert got_y.equals(rows[metric].reset_index(drop=True)), name
    assert chart.spec["mark"]["point"] is True, "a marker per progress report"
    assert chart.title("x") == ("time (Asia/Kolkata)" if x == "at" else "training progress (%)")
    assert chart.title("y") == metric


def test_external_mode_records_from_the_samples_make_the_same_jobs(store):
    keys = {"progress": ("progress",), "loss": ("loss",), "accuracy": ("accuracy",)}
    records = progress_records(store, T0 + 10, keys)
    assert records["a" * 36]["result"] == {"progress": 50.0, "loss": 1.4, "accuracy": 0.6}
    assert records["b" * 36]["result"] == {"progress": 60.0, "loss": 1.2}, "no NaN figures"
    running = [job("a" * 36, "STARTED", "resnet50", T0), job("b" * 36, "FAILURE", "x", T0)]
    rows = wf.training_jobs_frame(
        frames.tasks_frame(running), TRAINING, records, datetime.now(UTC)
    ).set_index("uuid")
    assert rows.loc["a" * 36, ["progress", "loss", "accuracy"]].tolist() == [50.0, 1.4, 0.6]
    assert rows.loc["b" * 36, "source"] == "backend", "a failed job keeps its last figures"
    assert rows.loc["b" * 36, "loss"] == 1.2
