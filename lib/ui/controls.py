"""Action buttons and the worker and consumer control forms, from the action declarations.

A button only asks: it puts the action in the session as pending (``keys.PENDING``) with a new
operation id, and ``lib/ui/dialog.py`` confirms and performs it. Forms are drawn generically
from each ``ActionSpec``'s inputs (``lib.actions``); nothing here knows one action from another.
"""

from __future__ import annotations

import uuid

import streamlit as st

from lib.actions import ACTIONS, CONSUMERS, ActionSpec, Input, Number, Seconds, control_groups
from lib.auth import Actor, allows
from lib.monitor import ClusterMonitor
from lib.ui import keys
from lib.ui.clusters import role_here
from lib.ui.formatting import md_escape
from lib.ui.on_demand import lazy_tabs
from lib.ui.readings import explain

__all__ = [
    "CONTROL_TAB",
    "action_button",
    "allows_admin",
    "consumer_controls",
    "request_action",
    "task_types",
    "worker_controls",
]


#: The session key of the worker controls' open tab (a group of ``control_groups``).
CONTROL_TAB = "control_group"


def action_button(
    actor: Actor,
    action: str,
    targets: list[str],
    params: dict | None = None,
    key: str = "",
    label: str | None = None,
    why_not: str = "",
) -> None:
    """A button that opens the confirmation for ``action``; hidden when the role can't act,
    disabled with ``why_not`` said under it when the action can't be done now.

    Hiding is a courtesy: ``ActionDesk.perform`` checks the role again.
    """
    spec = ACTIONS[action]
    if not allows(role_here(actor), spec.role):
        return
    st.button(
        label or spec.label,
        key=key or f"btn_{action}",
        disabled=not targets or bool(why_not) or keys.PENDING in st.session_state,
        on_click=request_action,
        args=(action, list(targets), dict(params or {})),
    )
    if why_not:
        st.caption(md_escape(why_not))


def allows_admin(actor: Actor) -> bool:
    """True when ``actor`` may use the admin controls."""
    return allows(role_here(actor), "admin")


def task_types(monitor: ClusterMonitor) -> list[str]:
    """Task names Flower has seen (polled), or none (with the reason) when it can't say."""
    reading = monitor.task_types()
    if reading.value is None:
        st.caption(f"Task types unavailable: {md_escape(explain(reading.error))}")
    return reading.value or []


def worker_controls(actor: Actor, worker: str, task_types: list[str]) -> None:
    """Every declared worker control, one tab per group (pool, consumers, limits, shut down);
    only the open tab's form is built (a first visit draws one form, not four)."""
    groups = control_groups()
    for label, tab in lazy_tabs(list(groups), key=CONTROL_TAB).items():
        with tab:
            _control_form(actor, groups[label], worker, "ctl", task_types=task_types)


def consumer_controls(actor: Actor, workers: list[str], key: str, queue: str = "") -> None:
    """Add or cancel a queue consumer on the given worker(s)."""
    specs = control_groups()[CONSUMERS]
    _control_form(actor, specs, workers[0] if workers else "", key, defaults={"queue": queue})


def _control_form(
    actor: Actor,
    specs: list[ActionSpec],
    worker: str,
    key: str,
    defaults: dict | None = None,
    task_types: list[str] | None = None,
) -> None:
    """The declared inputs, each once, and a confirmed button per action.

    A row starts with an action that asks something new; the actions after it that ask nothing
    new share its inputs and sit beside it.
    """
    task_type = None
    if any(spec.target == "task_type" for spec in specs):
        task_type = st.selectbox("Task type", task_types or [], key=f"{key}_task_type")
    values: dict = {}
    for inputs, row in _form_rows(specs):
        for note in dict.fromkeys(spec.note for spec in row if spec.note):
            st.caption(note)
        for place, item in zip(_places(len(inputs)), inputs, strict=True):
            values[item.param] = _form_input(place, item, key, (defaults or {}).get(item.param))
        for place, spec in zip(_places(len(row)), row, strict=True):
            with place:
                targets, params = _control_request(spec, worker, task_type, values)
                action_button(actor, spec.name, targets, params, key=f"{key}_{spec.name}")


def _form_rows(specs: list[ActionSpec]) -> list[tuple[list[Input], list[ActionSpec]]]:
    rows: list[tuple[list[Input], list[ActionSpec]]] = []
    seen: set[str] = set()
    for spec in specs:
        new = [item for item in spec.form if item.param not in seen]
        seen.update(item.param for item in new)
        if new or not rows:
            rows.append((new, [spec]))
        else:
            rows[-1][1].append(spec)
    return rows


def _places(count: int) -> list:
    """Where ``count`` widgets go: side by side when several, else one place in the flow."""
    return list(st.columns(count)) if count > 1 else [st.container() for _ in range(count)]


def _form_input(place, item: Input, key: str, default: object = None) -> object:
    widget_key = f"{key}_{item.param}"
    if isinstance(item, Number):
        value = place.number_input(
            item.label, min_value=item.minimum, value=item.default, step=1, key=widget_key
        )
        return int(value)
    if isinstance(item, Seconds):
        seconds = place.number_input(item.label, min_value=0.0, value=0.0, key=widget_key)
        return seconds or None
    text = place.text_input(
        item.label, value=default or "", placeholder=item.placeholder, key=widget_key
    )
    return text.strip()


def _control_request(
    spec: ActionSpec, worker: str, task_type: str | None, values: dict
) -> tuple[list[str], dict]:
    """The targets and parameters a control's button asks for, by its target kind."""
    params = {item.param: values[item.param] for item in spec.form}
    if spec.target == "task_type":
        return ([task_type] if task_type else []), {"worker": worker, **params}
    return ([worker] if worker else []), params


def request_action(action: str, targets: list[str], params: dict) -> None:
    st.session_state[keys.PENDING] = {
        "action": action,
        "targets": targets,
        "params": params,
        "op_id": uuid.uuid4().hex,
    }
