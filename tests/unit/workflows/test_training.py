"""The training view: jobs found by rules or detection, their numbers, ETA and KPIs.

Tasks come from the payload factories and from the recorded real payloads; every expected
number is worked out by hand in the test.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest

from lib.workflows.backend import KnownNames
from lib.workflows.training import (
    eta_seconds,
    training_candidates,
    training_jobs_frame,
    training_kpis,
    training_names,
)
from tests.recorded import recorded, special
from tests.unit.workflows.factories import (
    HOUR_AGO,
    NOW,
    T0,
    TRAINING,
    frame,
    progress_meta,
    progress_record,
    task,
    view,
)

ETAS = [
    ("a quarter done", 60.0, 25.0, 180.0),
    ("half done", 42.0, 50.0, 42.0),
    ("nearly done", 99.0, 99.0, 1.0),
    ("no progress yet", 10.0, 0.0, math.nan),
    ("done", 10.0, 100.0, math.nan),
    ("unknown progress", 10.0, math.nan, math.nan),
]


@pytest.mark.parametrize(
    ("elapsed", "progress", "eta"), [e[1:] for e in ETAS], ids=[e[0] for e in ETAS]
)
def test_eta_is_elapsed_times_remaining_over_done(elapsed, progress, eta):
    got = eta_seconds(pd.Series([elapsed]), pd.Series([progress])).iloc[0]
    assert (math.isnan(got) and math.isnan(eta)) or got == pytest.approx(eta)


def running_job(uuid="run", at=40.0, **kw):
    """Started at T0+40.5: 59.5 s before NOW."""
    return task(
        uuid, "demo.train_model", "PROGRESS", at=at, args="('resnet50',)", routing_key="ml", **kw
    )


def test_running_job_takes_progress_from_the_backend_meta_and_gets_an_eta():
    jobs = training_jobs_frame(frame(running_job()), TRAINING, {"run": progress_meta(25.0)}, NOW)
    row = jobs.iloc[0]
    assert (row["model"], row["state"], row["gpu"], row["source"]) == (
        "resnet50",
        "PROGRESS",
        "gpu1",
        "backend",
    )
    assert (row["progress"], row["loss"], row["accuracy"]) == (25.0, 0.5, 0.8)
    assert row["elapsed"] == pytest.approx(59.5)
    assert row["eta"] == pytest.approx(59.5 * 75 / 25)
    assert math.isnan(row["runtime"])


def test_finished_job_takes_its_numbers_from_the_final_result():
    done = task(
        "done",
        "demo.train_model",
        args="('bert',)",
        result="{'model': 'bert', 'accuracy': 0.93, 'loss': 0.2, 'gpu': 'gpu0'}",
    )
    stale_meta = {"done": progress_meta(60.0)}  # an older PROGRESS read must not win
    row = training_jobs_frame(frame(done), TRAINING, stale_meta, NOW).iloc[0]
    assert (row["progress"], row["accuracy"], row["loss"], row["source"]) == (
        100.0,
        0.93,
        0.2,
        "result",
    )
    assert row["runtime"] == 1.0
    assert math.isnan(row["eta"]) and math.isnan(row["elapsed"])


def test_job_terminated_while_in_progress_is_revoked_not_active():
    job = running_job(revoked=T0 + 50)
    jobs = training_jobs_frame(frame(job), TRAINING, {"run": progress_meta(40.0)}, NOW)
    assert jobs["state"].tolist() == ["REVOKED"]
    assert math.isnan(jobs["eta"].iloc[0])
    assert jobs["progress"].iloc[0] == 40.0, "the last known progress stays visible"
    assert training_kpis(jobs, HOUR_AGO, NOW)["active"] == 0


def test_without_backend_meta_running_progress_is_unknown_not_zero():
    row = training_jobs_frame(frame(running_job()), TRAINING, {}, NOW).iloc[0]
    assert math.isnan(row["progress"]) and math.isnan(row["eta"])
    assert row["source"] == "not observed"


STARTED_META = {"x": {"status": "STARTED", "result": {"pid": 4}}}
UNKNOWN_NAMES = [
    # (case, task state, backend metas, final result, detect, found)
    ("progress meta with training keys", "STARTED", {"x": progress_meta()}, None, True, True),
    (
        "final result with training keys",
        "SUCCESS",
        {},
        "{'loss': 0.1, 'accuracy': 0.9}",
        True,
        True,
    ),
    ("started meta only", "STARTED", STARTED_META, None, True, False),
    ("a plain result", "SUCCESS", {}, "'ok'", True, False),
    ("detect off", "STARTED", {"x": progress_meta()}, None, False, False),
]


@pytest.mark.parametrize(
    ("state", "metas", "result", "detect", "found"),
    [u[1:] for u in UNKNOWN_NAMES],
    ids=[u[0] for u in UNKNOWN_NAMES],
)
def test_training_jobs_are_detected_by_their_meta_or_result_keys(
    state, metas, result, detect, found
):
    payload = task("x", "acme.fit_ranker", state, **({"result": result} if result else {}))
    rules = view(
        f'[views.t]\nkind = "training"\ntasks = ["*train*"]\ndetect = {str(detect).lower()}\n'
    )
    jobs = training_jobs_frame(frame(payload), rules, metas, NOW)
    assert jobs["uuid"].tolist() == (["x"] if found else [])


# Names nobody here chose: no "train" in them, so only the meta keys can find them.
ANY_NAMES = ["ml.fit_model", "jobs.optimise"]


@pytest.mark.parametrize("name", ANY_NAMES)
def test_once_a_name_is_detected_every_task_of_it_is_a_job_in_every_state(name):
    tasks = frame(
        task("oom", name, "FAILURE", at=10, exception="RuntimeError('CUDA out of memory')"),
        task("queued", name, "PENDING", at=20),
        task("killed", name, "REVOKED", at=30, revoked=T0 + 31),
        task("early", name, "STARTED", at=40),
        task("plain", name, "SUCCESS", at=50, result="None"),
        task("other", "acme.report", "STARTED", at=60),  # a bare progress key: not training
    )
    # The failed job's numbers are the last PROGRESS meta the console read while it ran.
    metas = {"oom": progress_record(), "other": {"status": "PROGRESS", "result": {"progress": 5}}}
    jobs = training_jobs_frame(tasks, TRAINING, metas, NOW).set_index("uuid")
    assert sorted(jobs.index) == ["early", "killed", "oom", "plain", "queued"]
    assert jobs["state"].to_dict() == {
        "plain": "SUCCESS", "early": "STARTED", "killed": "REVOKED", "queued": "PENDING",
        "oom": "FAILURE",
    }  # fmt: skip
    assert jobs.loc["oom", ["progress", "loss", "accuracy", "source"]].tolist() == [
        40.0, 0.7, 0.6, "backend"
    ]  # fmt: skip
    unseen = jobs.loc[["queued", "killed", "early", "plain"]]
    assert unseen[["loss", "accuracy"]].isna().all().all()
    assert unseen["source"].tolist() == ["not observed"] * 4
    assert set(jobs["name"]) == {name}
    assert training_kpis(jobs, HOUR_AGO, NOW)["failed"] == 1


def test_a_name_detected_once_stays_detected_after_its_task_is_gone():
    first = frame(task("done", "jobs.optimise", result="{'loss': 0.3, 'accuracy': 0.9}"))
    names = training_names(first, TRAINING, {})
    assert names == {"jobs.optimise"}
    later = frame(task("next", "jobs.optimise", "PENDING", at=30), task("x", "acme.other", at=30))
    assert training_jobs_frame(later, TRAINING, {}, NOW).empty, "nothing in this frame says so"
    jobs = training_jobs_frame(later, TRAINING, {}, NOW, names)
    assert jobs[["uuid", "state", "source"]].values.tolist() == [
        ["next", "PENDING", "not observed"]
    ]
    memory = KnownNames()
    memory.add(names)
    assert training_jobs_frame(later, TRAINING, {}, NOW, memory.names)["uuid"].tolist() == ["next"]


def test_detection_needs_loss_or_accuracy_not_a_bare_progress_key():
    tasks = frame(
        task("p", "acme.copy", "STARTED"), task("r", "acme.copy2", result="{'progress': 100}")
    )
    metas = {"p": {"status": "PROGRESS", "result": {"progress": 50}}}
    assert training_names(tasks, TRAINING, metas) == set()
    assert training_jobs_frame(tasks, TRAINING, metas, NOW).empty


def test_a_job_takes_each_number_from_its_result_else_its_last_progress():
    done = task("d", "ml.fit_model", result="{'model': 'm1', 'accuracy': 0.91}")
    jobs = training_jobs_frame(frame(done), TRAINING, {"d": progress_record(loss=0.4)}, NOW)
    row = jobs.iloc[0]
    assert (row["progress"], row["loss"], row["accuracy"], row["source"]) == (
        100.0, 0.4, 0.91, "result"
    )  # fmt: skip


def test_training_candidates_read_the_known_names_running_tasks_first():
    tasks = frame(
        task("other", "acme.job", "STARTED", at=50), task("fit", "ml.fit_model", "STARTED", at=10)
    )
    assert training_candidates(tasks, TRAINING) == ["other", "fit"]
    assert training_candidates(tasks, TRAINING, {"ml.fit_model"}, limit=1) == ["fit"]


def test_training_candidates_are_running_tasks_matched_first_then_detect_limited():
    tasks = frame(
        task("other", "acme.job", "STARTED", at=50),
        running_job("old", at=10),
        running_job("new", at=30),
        task("done", "demo.train_model", at=60),
        task("queued", "demo.train_model", "PENDING", at=70),
    )
    assert training_candidates(tasks, TRAINING) == ["new", "old", "other"]
    assert training_candidates(tasks, TRAINING, limit=1) == ["new"]
    strict = view('[views.t]\nkind = "training"\ntasks = ["*train*"]\ndetect = false\n')
    assert training_candidates(tasks, strict) == ["new", "old"]


def test_training_kpis_count_finished_in_range_and_active_now():
    tasks = frame(
        running_job("run"),
        task("ok1", "demo.train_model", result="{'accuracy': 0.7}", runtime=10.0),
        task("ok2", "demo.train_model", at=20, result="{'accuracy': 0.9}", runtime=20.0),
        task("bad", "demo.train_model", "FAILURE", at=30),
        task("old", "demo.train_model", at=-7200, result="{'accuracy': 0.99}", runtime=5.0),
    )
    jobs = training_jobs_frame(tasks, TRAINING, {}, NOW)
    assert training_kpis(jobs, HOUR_AGO, NOW) == {
        "active": 1,
        "completed": 2,
        "failed": 1,
        "avg_training_time": 15.0,
        "best_accuracy": 0.9,
    }
    empty = training_kpis(jobs, NOW - timedelta(seconds=1), NOW)
    assert (empty["completed"], empty["avg_training_time"], empty["best_accuracy"]) == (
        0,
        None,
        None,
    )


def test_recorded_training_jobs(recorded_frame):
    metas = {special("training_progress"): recorded("backend_meta")["training_progress"]}
    jobs = training_jobs_frame(recorded_frame, TRAINING, metas, NOW).set_index("uuid")
    assert len(jobs) == 9  # every demo.train_model in tasks.json, nothing else
    assert jobs.loc[special("training_progress"), ["model", "state", "progress", "gpu"]].tolist() == [
        "resnet50", "PROGRESS", 37.5, "gpu1"
    ]  # fmt: skip
    assert jobs.loc[special("revoked_in_progress"), "state"] == "REVOKED"
    assert jobs.loc[special("queued_pending"), ["model", "state"]].tolist() == ["t5", "PENDING"]
    assert jobs.loc[special("training_oom"), "state"] == "FAILURE"


def test_training_cards_in_screen_order_with_the_callers_duration_format():
    from lib.workflows.training import training_cards

    kpi = {
        "active": 2,
        "completed": 5,
        "failed": 1,
        "avg_training_time": 61.5,
        "best_accuracy": 0.91234,
    }
    cards = training_cards(kpi, "Last hour", lambda s: f"{s:g} s")
    assert list(cards.items()) == [
        ("Active jobs", 2),
        ("Completed · Last hour", 5),
        ("Failed · Last hour", 1),
        ("Avg training time", "61.5 s"),
        ("Best accuracy", "0.9123"),
    ]
    unknown = training_cards({**kpi, "best_accuracy": None}, "x", str)
    assert unknown["Best accuracy"] is None
