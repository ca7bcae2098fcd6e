"""Alerts on screen: the Alerts page's reads and controls, the Overview's firing strip and the
sidebar's count.

The strip and the count come from ``ClusterMonitor.firing`` (one indexed query per poll, shared
by every session); the Alerts page reads the store afresh at each run (``read_board``), so a
silence or an acknowledgement shows at once. Silence, lift a silence and acknowledge are
actions (lib/actions/alerting.py): the controls here only put one in the session as pending,
from the widgets' values at the click (read in the button's callback, so a reason typed just
before the click is the one sent); ``lib/ui/dialog.py`` confirms and performs it through the
desk, which checks the role again and audits it. A store that can't be read is said in plain
words, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from lib import time_range as ranges
from lib.actions.alerting import SILENCE_NOTE
from lib.alerts.outbox import outbox_summary
from lib.alerts.rules import RuleBook
from lib.auth import Actor, allows
from lib.errors import ConsoleError
from lib.frames import alerts as frames
from lib.monitor import ClusterMonitor
from lib.store import Store
from lib.ui import keys
from lib.ui.clusters import role_here, scoped_query
from lib.ui.controls import request_action
from lib.ui.formatting import md_escape
from lib.ui.on_demand import lazy_section
from lib.ui.readings import explain
from lib.ui.tables import table
from lib.ui.time_picker import Picker

__all__ = [
    "ALERTS_PAGE",
    "ALERT_HISTORY",
    "ALERT_LINK",
    "SILENCE_FOR",
    "AlertBoard",
    "acknowledge_control",
    "alert_detail",
    "alerts_status",
    "firing_count",
    "firing_strip",
    "lift_control",
    "read_board",
    "rules_in_force",
    "silence_control",
]

ALERTS_PAGE = "screens/alerts.py"
#: The history's range: the last 24 h first, as the Audit log's.
ALERT_HISTORY = Picker(ranges.AUDIT, "History", "alerts_span")
#: How long a silence lasts, as offered (minutes); or until a chosen time.
SILENCE_FOR = {"15 min": 15, "1 h": 60, "4 h": 240, "24 h": 1440}
UNTIL = "Until a chosen time"
#: The alerts tables' link to the alert's own page (relative: it works under any base path).
ALERT_LINK = {"link": st.column_config.LinkColumn("page", display_text="open")}
#: Firing alerts on the Overview's strip before "+ N more".
STRIP_SHOWN = 5


@dataclass(frozen=True)
class AlertBoard:
    """The Alerts page's rows, read in one go: current alerts, silences, the history."""

    current: list[dict]
    silences: list[dict]
    opened: list[dict]
    changes: list[dict]
    now: float


def read_board(store: Store, cluster: str, since: float, now: float) -> AlertBoard | None:
    """Everything the page shows, or None after saying in plain words why it can't be read."""
    try:
        current = store.current_alerts(cluster, since)
        silences = store.active_silences(cluster, now)
        opened, changes = store.alert_history(cluster, since)
    except ConsoleError as exc:
        st.error(f"The alerts can't be read from the store: {md_escape(explain(exc))}", icon="🗄️")
        return None
    return AlertBoard(current, silences, opened, changes, now)


def _link(page: str, query: dict[str, str], label: str) -> None:
    """A link to the console page at url path ``page``; plain text when it is not one."""
    try:
        st.page_link(
            f"screens/{page.replace('-', '_')}.py", label=label, query_params=scoped_query(query)
        )
    except StreamlitPageNotFoundError:  # a page this console lacks (e.g. Setup check)
        st.markdown(label)


def firing_strip(monitor: ClusterMonitor) -> None:
    """What fires now, at the top of the Overview: one line each, most urgent first, linking
    to its page, then "+ N more" to the Alerts page; nothing when nothing fires."""
    reading = monitor.firing()
    if reading.error is not None:
        st.warning(f"Alerts unreadable: {md_escape(explain(reading.error))}", icon="🔔")
        return
    items, more = frames.strip_items(reading.value or [], STRIP_SHOWN)
    for item in items:
        _link(item.page, item.query, md_escape(f"{item.badge} {item.summary}"))
    if more:
        st.page_link(
            ALERTS_PAGE,
            label=f"+ {more:,} more on the Alerts page",
            icon="🔔",
            query_params=scoped_query(),
        )


def firing_count(monitor: ClusterMonitor) -> None:
    """The sidebar's "🔔 N firing", linking to the Alerts page; nothing when nothing fires."""
    reading = monitor.firing()
    if reading.error is not None:
        st.caption("🔔 Alerts unreadable: the store can't be read.")
    elif reading.value:
        label = frames.firing_count_text(len(reading.value))
        st.page_link(ALERTS_PAGE, label=label, query_params=scoped_query())


def alert_detail(board: AlertBoard, key: str) -> None:
    """One alert's changes in the range (``?alert=<rule>/<subject>``), with a way back."""
    st.subheader(md_escape(f"Alert {key}"))
    st.button("Show all alerts", key="alerts_all", on_click=lambda: st.query_params.pop("alert"))
    changes = frames.changes_frame(board.changes, key)
    if changes.empty:
        st.info(md_escape(f"No change of {key} in this range: choose a longer one."))
        return
    table(changes, "alert-changes", csv_key="alerts_changes_csv")


