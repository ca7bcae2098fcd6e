"""The action dialog: confirm the pending action, perform it once, report and follow up.

The state machine lives in session state (``lib/ui/keys.py``): a button sets ``keys.PENDING``; the
dialog shows what the declaration asks (a task action's dry run, a queue's waiting messages,
typed names — Confirm waits for the exact name —, "retry again"),
and Confirm performs it through ``ActionDesk.perform`` once per operation id (a double click
acts once). The result is toasted once; a bulk action that stopped early offers the unsent rest
as a new action with its own confirmation. For a few seconds after, pages follow Flower.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from lib.actions import ACTIONS, ActionDesk, ActionResult, ActionSpec, Choice, RetryAgain, TypeName
from lib.audit import AuditError, AuditLog
from lib.auth import Actor
from lib.errors import ConsoleError
from lib.monitor import ClusterMonitor
from lib.ui import keys
from lib.ui.controls import request_action
from lib.ui.formatting import md_escape, viewer_tz
from lib.ui.queue_pause import fan_out_preview
from lib.ui.wiring import Console

__all__ = ["AFTER_ACTION_WAIT", "FOLLOW_SECONDS", "action_dialog", "follow_up", "poll_after"]


def action_dialog(console: Console, actor: Actor) -> ActionResult | None:
    """Open the pending action's confirmation, if any; return (once) the last result."""
    pending = st.session_state.get(keys.PENDING)
    if pending:
        title = f"{ACTIONS[pending['action']].label}?"
        st.dialog(title, width="large", on_dismiss=_clear_pending)(_confirm)(
            console, actor, pending
        )
    result = st.session_state.pop(keys.ACTION_RESULT, None)
    if result is not None:
        icon = "✅" if result.ok else ("⛔" if result.outcome == "refused" else "⚠️")
        st.toast(md_escape(result.message), icon=icon)
    _offer_the_rest()
    return result


def _clear_pending() -> None:
    st.session_state.pop(keys.PENDING, None)


def _offer_the_rest() -> None:
    """After a bulk action stopped early: what happened, and the rest as a new action."""
    unsent = st.session_state.get(keys.UNSENT)
    if not unsent:
        return
    st.warning(md_escape(unsent["message"]), icon="⚠️")
    left, right, _ = st.columns([2, 1, 3])
    left.button(
        f"Send the {len(unsent['targets']):,} not sent",
        key=keys.SEND_REST,
        on_click=_send_rest,
        disabled=keys.PENDING in st.session_state,
    )
    right.button(
        "Dismiss", key=keys.DISMISS_REST, on_click=st.session_state.pop, args=(keys.UNSENT, None)
    )


def _send_rest() -> None:
    # A new operation id: the rest is a new action with its own confirmation and audit row.
    unsent = st.session_state.pop(keys.UNSENT)
    request_action(unsent["action"], unsent["targets"], unsent["params"])


def _confirm(console: Console, actor: Actor, pending: dict) -> None:
    desk = console.desk
    spec = ACTIONS[pending["action"]]
    params = dict(pending["params"])
    if spec.target == "task":
        ready = _task_preview(desk, pending)
    elif spec.workers_of is not None:  # pause, resume: sent to the queue's workers
        ready = True
        st.text(f"{spec.label} queue {pending['targets'][0]}")
        fan_out_preview(desk, spec, pending)
        st.caption(md_escape(spec.note))
    elif spec.target == "queue":
        ready = _queue_preview(desk, pending, params)
    else:
        ready = True
        st.text(f"{spec.label} on {pending['targets'][0]}")
        shown = {k: v for k, v in params.items() if k not in spec.asked}
        if shown:
            st.dataframe(pd.DataFrame([shown]), hide_index=True)
    ready = _dialog_inputs(console.audit, spec, pending, params, ready)
    left, right = st.columns(2)
    if left.button("Confirm", type="primary", key=keys.DIALOG_CONFIRM, disabled=not ready):
        done = st.session_state.setdefault(keys.DONE_OPS, set())
        still_pending = st.session_state.get(keys.PENDING, {}).get("op_id") == pending["op_id"]
        if still_pending and pending["op_id"] not in done:  # a double click acts once
            done.add(pending["op_id"])
            _perform(desk, actor, pending, params)
            _await_the_change(console.monitor)
        _clear_pending()
        st.rerun()
    # A click inside a dialog reruns only the dialog: close it with a full rerun.
    if right.button("Cancel", key=keys.DIALOG_CANCEL):
        _clear_pending()
        st.rerun()


