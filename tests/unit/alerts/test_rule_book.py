"""The rule book: the documented defaults, a file tuning or replacing them, and every problem a
file can have said in words that name the file and the rule (the rest stays in force)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.alerts.evaluate import evaluate
from lib.alerts.model import KINDS
from lib.alerts.rules import DEFAULT_ALERTS_FILE, load_rule_book
from tests.unit.alerts import polls

#: The ten default rules: name → (kind, severity, threshold, for, window, min_count) as documented.
DOCUMENTED = {
    "worker_offline": ("worker_offline", "critical", None, 30, None, None),
    "queue_backlog": ("queue_depth", "warning", 100, 300, None, None),
    "queue_growing": ("queue_growing", "warning", None, 0, 600, None),
    "failure_rate": ("failure_rate", "critical", 10, 0, 600, 20),
    "failure_rate_overall": ("failure_rate", "critical", 10, 0, 600, 20),
    "runtime_regression": ("runtime_regression", "warning", 3, 0, 3600, None),
    "events_stopped": ("events_stopped", "critical", None, 0, 300, None),
    "orphaned_tasks": ("orphaned_tasks", "warning", None, 0, None, None),
    "missed_runs": ("missed_runs", "warning", None, 0, None, None),
    "new_error": ("new_error", "info", None, 0, 3600, None),
}


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def by_name(book) -> dict:
    return {rule.name: rule for rule in book.rules}


def test_the_defaults_are_exactly_the_documented_ten_with_no_problem():
    book = load_rule_book(None)
    assert book.problems == () and book.source == "built-in defaults"
    found = {
        r.name: (r.kind, r.severity, r.threshold, r.for_seconds, r.window_seconds, r.min_count)
        for r in book.rules
    }
    assert found == DOCUMENTED
    assert {r.kind for r in book.rules} == set(KINDS), "every kind has a default rule"
    rules = by_name(book)
    assert rules["failure_rate"].options["per"] == "task"
    assert rules["failure_rate_overall"].options["per"] == "overall"
    assert rules["worker_offline"].options["forget_after"] == 86400
    assert dict(rules["runtime_regression"].options) == {
        "min_samples": 20,
        "baseline_from": 172800,
        "baseline_to": 86400,
    }
    assert dict(rules["missed_runs"].options) == {"min_runs": 6, "tolerance": 0.1, "misses": 3}
    assert rules["new_error"].options["history"] == 3600
    assert rules["queue_backlog"].options["cause_rule"] == "worker_offline"
    assert rules["orphaned_tasks"].options["cause_rule"] == "worker_offline"


def test_the_default_file_documents_every_key_it_accepts():
    from lib.alerts.rule_tables import COMMON_KEYS, KIND_OPTIONS

    text = DEFAULT_ALERTS_FILE.read_text(encoding="utf-8")
    for key in [*COMMON_KEYS, *(k for options in KIND_OPTIONS.values() for k in options)]:
        documented = (f"`{key}`", f"#   {key} ", f".{key}]]")
        assert any(form in text for form in documented), key
    assert "replace_defaults" in text and "OPS_ALERTS_FILE" in text


def test_a_file_tunes_only_the_keys_it_gives(tmp_path):
    path = written(tmp_path, '[rules.queue_backlog]\nthreshold = 1000\nfor = "1h30m"\n')
    book = load_rule_book(path)
    assert book.problems == ()
    assert book.source == f"built-in defaults tuned by {path}"
    backlog = by_name(book)["queue_backlog"]
    assert (backlog.threshold, backlog.for_seconds) == (1000, 5400)
    assert (backlog.kind, backlog.severity) == ("queue_depth", "warning")
    assert len(book.rules) == 10


def test_enabled_false_turns_a_default_off_and_its_dependants_lose_their_cause(tmp_path):
    book = load_rule_book(written(tmp_path, "[rules.worker_offline]\nenabled = false\n"))
    rules = by_name(book)
    assert "worker_offline" not in rules and len(rules) == 9 and book.problems == ()
    # A caused alert must never wait for a cause that can no longer fire.
    assert rules["queue_backlog"].options["cause_rule"] == ""
    assert rules["orphaned_tasks"].options["cause_rule"] == ""


def test_a_new_name_adds_a_rule(tmp_path):
    text = """
