"""How the history rules say spans, moments and links, and read their numeric options."""

from __future__ import annotations

import pytest

from lib.alerts.telling import CannotTell, number_option
from lib.alerts.wording import clock, error_group_link, span, task_name_link
from tests.unit.alerts.history_rules import NOW, rule


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (40, "40 s"),
        (119.6, "120 s"),
        (300.02, "5 min"),
        (3600, "1 h"),
        (5400, "1.5 h"),
        (200_000, "2.3 d"),
    ],
)
def test_span(seconds, said):
    assert span(seconds) == said


def test_clock_gives_the_date_only_when_not_today():
    assert clock(NOW, NOW) == "20:28 UTC"
    assert clock(NOW - 86400, NOW) == "2026-05-27 20:28 UTC"


def test_links_quote_their_values():
    assert task_name_link("shop.pay") == "tasks?name=shop.pay"
    assert task_name_link("a b&c=d") == "tasks?name=a%20b%26c%3Dd"
    assert error_group_link("0bfdf09c89cc") == "tasks?error_group=0bfdf09c89cc"


@pytest.mark.parametrize(
    ("value", "why"), [(True, "not a number"), ("3", "not a number"), (-1, "below 0")], ids=str
)
def test_number_option_refuses_in_plain_words(value, why):
    with pytest.raises(CannotTell, match=why):
        number_option(rule("missed_runs", options={"misses": value}), "misses", 3)
    assert number_option(rule("missed_runs"), "misses", 3) == 3.0
