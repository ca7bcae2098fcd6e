"""The Alerts page's frames (``lib.frames.alerts``), pure: order by severity then age, times
said in the viewer's timezone, silences by subject or ``*``, episodes with their durations,
the rule book laid out, the Overview's strip items and the sidebar's count."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lib.alerts.model import Match, Mute, Rule
from lib.frames import alerts as frames
from tests.alert_rows import Episode

BERLIN = ZoneInfo("Europe/Berlin")
#: 2026-11-30 12:00 UTC = 13:00 in Berlin.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


def rows(*episodes: Episode) -> list[dict]:
    return [e.current() for e in episodes]


def test_firing_is_ordered_critical_warning_info_then_oldest_first():
    current = rows(
        Episode("queue_backlog", "etl", "warning", fired=NOW - 100),
        Episode("new_error", "e1", "info", fired=NOW - 9000),
        Episode("worker_offline", "w2", "critical", fired=NOW - 50),
        Episode("worker_offline", "w1", "critical", fired=NOW - 500),
        Episode("queue_backlog", "ml", "warning", pending=NOW - 10),
        Episode("failure_rate", "t", "critical", fired=NOW - 900, resolved=NOW - 5),
    )
    frame = frames.firing_frame(current, [], UTC, NOW)
    assert list(frame.columns) == list(frames.FIRING_COLUMNS)
    assert list(frame["subject"]) == ["w1", "w2", "etl", "e1"]
    assert frame["since"].iloc[0] == pd.Timestamp(NOW - 500, unit="s", tz="UTC")
    pending = frames.pending_frame(current, [], UTC, NOW)
    assert list(pending["subject"]) == ["ml"]
    assert list(pending.columns) == list(frames.PENDING_COLUMNS)


def test_acknowledged_and_silenced_are_said_in_the_viewers_timezone():
    current = rows(
        Episode("worker_offline", "w1", "critical", fired=NOW - 60, acked=("olga", NOW - 30)),
        Episode("queue_backlog", "etl", fired=NOW - 60),
        Episode("queue_backlog", "ml", fired=NOW - 60),
    )
    silences = [
        {"rule": "queue_backlog", "subject": "*", "until": NOW + 3600, "by": "ada"},
        {"rule": "queue_backlog", "subject": "etl", "until": NOW + 7200, "by": "olga"},
        {"rule": "queue_backlog", "subject": "etl", "until": NOW + 60, "by": "vic"},
    ]
    frame = frames.firing_frame(current, silences, BERLIN, NOW).set_index("subject")
    assert frame.loc["w1", "acknowledged"] == "olga at 12:59"
    assert frame.loc["w1", "silenced"] == ""
    assert frame.loc["etl", "silenced"] == "until 15:00 by olga", "the longest silence holds"
    assert frame.loc["ml", "silenced"] == "until 14:00 by ada", "the rule's '*' covers it"
    assert frame.loc["etl", "acknowledged"] == ""


def test_a_time_on_another_day_carries_its_date():
    tomorrow = {"rule": "r", "subject": "*", "until": NOW + 12 * 3600, "by": "olga"}
    assert frames.silenced_text(tomorrow, BERLIN, NOW) == "until 2026-12-01 01:00 by olga"
    assert frames.silenced_text(tomorrow, UTC, NOW) == "until 2026-12-01 00:00 by olga"
    assert frames.silenced_text(None, UTC, NOW) == ""


def test_episodes_from_firing_to_resolved_newest_first_with_open_ones_still_firing():
    earlier = Episode("worker_offline", "w1", fired=NOW - 7200, resolved=NOW - 3000)
    again = Episode("worker_offline", "w1", fired=NOW - 600)
    inside = Episode(
        "queue_backlog", "etl", pending=NOW - 1000, fired=NOW - 900, resolved=NOW - 300
    )
    opened = [c for c in earlier.changes() if c["state"] == "firing"]  # open at NOW - 3600
    changes = sorted(
        [c for c in earlier.changes() if c["at"] >= NOW - 3600]
        + again.changes()
        + inside.changes(),
        key=lambda c: c["at"],
    )
    frame = frames.episodes_frame(opened, changes, NOW)
    assert list(frame.columns) == list(frames.EPISODE_COLUMNS)
    assert list(zip(frame["subject"], frame["status"], frame["seconds"], strict=True)) == [
        ("w1", "still firing", 600.0),
        ("etl", "resolved", 600.0),
        ("w1", "resolved", 4200.0),
    ]
    assert list(frame["lasted"]) == ["still firing (10 min so far)", "10 min", "1 h 10 min"]
    assert pd.isna(frame["resolved"].iloc[0])
    assert frame["fired"].iloc[2] == pd.Timestamp(NOW - 7200, unit="s", tz="UTC")


def test_a_resolution_whose_firing_the_store_no_longer_holds_is_left_out():
    lost = Episode("worker_offline", "w1", fired=NOW - 7200, resolved=NOW - 100)
    resolved_only = [c for c in lost.changes() if c["state"] == "resolved"]
    assert frames.episodes_frame([], resolved_only, NOW).empty


def test_the_rules_in_force_are_laid_out_as_the_book_holds_them():
    rule = Rule(
        "queue_backlog",
        "queue_depth",
        "warning",
        threshold=100,
        for_seconds=300,
        match=Match(queue=("etl*", "ml")),
        mutes=(Mute(time(22), time(6), ("mon",), "Europe/Berlin"),),
        options={"per": "queue"},
        description="Too many messages wait.",
    )
    frame = frames.rules_frame([rule, Rule("worker_offline", "worker_offline", "critical")])
    assert list(frame.columns) == list(frames.RULE_COLUMNS)
    first = frame.iloc[0]
    assert (first["rule"], first["threshold"], first["for_seconds"]) == ("queue_backlog", 100, 300)
    assert first["applies_to"] == "queue etl*, ml"
    assert first["mutes"] == "22:00–06:00 Europe/Berlin (mon)"
    assert first["options"] == "per = queue"
    assert frame.iloc[1]["applies_to"] == "everything" and frame.iloc[1]["mutes"] == ""
    assert frames.rules_frame([]).empty


def test_strip_items_link_to_each_alerts_page_most_urgent_first_and_count_the_rest():
    firing = rows(
        Episode("queue_backlog", "etl", "warning", fired=NOW - 100, summary="Queue etl backs up"),
        Episode("worker_offline", "w1@h", "critical", fired=NOW - 50, summary="w1@h is offline"),
        Episode("failure_rate", "t.a", "critical", fired=NOW - 10),
    )
    items, more = frames.strip_items(firing, shown=2)
    assert more == 1
    assert items[0] == frames.StripItem(
        "critical", "🔴", "w1@h is offline", "workers", {"worker": "w1@h"}
    )
    assert (items[1].page, items[1].query) == ("tasks", {"name": "t.a", "state": "FAILURE"})
    assert frames.strip_items([], shown=3) == ([], 0)
    assert frames.link_target("setup-check") == ("setup-check", {})
    assert frames.firing_count_text(1234) == "🔔 1,234 firing"


def test_empty_inputs_give_empty_frames_with_their_columns():
    assert list(frames.firing_frame([], [], UTC, NOW).columns) == list(frames.FIRING_COLUMNS)
    assert list(frames.silences_frame([]).columns) == list(frames.SILENCE_COLUMNS)
    assert frames.episodes_frame([], [], NOW).empty


def test_silence_choices_are_the_alerts_then_each_rule_for_every_subject():
    current = rows(
        Episode("queue_backlog", "etl", pending=NOW - 10),
        Episode("worker_offline", "w1", "critical", fired=NOW - 60),
        Episode("failure_rate", "t", fired=NOW - 900, resolved=NOW - 5),
    )
    book = [
        Rule("worker_offline", "worker_offline", "critical"),
        Rule("new_error", "new_error", "info"),
    ]
    assert frames.silence_choices(current, book) == [
        "worker_offline/w1",
        "queue_backlog/etl",
        "failure_rate/t",
        "worker_offline/*",
        "new_error/*",
        "queue_backlog/*",
        "failure_rate/*",
    ]


@pytest.mark.parametrize(("rules", "said"), [(0, "0 rules"), (1, "1 rule"), (9, "9 rules")])
def test_the_empty_state_counts_the_rules(rules, said):
    assert frames.nothing_firing(rules) == (
        f"Nothing is firing. The collector evaluates {said} every poll."
    )


def test_one_alerts_changes_newest_first_and_only_its_own():
    mine = Episode("worker_offline", "w1", fired=NOW - 600, resolved=NOW - 60, value=1.0)
    other = Episode("worker_offline", "w2", fired=NOW - 300)
    ordered = sorted(mine.changes() + other.changes(), key=lambda c: c["at"])
    changes = [c | {"id": i} for i, c in enumerate(ordered, 1)]  # as the store numbers them
    frame = frames.changes_frame(changes, "worker_offline/w1")
    assert list(frame.columns) == list(frames.CHANGE_COLUMNS)
    assert list(frame["state"]) == ["resolved", "firing", "pending"]
    assert frame["at"].iloc[0] == pd.Timestamp(NOW - 60, unit="s", tz="UTC")
    assert frames.changes_frame(changes, "worker_offline/w9").empty
