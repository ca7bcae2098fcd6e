"""workflows.toml: loading, line-numbered problems and pattern matching."""

from __future__ import annotations

import pytest

from lib import frames
from lib.workflows.config import (
    DEFAULT_FILE,
    Match,
    Pattern,
    load_workflows,
    parse_workflows,
)

GOOD_TEAM = """
[views.teams]
kind = "team"
title = "Teams"
"""


def line_of(text: str, marker: str) -> int:
    """1-based line of the line holding ``marker``: where the test author put the mistake."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


def task(**fields) -> dict:
    base = {"uuid": "t1", "name": "demo.add", "state": "SUCCESS", "root_id": "t1"}
    return {**base, **fields}


# -- the shipped default ---------------------------------------------------------------------


def test_default_file_loads_every_view_without_problems():
    config = load_workflows()
    assert config.problems == ()
    assert [(v.key, v.kind, v.title) for v in config.views] == [
        ("training", "training", "ML training"),
        ("etl", "pipeline", "ETL pipelines"),
        ("teams", "team", "Teams"),
    ]
    etl = config.views[1]
    assert [name for name, _ in etl.stages] == ["extract", "transform", "load"]
    assert (etl.healthy, etl.degraded, etl.records_key, etl.errors_key) == (
        95.0,
        80.0,
        "records",
        "dropped",
    )
    assert [team for team, _ in config.views[2].members] == ["ml", "data", "messaging", "platform"]


def test_no_path_means_the_default_and_a_missing_file_is_one_problem(tmp_path):
    assert load_workflows(None).source == str(DEFAULT_FILE)
    config = load_workflows(tmp_path / "nope.toml")
    assert config.views == ()
    assert len(config.problems) == 1
    assert config.problems[0].line is None
    assert "cannot read" in str(config.problems[0])


def test_a_file_without_views_says_so():
    config = parse_workflows("# only a comment\n")
    assert config.views == ()
    assert [p.message for p in config.problems] == ["no [views.<name>] tables"]


# -- problems point at their line; the other views still load -----------------------------

BROKEN = {
    "bad regex": """
[views.ml]
kind = "training"
tasks = ["demo.*", "re:train(("]   # MARK
""",
    "unknown kind": """
[views.ml]
kind = "trainnig"   # MARK
tasks = ["*train*"]
""",
    "unknown setting": """
[views.ml]
kind = "training"
taks = ["*train*"]   # MARK
""",
    "setting of another kind": """
[views.ml]
kind = "training"
stages = {a = ["x"]}   # MARK
""",
    "toml syntax": """
[views.ml]
kind = "training"
tasks = ["*train*" "x"]   # MARK
""",
    "bad id source": """
[views.ml]
kind = "training"
model = ["arg:first"]   # MARK
""",
    "bad id regex": """
[views.ml]
kind = "team"
team = ["worker:team-([a-z]+"]   # MARK
""",
    "degraded above healthy": """
[views.ml]
kind = "pipeline"
healthy = 90
degraded = 95   # MARK
""",
    "threshold not a percent": """
[views.ml]
kind = "pipeline"
healthy = "high"   # MARK
""",
    "bad stage regex": """
[views.ml]
kind = "pipeline"
[views.ml.stages]
extract = ["re:[unclosed"]   # MARK
""",
    "bad team rule": """
[views.ml]
kind = "team"
[views.ml.members.data]
queue = ["etl"]   # MARK
""",
    "patterns not strings": """
[views.ml]
kind = "training"
workers = [1, 2]   # MARK
""",
    "not a views table": """
[settings]   # MARK
x = 1
""",
    "array of views": """
[[views]]   # MARK
kind = "team"
""",
}


@pytest.mark.parametrize("text", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_view_reports_its_line_and_the_others_still_load(text):
    config = parse_workflows(GOOD_TEAM + text)
    full = GOOD_TEAM + text
    assert [p.line for p in config.problems][:1] == [line_of(full, "MARK")], config.problems
    assert f"line {line_of(full, 'MARK')}" in str(config.problems[0])
    assert [v.key for v in config.views] == ["teams"]


def test_problem_messages_say_what_is_wrong():
    config = parse_workflows(BROKEN["bad regex"] + BROKEN["unknown kind"].replace("ml", "ml2"))
    messages = [str(p) for p in config.problems]
    assert "bad regular expression 're:train(('" in messages[0]
    assert "view 'ml'" in messages[0]
    assert "unknown kind 'trainnig'" in messages[1]
    assert "view 'ml2'" in messages[1]


def test_line_numbers_count_from_the_top_of_the_file_after_other_views():
    text = GOOD_TEAM * 1 + "\n" * 30 + BROKEN["toml syntax"]
    config = parse_workflows(text)
    assert config.problems[0].line == line_of(text, "MARK")


def test_a_view_split_over_separate_tables_is_one_view():
    text = """
