"""The past on screen: a sampled range's caption and empty state, the needs-attention strip.

Every chart of sampled figures says its range, step and timezone; a range without samples says
why (the collector samples every ``OPS_POLL_SECONDS``) instead of drawing an empty axis. The
strip shows each item as a link to its page with the contract's deep link, or that all is well;
``focus`` is the other end of such a link (``?worker=`` on Workers, ``?queue=`` on Queues).
"""

from __future__ import annotations

import streamlit as st

from lib.frames.attention import Attention
from lib.frames.over_time import Sampled, step_label
from lib.monitor import Reading
from lib.ui.clusters import scoped_query
from lib.ui.formatting import md_escape, viewer_tz
from lib.ui.readings import show_reading
from lib.ui.time_picker import TimeRange

__all__ = ["ATTENTION_ICONS", "attention_strip", "focus", "sampled_range"]

#: One icon per kind of item on the strip.
ATTENTION_ICONS = {"Worker offline": "⚪", "Queue growing": "📈", "Failure spike": "🧯"}


def sampled_range(
    reading: Reading[Sampled], what: str, span: TimeRange, poll_seconds: float, how: str
) -> Sampled | None:
    """The reading's sampled series with its caption (range, step, ``how`` a step is made of
    its samples), or None after saying why there is nothing to draw."""
    if not show_reading(reading, what):
        return None
    sampled, tz = reading.value, viewer_tz()
    if sampled.frame.empty:
        st.info(
            f"No {what} in this range ({md_escape(span.label.lower())}): the collector "
            f"samples every {poll_seconds:g} s; the first appear after its next poll.",
            icon="⏳",
        )
        return None
    st.caption(
        f"{sampled.start.astimezone(tz):%Y-%m-%d %H:%M} – {sampled.end.astimezone(tz):%Y-%m-%d %H:%M} "
        f"({tz}), one point per {step_label(sampled.step)}: {how}."
    )
    return sampled


def attention_strip(items: list[Attention]) -> None:
    """Each item as a link to its page (``?worker=``, ``?queue=``, the Errors page); an empty
    strip says all is well."""
    if not items:
        st.success("All is well: no offline worker, growing queue or failure spike.", icon="✅")
        return
    for item in items:
        st.page_link(
            item.page,
            label=md_escape(f"{item.kind}: {item.sentence}"),
            icon=ATTENTION_ICONS.get(item.kind),
            query_params=scoped_query(item.query),
        )


def focus(param: str, what: str) -> str | None:
    """The subject a deep link opens (``?worker=``, ``?queue=``), said on the page with a way
    back to all of them; None without the parameter."""
    picked = st.query_params.get(param)
    if not picked:
        return None
    st.info(f"Showing {what} {md_escape(picked)} only.", icon="🔎")
    st.button(f"Show all {what}s", key=f"all_{param}", on_click=lambda: st.query_params.pop(param))
    return picked