def _perform(desk: ActionDesk, actor: Actor, pending: dict, params: dict) -> None:
    """Send with a progress bar; keep the result, and the unsent rest when sending stopped."""
    action, targets = pending["action"], pending["targets"]
    spec = ACTIONS[action]
    bar = st.progress(0.0, text=f"Sending 0 of {len(targets):,}…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Sent {done:,} of {total:,}…")

    result = desk.perform(actor, action, targets, params, pending["op_id"], progress=progress)
    st.session_state[keys.ACTION_RESULT] = result
    if result.not_sent:
        # What the dialog asked is asked again: the rest is confirmed anew.
        rest = {k: v for k, v in params.items() if k not in spec.asked}
        st.session_state[keys.UNSENT] = {
            "action": action,
            "targets": list(result.not_sent),
            "params": rest,
            "message": result.message,
        }
    if spec.reveals and result.ok:
        st.session_state[keys.REVEALED] = targets[0]
    st.session_state[keys.ACTED_AT] = datetime.now(UTC).timestamp()


def _await_the_change(monitor: ClusterMonitor) -> None:
    """After a send, wake the collector and wait (at most ``AFTER_ACTION_WAIT`` s) for a poll
    that started after it, so the rerun shows the new state, as an operator expects; else the
    result says when it will show."""
    result = st.session_state.get(keys.ACTION_RESULT)
    if result is None or result.outcome not in ("sent", "partial"):
        return
    spec = ACTIONS[result.action]
    if spec.reveals or spec.in_store:  # nothing in the cluster changed
        return
    with st.spinner("Waiting for the collector's next poll…"):
        seen = poll_after(monitor, time.time(), AFTER_ACTION_WAIT)
    if not seen:
        later = (
            f" The collector's next poll (every {monitor.settings.poll_seconds:g} s) will show "
            "the change."
        )
        st.session_state[keys.ACTION_RESULT] = replace(result, message=result.message + later)


def poll_after(monitor: ClusterMonitor, since: float, timeout: float) -> bool:
    """Wake the collector and wait up to ``timeout`` s until a poll that started at or after
    ``since`` (epoch s) has ended; True when one has. An external collector (``./ops collect``)
    is not this process's to wake or wait for: False at once."""
    if monitor.settings.collector != "embedded":
        return False
    deadline = time.monotonic() + timeout
    monitor.readout.wake()
    while (monitor.health.last_attempt or 0.0) < since:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        # A poll under way when the action was sent started before it: wait for the next.
        monitor.readout.wait_polled(monitor.version, left)
    return True


def _task_preview(desk: ActionDesk, pending: dict) -> bool:
    """The dry run of a task action: the bulk limit first (nothing is looked up over it)."""
    if too_many := desk.limit_refusal(len(pending["targets"])):
        st.error(md_escape(too_many))
        return False
    # Kept with the pending action: a rerun of the dialog must not read every task again.
    preview = pending.get("preview") or desk.preview(pending["action"], pending["targets"])
    pending["preview"] = preview
    return _show_preview(preview)


def _queue_preview(desk: ActionDesk, pending: dict, params: dict) -> bool:
    """The messages waiting in the queue, read from the broker once per dialog: the count the
    operator confirms, audited beside the count the broker reports removed."""
    queue = pending["targets"][0]
    if "previewed" not in pending:
        try:
            pending["previewed"] = desk.queue_depth(queue)
        except ConsoleError as exc:  # no usable broker, or it is down: nothing can be sent
            st.error(f"{md_escape(exc)} Nothing was sent.")
            return False
    params["previewed"] = count = pending["previewed"]
    st.write(f"**{count:,}** message(s) wait in queue **{md_escape(queue)}** now.")
    st.caption(md_escape(ACTIONS[pending["action"]].note))
    return True


def _gone_note(preview) -> None:
    """Before the click: what this action can still do to tasks Flower no longer holds."""
    if not preview.gone:
        return
    held = "this task" if len(preview.gone) == 1 else f"{len(preview.gone):,} of these tasks"
    st.info(
        f"Flower no longer holds {held}; the store keeps the last state it saw. "
        f"{ACTIONS[preview.action].gone}",
        icon="🗄️",
    )