[rules.payments_backlog]
kind = "queue_depth"
severity = "critical"
threshold = 20
for = 60
cooldown = "10m"
match = { queue = ["payments*"], worker = "*@eu-*" }
"""
    rules = by_name(load_rule_book(written(tmp_path, text)))
    added = rules["payments_backlog"]
    assert len(rules) == 11
    assert (added.threshold, added.for_seconds, added.cooldown_seconds) == (20, 60, 600)
    assert added.match.queue == ("payments*",) and added.match.worker == ("*@eu-*",)
    assert added.match.allows(queue="payments-eu") and not added.match.allows(queue="mail")


def test_replace_defaults_keeps_only_the_files_rules(tmp_path):
    text = 'replace_defaults = true\n[rules.down]\nkind = "worker_offline"\nseverity = "info"\n'
    path = written(tmp_path, text)
    book = load_rule_book(path)
    assert [r.name for r in book.rules] == ["down"] and book.problems == ()
    assert book.source == f"{path} (replacing the built-in defaults)"


def test_another_kind_under_a_default_name_replaces_that_rule_whole(tmp_path):
    text = '[rules.queue_backlog]\nkind = "queue_growing"\nseverity = "info"\nwindow = "2m"\n'
    backlog = by_name(load_rule_book(written(tmp_path, text)))["queue_backlog"]
    assert (backlog.kind, backlog.threshold, backlog.for_seconds) == ("queue_growing", None, 0)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('kind = "disk_full"\nseverity = "info"', "`kind` = 'disk_full' is not a kind of rule"),
        ('kind = "worker_offline"\nseverity = "loud"', "`severity` = 'loud' is not one of"),
        ('kind = "worker_offline"\nseverity = "info"\nthresh = 3', "unknown key 'thresh'"),
        ('kind = "worker_offline"\nseverity = "info"\nper = "task"', "unknown key 'per'"),
        ('kind = "worker_offline"\nseverity = "info"\nfor = "5 minutes"', "is not a duration"),
        ('kind = "worker_offline"\nseverity = "info"\nfor = -1', "is not a duration"),
        ('kind = "queue_growing"\nseverity = "info"\nwindow = 0', "longer than 0 s"),
        ('kind = "queue_depth"\nseverity = "info"', "needs `threshold`"),
        (
            'kind = "failure_rate"\nseverity = "info"\nthreshold = 5\nwindow = "1m"\nper = "queue"',
            "`per` = 'queue' is not one of",
        ),
        (
            'kind = "failure_rate"\nseverity = "info"\nthreshold = 5\nwindow = "1m"\nmin_count = 2.5',
            "`min_count` = 2.5 is not a whole number",
        ),
        ('kind = "worker_offline"\nseverity = "info"\nmatch = { queue = [""] }', "`match.queue`"),
        (
            'kind = "worker_offline"\nseverity = "info"\nmatch = { host = ["a"] }',
            "only queue, task",
        ),
        ('kind = "worker_offline"\nseverity = "info"\nenabled = "no"', "is not true or false"),
        (
            'kind = "worker_offline"\nseverity = "info"\n[[rules.bad.mute]]\nstart = "25:00"\nend = "06:00"',
            "`start` = '25:00' is not a time of day",
        ),
        (
            'kind = "worker_offline"\nseverity = "info"\n[[rules.bad.mute]]\nstart = "22:00"\nend = "06:00"\ntimezone = "Mars/Olympus"',
            "`timezone` = 'Mars/Olympus' is not a known timezone",
        ),
        (
            'kind = "worker_offline"\nseverity = "info"\n[[rules.bad.mute]]\nstart = "22:00"\nend = "06:00"\ndays = ["someday"]',
            "`days`",
        ),
    ],
)
def test_each_problem_names_the_file_and_the_rule_and_leaves_the_rest(tmp_path, table, said):
    path = written(tmp_path, f"[rules.bad]\n{table}\n")
    book = load_rule_book(path)
    assert len(book.problems) == 1
    (problem,) = book.problems
    assert problem.startswith(f"The alerts file {path}, rule bad: ") and said in problem, problem
    assert problem.endswith("this rule is left out.")
    assert "bad" not in by_name(book) and len(book.rules) == 10


def test_a_bad_tuning_leaves_that_default_out_and_says_so(tmp_path):
    path = written(tmp_path, '[rules.queue_backlog]\nthreshold = "lots"\n')
    book = load_rule_book(path)
    assert "queue_backlog" not in by_name(book) and len(book.rules) == 9
    assert book.problems == (
        f"The alerts file {path}, rule queue_backlog: `threshold` = 'lots' is not a number ≥ 0; "
        "this rule is left out.",
    )


def test_a_toml_syntax_error_says_the_line_and_keeps_the_defaults(tmp_path):
    path = written(tmp_path, "[rules.queue_backlog]\nthreshold = 1000\nfor = 5m\n")
    book = load_rule_book(path)
    assert len(book.rules) == 10 and by_name(book)["queue_backlog"].threshold == 100
    (problem,) = book.problems
    assert problem.startswith(f"The alerts file {path} is not valid TOML (")
    assert "line 3" in problem and problem.endswith("the built-in defaults are in force.")
    assert book.source == f"built-in defaults ({path} is not valid TOML)"


def test_a_missing_file_is_one_problem_and_the_defaults_stay(tmp_path):
    path = tmp_path / "nowhere.toml"
    book = load_rule_book(path)
    said = "could not be read (No such file or directory); the built-in defaults are in force."
    assert book.problems == (f"The alerts file {path} {said}",)
    assert len(book.rules) == 10 and book.source.endswith("could not be read)")


def test_odd_top_level_keys_are_said_and_the_rules_still_load(tmp_path):
    path = written(tmp_path, "repalce_defaults = true\n[rules.new_error]\nenabled = false\n")
    book = load_rule_book(path)
    assert len(book.rules) == 9
    (problem,) = book.problems
    assert str(path) in problem and "'repalce_defaults'" in problem


def at(text: str) -> float:
    """An ISO moment with its offset → epoch seconds."""
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def test_mute_windows_wrap_midnight_on_the_day_they_start_in_their_timezone(tmp_path):
    text = """
