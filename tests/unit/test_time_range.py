"""Time ranges: presets, custom days in the viewer's zone, and no bound, resolved to UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lib import time_range as tr

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("choice", "back"),
    [("Last 15 minutes", timedelta(minutes=15)), ("Last 7 days", timedelta(days=7))],
    ids=["15-minutes", "7-days"],
)
def test_an_analytics_preset_ends_now(choice, back):
    assert tr.resolve(tr.ANALYTICS, choice, NOW, BERLIN) == (NOW - back, NOW)


def test_a_tasks_preset_has_no_end():
    assert tr.resolve(tr.TASKS, "Last hour", NOW, BERLIN) == (NOW - timedelta(hours=1), None)


@pytest.mark.parametrize(
    ("menu", "choice"), [(tr.TASKS, "Any time"), (tr.AUDIT, "Everything")], ids=["tasks", "audit"]
)
def test_no_bound_choices(menu, choice):
    assert tr.resolve(menu, choice, NOW, BERLIN) == (None, None)


def test_the_audit_log_reaches_back_30_days():
    assert tr.resolve(tr.AUDIT, "Last 30 days", NOW, UTC) == (NOW - timedelta(days=30), None)


def test_custom_days_are_whole_days_in_the_viewers_zone():
    start, end = tr.resolve(
        tr.ANALYTICS, "Custom", NOW, BERLIN, (date(2026, 3, 1), date(2026, 3, 2))
    )
    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # midnight in Berlin (UTC+1)
    assert end.astimezone(BERLIN).date() == date(2026, 3, 2)
    assert end == datetime(2026, 3, 2, 22, 59, 59, 999999, tzinfo=UTC)
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_custom_without_both_dates_has_no_bounds():
    assert tr.resolve(tr.TASKS, "Custom", NOW, BERLIN, (date(2026, 3, 1),)) == (None, None)


def test_default_dates_are_yesterday_and_today_where_the_viewer_is():
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # already the 11th in Berlin
    assert tr.default_dates(late, BERLIN) == (date(2026, 3, 10), date(2026, 3, 11))


def test_menus_keep_each_pages_choices_and_default():
    assert tr.TASKS.choices[0] == tr.TASKS.default == "Any time"
    assert tr.AUDIT.choices[-1] == "Everything" and tr.AUDIT.default == "Last 24 hours"
    assert tr.ANALYTICS.default == "Last hour" and tr.ANALYTICS.choices[-1] == "Custom"
    for menu in (tr.ANALYTICS, tr.TASKS, tr.AUDIT):
        assert menu.default in menu.choices


def test_scope_and_custom_label():
    assert tr.scope("Last 7 days") == "the last 7 days"
    label = tr.custom_label((date(2026, 1, 1), date(2026, 1, 7)))
    assert label == "2026-01-01 – 2026-01-07"
    assert tr.scope(label) == f"the range {label}"