[views.etl]
kind = "pipeline"
[views.teams]
kind = "team"
[views.etl.stages]
extract = ["*extract*"]
"""
    config = parse_workflows(text)
    assert config.problems == ()
    assert dict(config.views[0].stages).keys() == {"extract"}


# -- patterns and rules ----------------------------------------------------------------------

PATTERNS = [
    ("demo.train_model", "demo.train_model", True),
    ("demo.train_*", "demo.train_model", True),
    ("train", "demo.train_model", False),  # a glob covers the whole value
    ("*train*", "demo.train_model", True),
    ("*TRAIN*", "demo.train_model", False),  # globs are case-sensitive
    ("w?@host", "w1@host", True),
    ("re:train", "demo.train_model", True),  # a regex is searched anywhere
    ("re:^train", "demo.train_model", False),
    ("re:(?i)TRAIN", "demo.train_model", True),
    ("*", None, False),  # a task seen mid-flight has no name
]


@pytest.mark.parametrize(
    ("pattern", "value", "hit"), PATTERNS, ids=[f"{p}~{v}" for p, v, _ in PATTERNS]
)
def test_pattern(pattern, value, hit):
    assert Pattern.parse(pattern).matches(value) is hit


def test_bad_regex_is_a_readable_value_error():
    with pytest.raises(ValueError, match="bad regular expression 're:\\('"):
        Pattern.parse("re:(")


RULES = [
    ("no rules take all", {}, ["a", "b", "c", "d"]),
    ("any name of the list", {"tasks": ["demo.add", "demo.echo"]}, ["a", "b"]),
    ("queue only", {"queues": ["ml"]}, ["c"]),
    ("name and queue both", {"tasks": ["demo.*"], "queues": ["default"]}, ["a", "b"]),
    ("worker glob", {"workers": ["w2@*"]}, ["b", "c"]),
    ("nothing matches", {"tasks": ["x"], "queues": ["ml"]}, []),
]


@pytest.mark.parametrize(("rules", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rules_any_within_a_list_all_lists_must_match(rules, expected):
    tasks = frames.tasks_frame(
        [
            task(uuid="a", name="demo.add", routing_key="default", worker="w1@h"),
            task(uuid="b", name="demo.echo", routing_key="default", worker="w2@h"),
            task(uuid="c", name="ml.fit", routing_key="ml", worker="w2@h"),
            task(uuid="d", name=None, routing_key="etl", worker="w1@h"),
        ]
    )
    match = Match(
        *(tuple(map(Pattern.parse, rules.get(k, []))) for k in ("tasks", "queues", "workers"))
    )
    assert tasks.loc[match.mask(tasks), "uuid"].tolist() == expected


VIEW_MASKS = [
    ("a team view without rules takes every task", 'kind = "team"', ["a", "b"]),
    ("detect off without rules: every task", 'kind = "training"\ndetect = false', ["a", "b"]),
    ("detect on without rules: detection alone finds them", 'kind = "training"', []),
    ("rules decide when given", 'kind = "training"\ntasks = ["demo.echo"]', ["b"]),
]


@pytest.mark.parametrize(
    ("settings", "expected"), [v[1:] for v in VIEW_MASKS], ids=[v[0] for v in VIEW_MASKS]
)
def test_a_view_takes_its_rules_tasks_or_by_kind_and_detect_without_rules(settings, expected):
    config = parse_workflows(f"[views.v]\n{settings}\n")
    assert config.problems == ()
    tasks = frames.tasks_frame([task(uuid="a"), task(uuid="b", name="demo.echo")])
    assert tasks.loc[config.views[0].mask(tasks), "uuid"].tolist() == expected
