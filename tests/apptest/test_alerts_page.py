"""The Alerts page, the Overview's firing strip and the sidebar's count through AppTest on a
recorded Flower served over HTTP, with alerts written into the console's real store as the
collector's state machine writes them: firing, pending, history with durations, the empty
state; silence, lift and acknowledge as an operator (audited, shown); a viewer refused by the
desk; a store that fails said in plain words."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from lib.alerts.rules import load_rule_book
from lib.audit import AuditLog
from lib.frames import alerts as frames
from lib.store import Store
from lib.store.engine import writing
from tests.alert_rows import Episode, seed
from tests.apptest.conftest import open_page, open_section, plain, texts
from tests.apptest.test_access import go, log_in, users_on  # noqa: F401 (a fixture)


def store_of(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'ops-data' / 'store.sqlite3'}")


def audit_rows(tmp_path):
    return AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()


def table_with(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


@pytest.fixture
def seeded(recorded_flower, tmp_path, monkeypatch):
    """A worker offline firing for 10 min, a backlog pending, a failure rate that fired for
    20 min an hour ago; every row in the console's own store. The console runs no collector
    (OPS_COLLECTOR=external): these rows stand for what one wrote, and a collector of the
    console's own would judge them again on the recorded Flower (and resolve them)."""
    monkeypatch.setenv("OPS_COLLECTOR", "external")
    now = time.time()
    store = store_of(tmp_path)
    seed(
        store,
        Episode("worker_offline", "w1@vm", "critical", fired=now - 600,
                summary="Worker w1@vm has sent no heartbeat for 10 min"),
        Episode("queue_backlog", "etl", pending=now - 30, summary="Queue etl holds 150"),
        Episode("failure_rate", "demo.add", "critical", fired=now - 4800, resolved=now - 3600,
                summary="demo.add fails 40 % of its runs"),
    )  # fmt: skip
    store.close()
    return recorded_flower


def test_the_page_shows_firing_pending_history_and_the_rules(seeded):
    at = open_page("Alerts", tz="Europe/Berlin")
    assert not at.exception
    said = texts(at)
    assert "Times in your timezone (Europe/Berlin)" in said
    firing = table_with(at, "acknowledged")
    assert list(firing["subject"]) == ["w1@vm"] and list(firing["link"]) == ["workers?worker=w1@vm"]
    pending = table_with(at, "pending_since")
    assert list(pending["subject"]) == ["etl"]
    history = table_with(at, "lasted")
    lasted = dict(zip(history["subject"], history["lasted"], strict=True))
    assert lasted["demo.add"] == "20 min"
    # Seeded 10 min before the page's run: the seconds since are the test's own pace.
    assert re.fullmatch(r"still firing \(10 min( \d+ s)? so far\)", lasted["w1@vm"])
    assert f"Rules in force: {load_rule_book(None).source}." in said
    assert {b.label for b in at.get("download_button")} == {"Download CSV", "Download JSON"}


def test_nothing_firing_says_so_with_the_rules_evaluated(recorded_flower):
    at = open_page("Alerts")
    assert not at.exception
    rules = len(load_rule_book(None).rules)
    assert [s.value for s in at.success] == [frames.nothing_firing(rules)]
    assert "No alert fired in the last 24 hours." in texts(at)
    assert table_with(at, "lasted").empty, "the history's empty table, with its Download CSV"
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("Download CSV") == labels.count("Download JSON") == 2, "history, rules"


def queue_refused_notification(tmp_path) -> None:
    """A notification the webhook refused twice, its next attempt in 30 s."""
    store = store_of(tmp_path)
    with writing(store.engine) as conn:
        change = conn.execute(text("SELECT min(id) FROM alert_changes")).scalar()
        conn.execute(
            text(
                "INSERT INTO alert_deliveries (cluster, change_id, payload, status, attempts,"
                " created_at, next_at, last_error) VALUES ('default', :change, '{}', 'queued', 2,"
                " :now, :later, 'the webhook answered 503 (Service Unavailable)')"
            ),
            {"change": change, "now": time.time(), "later": time.time() + 30},
        )
    store.close()


def notifications_line(at) -> str:
    (said,) = [plain(c.value) for c in at.caption if c.value.startswith("Notifications:")]
    return said


def test_without_a_webhook_the_page_says_notifications_wait(seeded, tmp_path):
    queue_refused_notification(tmp_path)
    at = open_page("Alerts")
    assert not at.exception
    said = notifications_line(at)
    assert (
        "No webhook is set (OPS_ALERT_WEBHOOK)" in said
        and "1 notification waits in the outbox" in said
    )


def test_the_page_says_where_notifications_stand_never_the_webhook(
    seeded, tmp_path, monkeypatch, closed_port
):
    queue_refused_notification(tmp_path)
    monkeypatch.setenv("OPS_ALERT_WEBHOOK", f"http://127.0.0.1:{closed_port}/T0/s3cretTok")
    at = open_page("Alerts")
    assert not at.exception
    said = notifications_line(at)
    assert "1 waiting: next attempt in" in said
    assert "Last error: the webhook answered 503" in said
    assert "s3cretTok" not in texts(at), "the webhook's address is never on the page"


def test_the_overview_strip_and_the_sidebar_count_link_what_fires(seeded):
    at = open_page("Overview")
    assert not at.exception
    links = [(link.label, link.proto.page) for link in at.get("page_link")]
    assert ("🔴 Worker w1@vm has sent no heartbeat for 10 min", "workers") in links
    assert ("🔔 1 firing", "alerts") in links


def test_nothing_on_the_strip_or_in_the_sidebar_when_nothing_fires(recorded_flower):
    at = open_page("Overview")
    labels = [link.label for link in at.get("page_link")]
    assert not any("firing" in label or label.startswith("🔴") for label in labels)


