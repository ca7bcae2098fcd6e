"""Recovering the original call: exact values or a refusal that says why — never a guess."""

from __future__ import annotations

import pytest

from lib.original_call import RetryRefused, original_call


def failed(**kw) -> dict:
    base = {
        "uuid": "t1",
        "name": "demo.echo",
        "state": "FAILURE",
        "routing_key": "etl",
        "args": "('a', 2, [3.5, None], True)",
        "kwargs": "{'dry_run': False, 'n': 3}",
    }
    base.update(kw)
    return base


def test_complete_reprs_are_parsed_exactly():
    call = original_call(failed())
    assert (call.name, call.queue, call.source) == ("demo.echo", "etl", "Flower's repr")
    assert call.args == ["a", 2, [3.5, None], True]
    assert call.kwargs == {"dry_run": False, "n": 3}


def test_result_backend_arguments_win_over_reprs():
    meta = {"status": "FAILURE", "args": ["x" * 2000], "kwargs": {"k": 1}, "queue": "etl"}
    call = original_call(failed(args="('xxxx..."), meta)
    assert call.args == ["x" * 2000] and call.source == "result backend"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"args": "('" + "x" * 1019 + "..."}, "truncated"),
        ({"args": "('***',)"}, "masked"),
        ({"args": "(datetime.datetime(2026, 1, 1),)"}, "not plain literals"),
        ({"args": "<masked>"}, "masked"),
        ({"args": "{'a': 1}"}, "not a list"),
        ({"kwargs": "[1]"}, "not a dict"),
        ({"kwargs": "{1: 'a'}"}, "JSON cannot carry"),
        ({"args": "(b'bytes',)"}, "JSON cannot carry"),
        ({"args": "({1, 2},)"}, "JSON cannot carry"),
        ({"args": "({1: 'int key'},)"}, "JSON cannot carry"),
        ({"args": None}, "no args"),
        ({"name": None}, "name"),
        ({"routing_key": None}, "queue"),
        ({"state": "STARTED"}, "only failed, revoked or succeeded"),
    ],
    ids=[
        "truncated",
        "stars",
        "object",
        "masked",
        "args-dict",
        "kwargs-list",
        "int-keys",
        "bytes",
        "set",
        "nested-int-key",
        "no-args",
        "no-name",
        "no-queue",
        "running",
    ],
)
def test_doubtful_calls_are_refused(change, says):
    with pytest.raises(RetryRefused) as err:
        original_call(failed(**change))
    assert says in str(err.value)
    if "args" in change or "kwargs" in change:
        assert "result_extended" in str(err.value), "the refusal says what to change"


def test_a_job_terminated_mid_progress_is_retried_as_revoked():
    # Flower keeps a terminated job in its custom state (PROGRESS) with ``revoked`` set; the
    # console shows it REVOKED, so Retry treats it as revoked too.
    call = original_call(failed(state="PROGRESS", revoked=1795313463.5))
    assert call.name == "demo.echo"
    with pytest.raises(RetryRefused, match="Task is PROGRESS"):
        original_call(failed(state="PROGRESS", revoked=None))