def _orphaned_note(preview) -> None:
    """Before a Retry: why tasks Flower still shows running are re-sent (``checks.orphaned``)."""
    if preview.action != "retry" or not preview.orphaned:
        return
    n = len(preview.orphaned)
    which = "this task is" if n == 1 else f"{n:,} of these tasks are"
    st.info(
        f"{which.capitalize()} orphaned: Flower still says it runs, but its worker went "
        "offline or restarted since it started, so no process runs it and none will finish "
        "it; Retry re-sends its call. (A worker cut off from the broker rather than dead may "
        "still run it: check the worker first.)",
        icon=":material/flag:",
    )


def _dialog_inputs(
    audit: AuditLog, spec: ActionSpec, pending: dict, params: dict, ready: bool
) -> bool:
    """What the action's declaration asks in the dialog; False while Confirm must wait."""
    for item in spec.asks:
        key = keys.dialog_input(item.param)
        if isinstance(item, Choice):
            params[item.param] = st.selectbox(item.label, item.options, key=key)
        elif isinstance(item, TypeName):  # the desk checks it again: this only guides
            params[item.param] = st.text_input(item.label, key=key)
            ready = ready and params[item.param] == pending["targets"][0]
        elif isinstance(item, RetryAgain) and ready:
            ready = _retry_again(audit, pending["preview"], params, item)
    return ready


def _show_preview(preview) -> bool:
    st.write(f"**{preview.count}** task(s) will be affected.")
    _gone_note(preview)
    _orphaned_note(preview)
    # Every reason in full, as text, above the tables (a table cell cuts long sentences).
    for reason in preview.reasons:
        st.warning(md_escape(reason))
    if preview.sample:
        st.dataframe(pd.DataFrame(list(preview.sample)), hide_index=True)
    if preview.skipped:
        skipped = pd.DataFrame(list(preview.skipped), columns=["task", "why"])
        st.dataframe(skipped, hide_index=True)
    return preview.count > 0


def _retry_again(audit: AuditLog, preview, params: dict, item: RetryAgain) -> bool:
    """Warn about tasks retried before; Confirm needs 'Retry again anyway' ticked."""
    try:
        earlier = audit.earlier_retries(preview.eligible)
    except AuditError as exc:  # nothing can be sent unaudited anyway: say why, allow no Confirm
        st.error(f"{md_escape(exc)} Nothing can be sent until the audit log works again.")
        return False
    if not earlier:
        return True
    tz = viewer_tz()
    lines = [
        f"- task {md_escape(t)} was {md_escape(found[-1].describe(tz))}"
        for t, found in earlier.items()
    ]
    more = f"\n- and {len(lines) - 10} more" if len(lines) > 10 else ""
    st.warning(
        f"{len(earlier)} of these task(s) were retried before; retrying again sends another "
        "copy:\n" + "\n".join(lines[:10]) + more,
        icon="🔁",
    )
    again = st.checkbox(item.label, key=keys.dialog_input(item.param))
    if again:
        params[item.param] = sorted({e.audit_id for found in earlier.values() for e in found})
    return again


#: After a send, the rerun waits at most this long for the collector's next poll: the new
#: state then shows at once (Sidekiq and Oban show it), and a hung Flower delays no one long.
AFTER_ACTION_WAIT = 2.0
#: After an action, watch Flower this long for the new state (event lag is 1-3 s).
FOLLOW_SECONDS = 15


def follow_up(monitor: ClusterMonitor, shown_version: int, snapshot_key: str = "") -> None:
    """For a few seconds after an action, rerun the page as soon as Flower shows a change.

    ``snapshot_key``: the page's own session key of a snapshot to drop then (Tasks).
    """
    acted = st.session_state.get(keys.ACTED_AT)
    if acted is not None and time.time() - acted < FOLLOW_SECONDS:
        _follow(monitor, shown_version, snapshot_key)


@st.fragment(run_every=2)
def _follow(monitor: ClusterMonitor, shown_version: int, snapshot_key: str) -> None:
    monitor.tasks(force=True)
    if monitor.version != shown_version:
        st.session_state.pop(snapshot_key, None)
        st.rerun(scope="app")