def test_an_operator_silences_an_alert_for_an_hour_audited_and_shown(seeded, users_on, tmp_path):  # noqa: F811
    at = go(log_in("olga"), "Alerts")
    at = open_section(at, "alerts_silence_section")
    at.selectbox(key="alerts_pick").set_value("worker_offline/w1@vm")
    at.radio(key="alerts_for").set_value("1 h")
    at.text_input(key="alerts_reason").input("replacing the host")
    at.button(key="alerts_silence").click().run()
    assert not at.exception
    assert "Silence on worker_offline/w1@vm" in texts(at)
    assert store_of(tmp_path).active_silences("default", time.time()) == [], "not before Confirm"
    before = time.time()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    store = store_of(tmp_path)
    (silence,) = store.active_silences("default", time.time())
    assert (silence["rule"], silence["subject"], silence["by"], silence["reason"]) == (
        "worker_offline", "w1@vm", "olga", "replacing the host",
    )  # fmt: skip
    assert before + 3600 - 5 <= silence["until"] <= time.time() + 3600
    row = next(r for r in audit_rows(tmp_path) if r.action == "silence")
    assert (row.user, row.role, row.outcome, row.targets) == (
        "olga", "operator", "sent", ["worker_offline/w1@vm"],
    )  # fmt: skip
    at.run()
    firing = table_with(at, "acknowledged")
    # "until 14:00 by olga"; with the date once the hour crosses midnight (UTC here)
    assert firing.loc[0, "silenced"] == frames.silenced_text(silence, UTC, time.time())
    assert firing.loc[0, "silenced"].endswith(" by olga")
    assert list(table_with(at, "reason")["reason"]) == ["replacing the host"]
    # … and lifted again, audited too.
    at.button(key="alerts_lift").click().run()
    at.button(key="dialog_confirm").click().run()
    assert store.active_silences("default", time.time()) == []
    assert [r.action for r in audit_rows(tmp_path)][:2] == ["lift_silence", "silence"]


def test_an_operator_acknowledges_a_firing_alert(seeded, users_on, tmp_path):  # noqa: F811
    at = go(log_in("olga"), "Alerts")
    assert at.selectbox(key="alerts_ack_pick").value == "worker_offline/w1@vm"
    at.button(key="alerts_ack").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    at.run()
    firing = table_with(at, "acknowledged")
    assert firing.loc[0, "acknowledged"].startswith("olga at ")
    row = next(r for r in audit_rows(tmp_path) if r.action == "acknowledge")
    assert (row.user, row.outcome) == ("olga", "sent")
    assert not [b for b in at.button if b.key == "alerts_ack"], "nothing left to acknowledge"


def test_a_viewer_sees_no_controls_and_a_forged_silence_is_refused_and_audited(
    seeded,
    users_on,  # noqa: F811
    tmp_path,
):
    at = go(log_in("vic"), "Alerts")
    assert not at.exception
    keys = {b.key for b in at.button}
    assert not keys & {"alerts_ack", "alerts_silence", "alerts_lift"}
    assert not [e for e in at.expander if "Silence" in str(e.label)]
    at.session_state["pending_action"] = {
        "action": "silence",
        "targets": ["worker_offline/w1@vm"],
        "params": {"minutes": 60, "reason": "forged"},
        "op_id": "forged-silence",
    }
    at.run()
    at.button(key="dialog_confirm").click().run()
    assert store_of(tmp_path).active_silences("default", time.time()) == []
    row = audit_rows(tmp_path)[0]
    assert (row.user, row.role, row.action, row.outcome) == ("vic", "viewer", "silence", "refused")


def test_a_store_that_fails_is_said_in_plain_words(seeded, tmp_path):
    store = store_of(tmp_path)
    with writing(store.engine) as conn:  # the alert tables gone: every read of them fails
        conn.execute(text("DROP TABLE alert_deliveries"))
        conn.execute(text("DROP TABLE alert_changes"))
        conn.execute(text("DROP TABLE alerts"))
    at = open_page("Alerts")
    assert not at.exception
    assert "The alerts can't be read from the store" in texts(at)
    at = open_page("Overview")
    assert not at.exception
    assert "Alerts unreadable" in texts(at)


def test_a_silence_until_a_chosen_time_is_that_time_in_the_viewers_timezone(
    seeded,
    users_on,  # noqa: F811
    tmp_path,
):
    at = log_in("olga")
    at.context["timezone"] = "America/New_York"
    at = open_section(go(at, "Alerts"), "alerts_silence_section")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    at.selectbox(key="alerts_pick").set_value("queue_backlog/*")
    at.radio(key="alerts_for").set_value("Until a chosen time").run()
    assert "In your timezone (America/New_York)." in texts(at)
    at.date_input(key="alerts_until_day").set_value(day)
    at.time_input(key="alerts_until_time").set_value(dt_time(9, 30))
    at.text_input(key="alerts_reason").input("etl backfill")
    at.button(key="alerts_silence").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    (silence,) = store_of(tmp_path).active_silences("default", time.time())
    wanted = datetime.combine(day, dt_time(9, 30), ZoneInfo("America/New_York")).timestamp()
    assert (silence["subject"], silence["until"]) == ("*", wanted)


def test_a_deep_link_opens_one_alerts_changes(seeded):
    at = open_page("Alerts", {"alert": "failure_rate/demo.add"}, tz="Europe/Berlin")
    assert not at.exception
    assert "Alert failure_rate/demo.add" in texts(at)
    changes = table_with(at, "state")
    assert list(changes["state"]) == ["resolved", "firing", "pending"], "the newest first"
    at = open_page("Alerts", {"alert": "worker_offline/nobody"})
    assert "No change of worker_offline/nobody in this range" in texts(at)