def alerts_status(monitor: ClusterMonitor, webhook_set: bool, now: float) -> None:
    """What the collector said of the rules at its last poll (a bad rules file, rules it could
    not evaluate) and where the webhook's notifications stand; never the webhook's address."""
    note = monitor.readout.snapshot.alerts_note
    if note:
        st.warning(md_escape(note), icon="📄")
    try:
        summary = outbox_summary(monitor.store, monitor.health.cluster, now)
    except ConsoleError as exc:
        st.caption(md_escape(f"Notifications: unreadable ({explain(exc)})."))
        return
    st.caption(md_escape(f"Notifications: {summary.sentence(webhook_set)}"))


def rules_in_force(book: RuleBook) -> None:
    """Where the rules came from, what was wrong with the file, and the rules."""
    st.caption(md_escape(f"Rules in force: {book.source}."))
    for problem in book.problems:
        st.warning(md_escape(problem), icon="📄")
    if not book.rules:
        st.info("No rule is in force: the collector raises no alert.")
        return
    table(frames.rules_frame(book.rules), "alert-rules", csv_key="alerts_rules_csv")


def _operator(actor: Actor) -> bool:
    return allows(role_here(actor), "operator")


def _ask(action: str, target_key: str, params: dict) -> None:
    """Button callback: the pending action, for the alert picked now."""
    target = st.session_state.get(target_key)
    if target:
        request_action(action, [target], params)


def acknowledge_control(actor: Actor, firing: pd.DataFrame) -> None:
    """Pick a firing alert nobody acknowledged yet and ``Acknowledge`` it (operators)."""
    waiting = firing.loc[firing["acknowledged"] == ""]
    if not _operator(actor) or waiting.empty:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox(
        "Acknowledge: mark as being handled",
        [f"{r}/{s}" for r, s in zip(waiting["rule"], waiting["subject"], strict=True)],
        key="alerts_ack_pick",
    )
    right.button(
        "Acknowledge",
        key="alerts_ack",
        disabled=keys.PENDING in st.session_state,
        on_click=_ask,
        args=("acknowledge", "alerts_ack_pick", {}),
    )


def lift_control(actor: Actor, silences: pd.DataFrame, tz: ZoneInfo, now: float) -> None:
    """Pick a silence in force and ``Lift silence`` (operators)."""
    if not _operator(actor) or silences.empty:
        return
    rows = silences.assign(until=silences["until"].map(lambda t: t.timestamp()))
    ids = {
        int(row["id"]): f"{row['rule']}/{row['subject']} {frames.silenced_text(row, tz, now)}"
        for row in rows.to_dict("records")
    }
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox("Lift a silence", list(ids), format_func=ids.get, key="alerts_lift_pick")
    right.button(
        "Lift silence",
        key="alerts_lift",
        disabled=keys.PENDING in st.session_state,
        on_click=_ask_lift,
        args=(silences.set_index("id")[["rule", "subject"]].to_dict("index"),),
    )


def _ask_lift(by_id: dict) -> None:
    picked = st.session_state.get("alerts_lift_pick")
    if picked in by_id:
        target = f"{by_id[picked]['rule']}/{by_id[picked]['subject']}"
        params = {"silence_id": int(picked)}
        request_action("lift_silence", [target], params)


def silence_control(actor: Actor, choices: list[str], tz: ZoneInfo) -> None:
    """A closed section (operators): what to silence, for how long, why, and ``Silence``."""
    if not _operator(actor) or not choices:
        return
    section = lazy_section("Silence an alert", key="alerts_silence_section")
    if section is None:
        return
    with section:
        _silence_form(choices, tz)


def _silence_form(choices: list[str], tz: ZoneInfo) -> None:
    st.caption(md_escape(SILENCE_NOTE))
    st.selectbox("Alert to silence (rule/subject; * = every subject)", choices, key="alerts_pick")
    how = st.radio("For", [*SILENCE_FOR, UNTIL], horizontal=True, key="alerts_for")
    if how == UNTIL:
        soon = datetime.now(UTC).astimezone(tz) + timedelta(hours=2)
        day, hour = st.columns(2)
        day.date_input("Until (day)", soon.date(), key="alerts_until_day")
        start = soon.time().replace(second=0, microsecond=0)
        hour.time_input("Until (time)", start, key="alerts_until_time")
        st.caption(f"In your timezone ({tz.key}).")
    st.text_input("Reason", placeholder="deploy of etl workers", key="alerts_reason")
    st.button(
        "Silence",
        key="alerts_silence",
        disabled=keys.PENDING in st.session_state,
        on_click=_ask_silence,
        args=(tz.key,),
    )


def _ask_silence(tz_name: str) -> None:
    state = st.session_state
    how, reason = state.get("alerts_for"), str(state.get("alerts_reason") or "").strip()
    params: dict = {"reason": reason}
    if how in SILENCE_FOR:
        params["minutes"] = SILENCE_FOR[how]
    else:
        day, at = state.get("alerts_until_day"), state.get("alerts_until_time")
        params["until"] = _until(day, at, tz_name)
    _ask("silence", "alerts_pick", params)


def _until(day: date | None, at: clock_time | None, tz_name: str) -> float | None:
    """The chosen day and time in the viewer's timezone, as epoch seconds."""
    if day is None or at is None:
        return None
    return datetime.combine(day, at, ZoneInfo(tz_name)).timestamp()
