"""Alerts: what fires now, what is pending, what is silenced, the recent history with
durations, and the rules in force; operators acknowledge, silence and lift silences."""

import time

import streamlit as st

from lib import ui
from lib.alerts.rules import load_rule_book
from lib.frames import alerts as frames

console = ui.page("Alerts")
monitor = console.monitor
actor = ui.current_actor(console.settings)
tz = ui.viewer_tz()
book = load_rule_book(console.settings.alerts_file)
# The history's picker sits in its section, below what fires; it is asked first (the reads
# need its range), so the sections are placed first and filled in order after.
now_box, history_box = st.container(), st.container()
with history_box:
    st.subheader("History")
    span = ui.time_range(ui.ALERT_HISTORY)
now = time.time()
since = span.start.timestamp() if span.start else 0.0  # "Everything": the whole history
with now_box:
    board = ui.read_board(monitor.store, monitor.health.cluster, since, now)
if board is None:
    st.stop()

with now_box:
    st.caption(f"Times in your timezone ({tz}). The collector evaluates the rules each poll.")
    ui.alerts_status(monitor, bool(console.settings.alert_webhook), now)
    if picked := st.query_params.get("alert"):  # ?alert=<rule>/<subject>: its changes first
        ui.alert_detail(board, picked)
    st.subheader("Firing now")
    firing = frames.firing_frame(board.current, board.silences, tz, now)
    if firing.empty:
        st.success(frames.nothing_firing(len(book.rules)), icon="✅")
    else:
        ui.table(firing, "alerts-firing", csv_key="alerts_firing_csv", columns=ui.ALERT_LINK)
        ui.acknowledge_control(actor, firing)

    st.subheader("Pending")
    pending = frames.pending_frame(board.current, board.silences, tz, now)
    if pending.empty:
        st.caption("None: no condition holds that has not fired yet.")
    else:
        st.caption("Their condition holds, not yet for as long as the rule's `for` duration.")
        ui.table(pending, "alerts-pending", csv_key="alerts_pending_csv", columns=ui.ALERT_LINK)

    st.subheader("Silenced")
    silences = frames.silences_frame(board.silences)
    if silences.empty:
        st.caption("No silence in force.")
    else:
        ui.table(silences, "alerts-silences", csv_key="alerts_silences_csv")
        ui.lift_control(actor, silences, tz, now)
    ui.silence_control(actor, frames.silence_choices(board.current, book.rules), tz)

with history_box:
    episodes = frames.episodes_frame(board.opened, board.changes, now)
    if episodes.empty:  # the table stays, as the Audit log's: its columns say what it would hold
        st.caption(f"No alert fired in the {span.label.lower()}.")
    ui.table(episodes, "alerts-history", csv_key="alerts_history_csv")

st.subheader("Rules in force")
ui.rules_in_force(book)
ui.action_dialog(console, actor)
