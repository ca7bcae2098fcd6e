"""All clusters: each cluster the console watches, side by side — workers online, throughput,
failure rate, backlog, firing alerts and how old its data is — each linking into it."""

import streamlit as st

from lib import ui
from lib.frames.clusters import STALE_POLLS

book = ui.page_start("All clusters")


@st.fragment(run_every=book.first.poll_seconds)
def all_clusters() -> None:
    frame = ui.clusters_overview(book)
    st.caption(
        "From each cluster's collector: its latest poll and the last hour's rollups. Failure "
        "rate = failed ÷ (succeeded + failed), tasks per minute count the same finished tasks; "
        f"data is stale when the last poll failed or it is over {STALE_POLLS} polls old. "
        "Open a cluster to see its pages, or pick it in the sidebar."
    )
    if (frame["data_age"] == "no data yet").all():
        st.info(
            "No cluster has data yet: the collector reads each one every "
            f"{book.first.poll_seconds:g} s, and the problem column says what holds it up.",
            icon="⏳",
        )
    ui.clusters_table(frame)


all_clusters()