[[rules.queue_backlog.mute]]
start = "22:00"
end = "06:00"
days = ["fri"]
timezone = "Europe/Berlin"
"""
    backlog = by_name(load_rule_book(written(tmp_path, text)))["queue_backlog"]
    # 2026-07-03 is a Friday; Berlin is UTC+2 in summer.
    assert backlog.muted_at(at("2026-07-03T22:00:00+02:00"))
    assert backlog.muted_at(at("2026-07-04T05:59:00+02:00")), "Saturday morning: Friday's window"
    assert not backlog.muted_at(at("2026-07-04T06:00:00+02:00"))
    assert not backlog.muted_at(at("2026-07-03T21:59:00+02:00"))
    assert not backlog.muted_at(at("2026-07-04T23:00:00+02:00")), "Saturday night: not muted"
    assert not backlog.muted_at(at("2026-07-04T05:00:00+00:00")), "07:00 Saturday in Berlin"
    assert backlog.muted_at(at("2026-07-03T20:30:00+00:00")), "22:30 Friday in Berlin"


def test_a_daytime_mute_window_every_day_in_utc(tmp_path):
    text = '[rules.new_error]\nmute = { start = "09:00", end = "17:30" }\n'
    rule = by_name(load_rule_book(written(tmp_path, text)))["new_error"]
    assert rule.muted_at(at("2026-07-05T17:29:00+00:00"))
    assert not rule.muted_at(at("2026-07-05T17:30:00+00:00"))
    assert not rule.muted_at(at("2026-07-05T08:59:00+00:00"))


def test_every_default_rule_evaluates_on_a_poll_that_read_everything(store):
    """The defaults' options agree with their evaluators: on a poll that read workers and
    queues and synced tasks, no default rule is "unknown" (a default once left
    runtime_regression unevaluated everywhere: its baseline window read backwards)."""
    now = polls.NOW
    task = {"uuid": "t1", "name": "a.b", "state": "SUCCESS", "received": now - 60,
            "started": now - 59, "succeeded": now - 58, "runtime": 1.0}  # fmt: skip
    store.upsert_tasks([task], now=now)
    read = polls.context(store, workers=polls.workers_at(now, w1=polls.worker(True)), depths={})
    synced = replace(read, health=replace(read.health, data_until=now))
    assert evaluate(load_rule_book(None).rules, synced).unknown == {}
