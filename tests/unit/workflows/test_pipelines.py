"""The pipeline view: stages in order, absent stages, pipeline ids, health and stage summaries.

Tasks come from the payload factories and from the recorded real payloads; every expected
number is worked out by hand in the test.
"""

from __future__ import annotations

import pytest

from lib.workflows.pipelines import (
    health,
    pipeline_kpis,
    pipeline_stages_frame,
    pipelines_frame,
    stage_summary_frame,
)
from tests.recorded import special
from tests.unit.workflows.factories import ETL, HOUR_AGO, NOW, chain, frame, task, view


def test_a_chain_shows_its_three_stages_in_order_with_records_and_errors():
    stages = pipeline_stages_frame(frame(*chain("pl-1")), ETL)
    assert stages[["stage", "state"]].values.tolist() == [
        ["extract", "SUCCESS"],
        ["transform", "SUCCESS"],
        ["load", "SUCCESS"],
    ]
    assert stages["records"].tolist() == [1000, 990, 980]
    assert stages["errors"].tolist() == [0, 1, 2]
    assert set(stages["pipeline"]) == {"pl-1"}


ABSENT = [
    ("after a failure: not run", ("SUCCESS", "FAILURE"), ["SUCCESS", "FAILURE", "NOT RUN"]),
    ("while running: waiting", ("SUCCESS", "STARTED"), ["SUCCESS", "STARTED", "WAITING"]),
    (
        "all finished yet absent: missing",
        ("SUCCESS", "SUCCESS", None),
        ["SUCCESS", "SUCCESS", "MISSING"],
    ),
]


@pytest.mark.parametrize(("states", "shown"), [a[1:] for a in ABSENT], ids=[a[0] for a in ABSENT])
def test_a_stage_without_a_task_says_why(states, shown):
    payloads = [
        p
        for p in chain("pl-2", tuple(s or "SUCCESS" for s in states))
        if not (states[-1] is None and p["name"] == "demo.load")
    ]
    stages = pipeline_stages_frame(frame(*payloads), ETL)
    assert stages["state"].tolist() == shown
    assert stages["stage"].tolist() == ["extract", "transform", "load"]


def test_pipeline_id_follows_the_chain_to_steps_without_the_kwarg():
    stages = pipeline_stages_frame(frame(*chain("pl-3", kwarg=False)), ETL)
    assert stages["pipeline"].tolist() == ["pl-3"] * 3


def test_unknown_task_names_are_found_by_the_pipeline_kwarg_and_named_by_their_last_part():
    tasks = frame(
        task("a", "acme.etl.ingest", kwargs="{'pipeline_id': 'nightly'}"),
        task("b", "acme.etl.publish", at=3, root_id="a", parent_id="a"),
        task("c", "acme.unrelated", at=5),
    )
    stages = pipeline_stages_frame(tasks, ETL)
    assert stages[["pipeline", "stage", "uuid"]].dropna().values.tolist() == [
        ["nightly", "ingest", "a"],
        ["nightly", "publish", "b"],
    ]


def test_pipelines_out_of_range_are_left_out_but_running_ones_stay():
    tasks = frame(
        *chain("old", at=-7200), *chain("live", ("SUCCESS", "STARTED"), at=-7200), *chain("new")
    )
    stages = pipeline_stages_frame(tasks, ETL, HOUR_AGO, NOW)
    assert sorted(set(stages["pipeline"])) == ["live", "new"]


def test_a_stage_name_found_by_its_result_id_counts_in_every_state():
    # The id is only in the result, which only a success has: the failed and the queued run
    # of the same task are the pipeline's too (each its own run, named by its root id).
    tasks = frame(
        task("ok", "acme.ingest", result="{'pipeline_id': 'p1', 'records': 7}"),
        task("bad", "acme.ingest", "FAILURE", at=10),
        task("wait", "acme.ingest", "PENDING", at=20),
        task("x", "acme.unrelated", "FAILURE", at=30),
    )
    stages = pipeline_stages_frame(tasks, ETL)
    mine = stages.dropna(subset=["uuid"]).set_index("uuid")
    assert sorted(mine.index) == ["bad", "ok", "wait"]
    assert mine[["pipeline", "stage", "state"]].loc[["ok", "bad", "wait"]].values.tolist() == [
        ["p1", "ingest", "SUCCESS"], ["bad", "ingest", "FAILURE"], ["wait", "ingest", "PENDING"]
    ]  # fmt: skip
    assert pipelines_frame(stages, ETL).set_index("pipeline").loc["bad", "health"] == "unhealthy"


