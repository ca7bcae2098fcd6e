"""Task rows: precedence like lib/sync, the timeline, masking at rest, caps, window reads."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from lib import frames
from lib.redact import MASKED_COLUMNS, mask_frame
from lib.store import Store
from lib.store.rows import CUT_MARK, TEXT_CAPS
from tests.recorded import recorded_tasks
from tests.unit.store.histories import SECRET_URL, TOKEN, retried_history, success_history

NOW = 1_800_000_000.0


def _without_uuid(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "uuid"}


@pytest.mark.parametrize("batch", [1, 2, 5], ids=["one-by-one", "pairs", "all-at-once"])
def test_a_shuffled_replay_gives_the_same_row_as_in_order(store, batch):
    histories = {
        "retried": lambda uuid: retried_history(uuid, NOW - 100),
        "success": lambda uuid: success_history(uuid, NOW - 100, runtime=0.5),
    }
    for kind, history in histories.items():
        store.upsert_tasks(history(f"{kind}-in-order"), NOW)
        expected = _without_uuid(store.task(f"{kind}-in-order"))
        for seed in range(25):
            uuid = f"{kind}-{seed}"
            payloads = history(uuid)
            random.Random(seed).shuffle(payloads)
            for start in range(0, len(payloads), batch):
                store.upsert_tasks(payloads[start : start + batch], NOW)
            assert _without_uuid(store.task(uuid)) == expected, (kind, seed)


def test_an_older_record_never_overwrites_a_newer_one(store):
    received, started, success = success_history("t", NOW, runtime=1.0)
    store.upsert_tasks([success], NOW)
    assert store.upsert_tasks([received, started], NOW) == 0  # STARTED ties and ranks lower
    assert store.task("t")["state"] == "SUCCESS"


def test_the_timeline_keeps_a_retried_tasks_earlier_exceptions(store):
    for payload in retried_history("r", NOW - 60):
        store.upsert_tasks([payload], NOW)
    timeline = store.timeline("r")
    assert list(timeline["state"]) == ["RECEIVED", "STARTED", "RETRY", "STARTED", "FAILURE"]
    assert "ConnectionError" in timeline["exception"].iloc[2]
    assert "PermissionError" in timeline["exception"].iloc[4]
    assert "S3CRET" not in "".join(timeline["exception"].dropna())
    assert str(timeline["at"].dtype) == "datetime64[us, UTC]"


def test_repeating_an_upsert_changes_nothing_and_adds_no_timeline_rows(store):
    history = retried_history("r", NOW - 60)
    store.upsert_tasks(history, NOW)
    assert store.upsert_tasks(history, NOW + 5) == 0
    assert len(store.timeline("r")) == 1  # all at once: only the winner was seen


def test_no_secret_at_rest(tmp_path):
    url = f"sqlite:///{tmp_path / 'secret.sqlite3'}"
    store = Store(url, secrets=["Fl0werPassw0rd"])
    try:
        for payload in retried_history("r", NOW - 60):
            store.upsert_tasks([payload], NOW)
        leaked = {
            **success_history("s", NOW - 30, runtime=1.0)[-1],
            "kwargs": "{'password': 'hunter2-pw', 'note': 'Fl0werPassw0rd'}",
            "result": f"connected to {SECRET_URL}",
        }
        store.upsert_tasks([leaked], NOW)
        row = store.task("r")
        assert "token=***" in row["exception"] and "u:***@h" in row["traceback"]
    finally:
        store.close()
    written = b"".join(p.read_bytes() for p in tmp_path.glob("secret.sqlite3*"))
    assert b"FAILURE" in written  # the file (or its WAL) does hold the rows
    for secret in ("S3CRET", TOKEN, "hunter2-pw", "Fl0werPassw0rd"):
        assert secret.encode() not in written, secret


def test_long_text_is_capped_with_a_mark(store):
    payload = {
        **retried_history("r", NOW)[-1],
        "result": "x" * 50_000,
        "traceback": "line\n" * 20_000,
        "args": "(" + "1, " * 300 + ")",
    }
    store.upsert_tasks([payload], NOW)
    row = store.task("r")
    for column in ("result", "traceback"):
        assert len(row[column]) == TEXT_CAPS[column] and row[column].endswith(CUT_MARK)
    assert row["args"] == payload["args"]  # under its cap: whole


def test_mark_gone_keeps_the_task_and_a_new_sighting_brings_it_back(store):
    history = success_history("s", NOW, runtime=1.0)
    store.upsert_tasks(history, NOW)
    assert store.mark_gone(["s", "unknown"]) == 1
    assert store.task("s")["in_flower"] is False
    window = store.tasks_window(0, NOW + 10)
    assert list(window["in_flower"]) == [False] and window["state"].iloc[0] == "SUCCESS"
    store.upsert_tasks(history[-1:], NOW + 1)
    assert store.task("s")["in_flower"] is True


def test_the_window_read_equals_tasks_frame_on_recorded_payloads(store):
    raw = recorded_tasks()
    store.upsert_tasks(raw, NOW)
    got = store.tasks_window(0, NOW).sort_values("uuid", ignore_index=True)
    expected = frames.tasks_frame(raw).sort_values("uuid", ignore_index=True)
    assert list(got.columns) == [*frames.TASK_COLUMNS, "in_flower"]
    plain = [c for c in frames.TASK_COLUMNS if c not in MASKED_COLUMNS]
    pd.testing.assert_frame_equal(got[plain], expected[plain])
    masked = mask_frame(expected)
    for column in MASKED_COLUMNS:
        assert got[column].dtype == expected[column].dtype
        for stored, want in zip(got[column], masked[column], strict=True):
            if pd.isna(want):
                assert pd.isna(stored)
            elif len(want) <= TEXT_CAPS[column]:
                assert stored == want
            else:
                assert stored.endswith(CUT_MARK) and want.startswith(stored[: -len(CUT_MARK)])


def test_the_window_holds_exactly_the_tasks_placed_in_it(store):
    store.upsert_tasks(success_history("early", NOW - 100, runtime=1.0), NOW)
    store.upsert_tasks(success_history("late", NOW - 10, runtime=1.0), NOW)
    assert list(store.tasks_window(NOW - 50, NOW)["uuid"]) == ["late"]
    assert list(store.tasks_window(NOW - 200, NOW)["uuid"]) == ["late", "early"]  # newest first


def test_a_nul_character_in_a_payload_is_stored_escaped(store):
    # PostgreSQL's text cannot hold NUL (SQLite's can): one such exception must not stop the
    # collector's whole batch there, and both databases keep the same row.
    failed = {**retried_history("n", NOW - 60)[-1], "exception": "ValueError('a\x00b')"}
    other = success_history("s", NOW - 60, runtime=1.0)[-1]
    assert store.upsert_tasks([failed, {**other, "worker": "w\x00"}], NOW) == 2
    assert store.task("n")["exception"] == "ValueError('a\\x00b')"
    assert store.task("s")["worker"] == "w\\x00"
