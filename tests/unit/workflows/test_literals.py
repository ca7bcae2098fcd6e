"""Values read from a task's fields: repr literals, truncated reprs, dicts, numbers and ids."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lib import frames
from lib.workflows.config import parse_workflows
from lib.workflows.literals import extract_ids, literal_dicts, numbers_of, parse_literal


def task(**fields) -> dict:
    base = {"uuid": "t1", "name": "demo.add", "state": "SUCCESS", "root_id": "t1"}
    return {**base, **fields}


LITERALS = [
    ("a dict", "{'a': 1}", {"a": 1}),
    ("a tuple", "('m', 3)", ("m", 3)),
    ("not a literal", "ValueError('x')", None),
    ("a repr Celery cut", "{'a': '" + "x" * 20 + "...", None),
    ("empty text", "", None),
    ("not text", 42, None),
    ("too long to parse", "'" + "x" * 100_001 + "'", None),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in LITERALS], ids=[c[0] for c in LITERALS]
)
def test_parse_literal_never_evaluates_and_never_raises(text, expected):
    assert parse_literal(text) == expected


def test_literal_dicts_and_numbers_of_take_what_is_there():
    dicts = literal_dicts(pd.Series(["{'loss': 0.5}", "(1,)", None, "{'loss': 'high'}"]))
    assert dicts == [{"loss": 0.5}, {}, {}, {"loss": "high"}]
    got = numbers_of(dicts, "loss").tolist()
    assert got[0] == 0.5 and all(math.isnan(v) for v in got[1:])


# -- ids -------------------------------------------------------------------------------------

LONG = "x" * 1100
IDS = [
    ("first arg", ["arg:0"], task(args="('resnet50', 3)"), "resnet50"),
    ("second arg, a number", ["arg:1"], task(args="('resnet50', 3)"), "3"),
    ("arg past the end", ["arg:5"], task(args="('resnet50',)"), None),
    ("a dict arg is no id", ["arg:0"], task(args="({'a': 1},)"), None),
    ("list args", ["arg:0"], task(args="['m1']"), "m1"),
    ("kwarg", ["kwarg:pipeline_id"], task(kwargs="{'pipeline_id': 'pl-1'}"), "pl-1"),
    ("absent kwarg", ["kwarg:pipeline_id"], task(kwargs="{'other': 1}"), None),
    ("result key", ["result:model"], task(result="{'model': 'bert', 'accuracy': 0.9}"), "bert"),
    ("a bool is no id", ["kwarg:dry"], task(kwargs="{'dry': True}"), None),
    (
        "kwarg in a repr Celery cut",
        ["kwarg:pipeline_id"],
        task(kwargs=f"{{'pipeline_id': 'pl-9', 'rows': '{LONG}..."),
        "pl-9",
    ),
    ("first arg of a cut repr", ["arg:0"], task(args=f"('m7', '{LONG}..."), "m7"),
    ("a first arg that was itself cut", ["arg:0"], task(args=f"('{LONG}..."), None),
    ("worker tag", ["worker:team-([a-z]+)"], task(worker="w1@team-search.prod"), "search"),
    ("queue tag", ["queue:team_(\\w+)"], task(routing_key="team_billing"), "billing"),
    ("regex without a group: whole match", ["name:^[a-z]+"], task(name="acme.fit"), "acme"),
    ("plain name", ["name"], task(name="acme.fit"), "acme.fit"),
    ("root id", ["root"], task(uuid="c", root_id="r"), "r"),
    ("uuid", ["uuid"], task(uuid="c"), "c"),
    ("first source with a value wins", ["kwarg:model", "arg:0"], task(args="('a',)"), "a"),
    (
        "earlier source wins",
        ["kwarg:model", "arg:0"],
        task(args="('a',)", kwargs="{'model': 'k'}"),
        "k",
    ),
    ("no source has it", ["kwarg:model", "result:model"], task(), None),
]


@pytest.mark.parametrize(
    ("specs", "payload", "expected"), [i[1:] for i in IDS], ids=[i[0] for i in IDS]
)
def test_extract_ids(specs, payload, expected):
    config = parse_workflows(f'[views.v]\nkind = "team"\nteam = {json.dumps(specs)}\n')
    assert config.problems == ()
    got = extract_ids(frames.tasks_frame([payload]), config.views[0].ids).iloc[0]
    assert (None if pd.isna(got) else got) == expected


def test_meta_source_reads_the_running_tasks_progress_meta():
    config = parse_workflows('[views.v]\nkind = "training"\nmodel = ["meta:model", "arg:0"]\n')
    tasks = frames.tasks_frame([task(uuid="a", args="('x',)"), task(uuid="b", args="('y',)")])
    metas = {"a": {"status": "PROGRESS", "result": {"model": "from-meta", "progress": 10}}}
    assert extract_ids(tasks, config.views[0].ids, metas).tolist() == ["from-meta", "y"]