HEALTH = [
    ("all good", 100.0, "healthy"),
    ("at the healthy line", 95.0, "healthy"),
    ("just under it", 94.99, "degraded"),
    ("at the degraded line", 80.0, "degraded"),
    ("just under that", 79.99, "unhealthy"),
    ("none finished", None, "unknown"),
]


@pytest.mark.parametrize(("rate", "level"), [h[1:] for h in HEALTH], ids=[h[0] for h in HEALTH])
def test_health_thresholds(rate, level):
    assert health(rate, ETL) == level


def test_health_thresholds_are_configurable():
    strict = view('[views.p]\nkind = "pipeline"\nhealthy = 99.5\ndegraded = 99\n')
    assert [health(r, strict) for r in (99.5, 99.2, 98.9)] == [
        "healthy",
        "degraded",
        "unhealthy",
    ]


def test_pipelines_frame_rates_health_and_failing_stage():
    # "daily" ran 20 times as one id: 19 clean runs and one failing in transform.
    runs = [p for i in range(19) for p in chain("daily", at=10 * i)]
    runs = [{**p, "uuid": f"{p['uuid']}-{i}"} for i, p in enumerate(runs)]
    failed = chain("daily", ("SUCCESS", "FAILURE"), at=300)
    tasks = frame(
        *runs, *[{**p, "uuid": p["uuid"] + "-x"} for p in failed], *chain("broken", ("FAILURE",))
    )
    pipelines = pipelines_frame(pipeline_stages_frame(tasks, ETL), ETL).set_index("pipeline")
    # daily: 59 successes, 1 failure → 59/60 = 98.3 %; broken: 0/1.
    assert pipelines.loc["daily", ["success_rate", "health", "failed", "state"]].tolist() == [
        98.3,
        "healthy",
        1,
        "FAILURE",
    ]
    assert pipelines.loc["daily", "failing_stage"] == "transform"
    assert pipelines.loc["broken", ["success_rate", "health", "failing_stage"]].tolist() == [
        0.0,
        "unhealthy",
        "extract",
    ]
    assert pipeline_kpis(pipelines) == {
        "pipelines": 2,
        "healthy": 1,
        "degraded": 0,
        "unhealthy": 1,
    }


def test_stage_summary_counts_rates_and_linear_p95():
    payloads = [
        *chain("a"),
        *chain("b", ("SUCCESS", "FAILURE")),
        *chain("c", ("SUCCESS", "SUCCESS")),
        *chain("d"),
    ]
    for runtime, p in zip(
        (1.0, 2.0, 3.0, 4.0), [p for p in payloads if p["name"] == "demo.extract"], strict=True
    ):
        p["runtime"] = runtime
    tasks = frame(*[p for p in payloads if p["uuid"] != "c-load"])
    summary = stage_summary_frame(pipeline_stages_frame(tasks, ETL)).set_index("stage")
    assert summary.index.tolist() == ["extract", "transform", "load"]
    assert summary.loc["extract", ["tasks", "succeeded", "failed"]].tolist() == [4, 4, 0]
    assert summary.loc["extract", "p95_runtime"] == pytest.approx(3.85)  # 3 + 0.85 × (4 − 3)
    assert summary.loc["transform", "error_rate"] == 25.0  # 1 of 4
    assert summary.loc["load", ["tasks", "not_run"]].tolist() == [2, 2]  # b never ran it, c lost it
    assert summary.loc["extract", "records"] == 4000


def test_recorded_etl_chains(recorded_frame):
    stages = pipeline_stages_frame(recorded_frame, ETL)
    ok = stages[stages["pipeline"] == "pl-fixture01"]
    assert ok["uuid"].tolist() == [
        special("etl_extract"),
        special("etl_transform"),
        special("etl_load"),
    ]
    failed = stages[stages["pipeline"] == "pl-fixture02"]
    assert failed[["stage", "state"]].values.tolist() == [
        ["extract", "SUCCESS"],
        ["transform", "FAILURE"],
        ["load", "NOT RUN"],
    ]
