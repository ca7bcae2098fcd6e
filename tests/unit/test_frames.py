"""The tasks frame from task payloads: dtypes, derived columns, effective state, odd values, filters."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pandas as pd
import pyarrow as pa
import pytest

from lib import frames
from lib.export import csv_bytes
from tests import factories
from tests.recorded import recorded_tasks, special

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T0 = NOW.timestamp()


#: Successes run 0.9 s here, so a duration taken from the wrong field would show.
task_payload = partial(factories.task_payload, at=T0 - 60, runtime=0.9)


def test_dtypes_and_derived_columns():
    df = frames.tasks_frame([task_payload("ok"), task_payload("bad", "FAILURE")])
    assert list(df.columns) == list(frames.TASK_COLUMNS)
    for col in frames.TASK_TIME_COLUMNS:
        assert isinstance(df[col].dtype, pd.DatetimeTZDtype), col
    ok, bad = df.set_index("uuid").loc["ok"], df.set_index("uuid").loc["bad"]
    assert ok["duration"] == 0.9  # Flower's runtime for a success
    assert bad["duration"] == pytest.approx(1.0)  # failed − started for a failure
    assert pd.isna(bad["runtime"])
    assert ok["wait"] == pytest.approx(1.0)  # started − sent
    assert ok["queue"] == "default"
    assert ok["received"] == pd.Timestamp(T0 - 61.5, unit="s", tz="UTC")


def test_wait_falls_back_to_received_when_sent_is_missing():
    df = frames.tasks_frame([task_payload("x", sent=None)])
    assert df.loc[0, "wait"] == pytest.approx(0.5)


def test_name_none_and_missing_fields_do_not_break_anything():
    odd = {"uuid": "mid-flight", "name": None, "state": "SUCCESS", "timestamp": T0, "runtime": 2.0}
    df = frames.tasks_frame([odd, {"uuid": "bare"}, "not a dict"])
    assert len(df) == 2
    assert pd.isna(df.loc[0, "name"]) and df.loc[0, "duration"] == 2.0
    assert pd.isna(df.loc[1, "state"]) and pd.isna(df.loc[1, "received"])
    assert len(frames.filter_tasks(df, names=["demo.add"])) == 0
    assert len(frames.filter_tasks(df, text="mid")) == 1


def test_odd_values_are_read_as_missing_or_text_never_invented():
    odd = {
        "uuid": "odd",
        "name": 7,
        "sent": "garbage",
        "retries": 1.5,
        "args": None,
        "routing_key": "",
        "queue": "from-queue-field",
        "children": [{"uuid": "c1"}, "c2", None],
    }
    df = frames.tasks_frame([task_payload("full"), odd]).set_index("uuid")
    assert df.loc["odd", "name"] == "7"
    assert pd.isna(df.loc["odd", "sent"]) and pd.isna(df.loc["odd", "retries"])
    assert pd.isna(df.loc["odd", "args"])  # missing, not the text "nan" or "None"
    assert df.loc["odd", "queue"] == "from-queue-field"
    assert df.loc["odd", "children"] == "c1,c2"
    assert df.loc["full", "args"] == task_payload("full")["args"]


def test_recorded_flower_payloads_read_the_same_by_arrow_and_by_python():
    # Flower's payloads go through Arrow in one pass; one payload of another shape sends the
    # whole batch through the Python reader. Both must give the same frame.
    tasks = recorded_tasks()
    assert all(isinstance(v, pa.Array) for v in frames.tasks._read(tasks).values())  # the fast path
    by_arrow = frames.tasks_frame(tasks)
    with_odd_one = frames.tasks_frame([*tasks, {"uuid": "odd", "args": [1, 2]}])
    assert with_odd_one.loc[len(tasks), "args"] == "[1, 2]"  # the Python reader was used
    pd.testing.assert_frame_equal(by_arrow, with_odd_one.iloc[: len(tasks)])
    assert by_arrow["children"].notna().any() and by_arrow["queue"].notna().all()


def test_times_are_rounded_to_the_nearest_microsecond():
    # 0.7 µs after T0: truncating would say T0, rounding says T0 + 1 µs.
    df = frames.tasks_frame([task_payload("t", sent=T0 + 7e-7)])
    assert df.loc[0, "sent"] == pd.Timestamp(T0, unit="s", tz="UTC") + pd.Timedelta(1, "us")
    assert df["sent"].dtype == "datetime64[us, UTC]"


def test_retried_task_that_is_its_own_parent_has_no_self_links():
    retried = task_payload(
        "r1", "FAILURE", retries=1, parent_id="r1", root_id="r1", children=["r1", "c2"]
    )
    df = frames.tasks_frame([retried])
    assert frames.task_lineage(df, "r1") == {"parent": [], "root": [], "children": ["c2"]}


def test_truncated_args_are_kept_as_text():
    long_args = "('" + "x" * 1019 + "..."
    df = frames.tasks_frame([task_payload("t", args=long_args)])
    assert df.loc[0, "args"] == long_args


def test_non_string_payload_values_become_their_repr():
    df = frames.tasks_frame([task_payload("t", args=[1, 2], kwargs={"a": 1}, result=5)])
    assert (df.loc[0, "args"], df.loc[0, "kwargs"], df.loc[0, "result"]) == (
        "[1, 2]",
        "{'a': 1}",
        "5",
    )


def test_filters_combine():
    tasks = [
        task_payload("a", "SUCCESS", worker="w1@h", routing_key="default"),
        task_payload("b", "FAILURE", worker="w2@h", routing_key="ml", name="demo.train_model"),
        task_payload(
            "c", "FAILURE", worker="w1@h", routing_key="etl", exception="KeyError('record 42')"
        ),
        task_payload("d", "STARTED", at=T0 - 7200),
    ]
    df = frames.tasks_frame(tasks)
    pick = lambda **kw: sorted(frames.filter_tasks(df, **kw)["uuid"])  # noqa: E731
    assert pick(states=["FAILURE"]) == ["b", "c"]
    assert pick(states=["FAILURE"], workers=["w1@h"]) == ["c"]
    assert pick(queues=["ml"]) == ["b"]
    assert pick(names=["demo.train_model"]) == ["b"]
    assert pick(text="RECORD 42") == ["c"]
    assert pick(text="  ") == ["a", "b", "c", "d"]
    assert pick(received_from=datetime.fromtimestamp(T0 - 3600, UTC)) == ["a", "b", "c"]
    assert pick(received_to=datetime.fromtimestamp(T0 - 3600, UTC)) == ["d"]


def test_filter_params_from_deep_links():
    got = frames.filter_params(
        {"state": ["failure,retry"], "name": ["demo.add", "demo.sleep"], "worker": []}
    )
    assert got == {
        "state": ["FAILURE", "RETRY"],
        "name": ["demo.add", "demo.sleep"],
        "worker": [],
        "queue": [],
    }


# -- effective state (issue 10, point 4) -----------------------------------------------------

#: Celery ranks custom states above REVOKED, so Flower keeps a job terminated mid-PROGRESS in
#: PROGRESS with its ``revoked`` time set (recorded: tests/fixtures/flower, revoked_in_progress).
TERMINATED_IN_PROGRESS = task_payload("job", "PROGRESS", revoked=T0 - 30, timestamp=T0 - 30)
#: One payload of another shape sends a whole batch through the Python reader.
ODD = {"uuid": "odd", "args": [1, 2]}


@pytest.mark.parametrize("extra", [[], [ODD]], ids=["arrow-reader", "python-reader"])
def test_a_task_revoked_in_a_custom_state_reads_revoked(extra):
    df = frames.tasks_frame([TERMINATED_IN_PROGRESS, *extra]).set_index("uuid")
    assert df.loc["job", "state"] == "REVOKED"
    assert df.loc["job", "flower_state"] == "PROGRESS"
    assert df.loc["job", "revoked"] == pd.Timestamp(T0 - 30, unit="s", tz="UTC")


@pytest.mark.parametrize(
    ("flower_state", "revoked", "expected"),
    [
        ("PROGRESS", T0 - 30, "REVOKED"),
        ("STARTED", T0 - 30, "REVOKED"),
        ("REVOKED", T0 - 30, "REVOKED"),
        ("SUCCESS", T0 - 30, "SUCCESS"),
        ("FAILURE", T0 - 30, "FAILURE"),
        (None, T0 - 30, "REVOKED"),
        ("PROGRESS", None, "PROGRESS"),
        ("STARTED", None, "STARTED"),
        ("PROGRESS", "not a time", "PROGRESS"),
        (None, None, None),
    ],
    ids=[
        "custom-revoked",
        "started-revoked",
        "revoked",
        "success-keeps-its-result",
        "failure-keeps-its-error",
        "no-state-revoked",
        "custom-running",
        "started-running",
        "unreadable-revoked-time",
        "nothing-known",
    ],
)
def test_effective_state_rule(flower_state, revoked, expected):
    payload = task_payload("t", flower_state, revoked=revoked)
    row = frames.tasks_frame([payload]).iloc[0]
    got = None if pd.isna(row["state"]) else row["state"]
    assert got == expected
    assert (None if pd.isna(row["flower_state"]) else row["flower_state"]) == flower_state
    # The one rule for a single payload (retry, workflow trees) gives the same answer.
    assert frames.effective_state(flower_state, revoked) == expected


def test_filters_and_deep_link_use_the_effective_state():
    tasks = [TERMINATED_IN_PROGRESS, task_payload("run", "PROGRESS"), task_payload("r", "REVOKED")]
    df = frames.tasks_frame(tasks)
    wanted = frames.filter_params({"state": ["revoked"]})["state"]
    assert sorted(frames.filter_tasks(df, states=wanted)["uuid"]) == ["job", "r"]
    assert list(frames.filter_tasks(df, states=["PROGRESS"])["uuid"]) == ["run"]


def test_table_and_csv_have_the_effective_and_flowers_state_side_by_side():
    for columns in (frames.TASK_COLUMNS, frames.TASK_TABLE_COLUMNS):
        assert columns[columns.index("state") + 1] == "flower_state"
    table = frames.tasks_frame([TERMINATED_IN_PROGRESS])[list(frames.TASK_TABLE_COLUMNS)]
    header, row = csv_bytes(table).decode().splitlines()[:2]
    assert header.split(",")[2:4] == ["state", "flower_state"]
    assert row.split(",")[2:4] == ["REVOKED", "PROGRESS"]


def test_recorded_job_terminated_mid_progress_reads_revoked():
    uuid = special("revoked_in_progress")
    raw = next(t for t in recorded_tasks() if t["uuid"] == uuid)
    assert raw["state"] == "PROGRESS" and raw["revoked"], "the recording shows the Celery rule"
    row = frames.tasks_frame(recorded_tasks()).set_index("uuid").loc[uuid]
    assert (row["state"], row["flower_state"]) == ("REVOKED", "PROGRESS")


def test_flowers_own_payloads_have_nothing_odd():
    odd = frames.OddValues("task")
    frames.tasks_frame(recorded_tasks(), odd)
    assert odd.sentence() == ""


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"args": [2, 3], "kwargs": {"a": {"b": 1}}}, "args, kwargs"),
        ({"name": 7, "state": None, "worker": ["w1@host"]}, "name, worker"),
        ({"received": "yesterday", "retries": "2"}, "received, retries"),
        ({"children": "c1", "routing_key": 5}, "children, routing_key"),
    ],
    ids=["list-and-dict", "number-and-list", "text-for-numbers", "text-for-list"],
)
def test_odd_task_values_are_named(change, fields):
    odd = frames.OddValues("task")
    df = frames.tasks_frame([task_payload("ok"), task_payload("odd", **change)], odd)
    assert odd.sentence() == (
        "1 task had fields of an unexpected type (shown as text, or blank where a number or "
        f"time belongs): {fields}."
    )
    assert len(df) == 2


def test_undecoded_text_is_named_on_the_arrow_path_too():
    odd = frames.OddValues("task")
    marked = task_payload("bad", args="(\ufffd,)", _undecoded=["args"])
    frames.tasks_frame([*recorded_tasks(), marked], odd)
    assert odd.sentence() == "1 task had text that could not be decoded (shown as �): args."
    assert all(isinstance(v, pa.Array) for v in frames.tasks._read([marked]).values())
