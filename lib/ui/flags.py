"""Orphaned and stuck tasks on screen: the Tasks page's flag filter (``?flag=``), its counts,
the table's ``flag`` column and a task's flag sentence.

The flags are the monitor's (``ClusterMonitor.flags``, built once per poll; definitions in
``lib.frames.flags``). Invariant: the filter and the deep link are one value — choosing a
flag writes ``?flag=``, and a link or count button sets the choice — and an unknown
``?flag=`` is said in plain words and ignored, never a traceback.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from lib.frames import TaskFilter
from lib.frames.flags import FLAGS, flag_column, flag_counts, flag_of, flag_sentence
from lib.monitor import ClusterMonitor
from lib.ui.formatting import md_escape

__all__ = ["flag_counts_line", "flag_filter", "flag_note", "flagged", "with_flag_column"]

#: The filter's session key; the choice "any" is stored as "".
FLAG_KEY = "filter_flag"
ANY = ""


def flag_filter(place=st) -> str:
    """The flag chooser (``?flag=orphaned`` / ``?flag=stuck`` preselect it): the chosen flag,
    or "" for any task."""
    asked = (st.query_params.get("flag") or "").strip().lower()
    if asked and asked not in FLAGS:
        st.warning(
            f"There is no flag {md_escape(asked)!r}: the flags are {', '.join(FLAGS)}. "
            "Showing every task."
        )
        asked = ANY
    st.session_state.setdefault(FLAG_KEY, asked)
    chosen = place.selectbox(
        "Flag",
        (ANY, *FLAGS),
        key=FLAG_KEY,
        format_func=lambda f: f or "any",
        on_change=_to_link,
    )
    return chosen or ANY


def _to_link() -> None:
    """The chosen flag becomes the page's ``?flag=`` (so the address can be shared)."""
    chosen = st.session_state.get(FLAG_KEY) or ANY
    if chosen:
        st.query_params["flag"] = chosen
    else:
        st.query_params.pop("flag", None)


def _choose(flag: str) -> None:
    st.session_state[FLAG_KEY] = flag
    _to_link()


def flagged(chosen: TaskFilter, flag: str, monitor: ClusterMonitor) -> TaskFilter:
    """``chosen`` narrowed to the tasks carrying ``flag`` (none while no flags were read)."""
    if not flag:
        return chosen
    flags = monitor.flags().value
    uuids = () if flags is None else tuple(flags.loc[flags["flag"] == flag, "uuid"])
    return replace(chosen, uuids=uuids)


def flag_counts_line(monitor: ClusterMonitor) -> None:
    """ "3 orphaned, 1 stuck", each a button that filters the page to that flag; nothing when
    no task is flagged."""
    flags = monitor.flags().value
    counts = {} if flags is None else {f: n for f, n in flag_counts(flags).items() if n}
    if not counts:
        return
    for place, (flag, count) in zip(st.columns(len(counts) + 3), counts.items(), strict=False):
        place.button(
            f"{count:,} {flag}",
            key=f"flag_count_{flag}",
            type="tertiary",
            icon=":material/flag:",
            on_click=_choose,
            args=(flag,),
            help=f"Show only the {flag} tasks (?flag={flag})",
        )


def with_flag_column(shown: pd.DataFrame, monitor: ClusterMonitor) -> pd.DataFrame:
    """``shown`` (task rows) with a ``flag`` column after the states ("" when none)."""
    flags = monitor.flags().value
    column = flag_column(shown["uuid"], flags) if flags is not None else ""
    out = shown.copy()
    out.insert(int(out.columns.get_loc("flower_state")) + 1, "flag", column)
    return out


def flag_note(monitor: ClusterMonitor, task_id: str, tz: ZoneInfo) -> None:
    """A task's flag in a sentence ("orphaned: worker w1@host went offline at …"), if any."""
    flag = flag_of(monitor.flags().value, task_id)
    if flag is None:
        return
    said = md_escape(flag_sentence(flag, tz))
    how = (
        "Retry re-sends it (no process runs it any more); Revoke makes sure no worker does."
        if flag["flag"] == "orphaned"
        else "Revoke or Terminate it; once revoked, Retry re-sends it."
    )
    st.warning(f"{said} (times in {tz}). {how}", icon=":material/flag:")
