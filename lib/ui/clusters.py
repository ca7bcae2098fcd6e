"""The chosen cluster of a session: which one the pages show, its switcher, its deep links.

With several clusters (``OPS_CLUSTERS_FILE``) a session shows one at a time. app.py resolves
it first thing each run (``choose_cluster``): ``?cluster=<name>`` when the address names one,
else the session's choice (kept across page switches, which drop the address's parameters),
else the file's first cluster; an unknown name is said in plain words and the first is shown.
The choice is written back into the address every run, so a copied address opens the same
cluster in a new tab (a new session). The sidebar's switcher (``cluster_switcher``) only
changes the address: the next run takes it from there, one path for both.

Invariants: with a clusters file every link the pages make names the chosen cluster
(``scoped_link``, ``scoped_query``; a link that names one keeps it); without one, no link and
no address ever carries ``cluster=`` (single-cluster URLs unchanged). Changing cluster drops
the session's page state (a pending action, a page's snapshot of tasks, table selections,
filters): nothing read on one cluster is shown, or acted on, on another. Roles on screen are
the role on the chosen cluster (``role_here``); the desk checks it again server-side.
"""

from __future__ import annotations

import streamlit as st

from lib.auth import Actor
from lib.clusters import DEFAULT_CLUSTER, ClusterBook
from lib.frames.clusters import CLUSTER_PARAM, with_cluster
from lib.settings import Settings
from lib.ui import keys
from lib.ui.formatting import md_escape

__all__ = [
    "choose_cluster",
    "chosen",
    "cluster_caption",
    "cluster_switcher",
    "clusters_notice",
    "here",
    "role_here",
    "scoped_link",
    "scoped_query",
]

#: What a session keeps when its cluster changes: who is signed in, the analytics range (a
#: span of time, the same on every cluster), and the choice itself.
KEPT_ON_SWITCH = frozenset(
    {
        keys.ACTOR,
        keys.AUTH_CLAIMS,
        keys.AUTH_COOKIE,
        keys.AUTH_LAST_ACTIVE,
        keys.AUTH_NOTICE,
        keys.ANALYTICS_RANGE,
        keys.ANALYTICS_DATES,
        keys.CLUSTER,
        keys.CLUSTER_LINKED,
        keys.CLUSTER_SWITCH,
    }
)


def choose_cluster(book: ClusterBook) -> Settings:
    """The cluster this run shows (see the module's docstring), kept in the session and
    written into the address (with a clusters file)."""
    asked = st.query_params.get(CLUSTER_PARAM)
    picked = book.get(asked) if asked else book.get(st.session_state.get(keys.CLUSTER))
    if asked and picked is None:
        st.warning(
            f"There is no cluster named {md_escape(asked)!r}: the clusters are "
            f"{md_escape(', '.join(book.names))}. Showing {md_escape(book.first.cluster_label)}.",
            icon="🗂️",
        )
    picked = picked or book.first
    previous = st.session_state.get(keys.CLUSTER)
    if previous is not None and previous != picked.cluster:
        _forget_page_state()
    linked = picked.cluster if picked.clusters_file is not None else None
    st.session_state[keys.CLUSTER] = picked.cluster
    st.session_state[keys.CLUSTER_LINKED] = linked
    st.session_state[keys.CLUSTER_SWITCH] = picked.cluster  # the switcher shows the choice
    if linked is not None and asked != linked:
        st.query_params[CLUSTER_PARAM] = linked
    return picked


def _forget_page_state() -> None:
    for key in [k for k in st.session_state if k not in KEPT_ON_SWITCH]:
        del st.session_state[key]


def chosen(book: ClusterBook) -> Settings:
    """The cluster ``choose_cluster`` chose for this run (the first before it ran)."""
    return book.get(st.session_state.get(keys.CLUSTER)) or book.first


def here() -> str:
    """The name of the cluster the session's pages show (``default`` with one cluster)."""
    return str(st.session_state.get(keys.CLUSTER) or DEFAULT_CLUSTER)


def role_here(actor: Actor) -> str:
    """``actor``'s role on the cluster the pages show: which buttons they see."""
    return actor.role_in(here())


def scoped_link(link: str) -> str:
    """A relative deep link (``tasks?task=<id>``) naming the chosen cluster, with a clusters
    file (a link column opens a new tab: a new session, which only the address tells)."""
    return with_cluster(link, st.session_state.get(keys.CLUSTER_LINKED))


def scoped_query(query: dict[str, str] | None = None) -> dict[str, str] | None:
    """``query_params`` for ``st.page_link``/``st.switch_page`` naming the chosen cluster,
    with a clusters file; None when there is nothing to pass."""
    scoped = dict(query or {})
    linked = st.session_state.get(keys.CLUSTER_LINKED)
    if linked is not None:
        scoped.setdefault(CLUSTER_PARAM, linked)
    return scoped or None


def cluster_switcher(book: ClusterBook) -> None:
    """The sidebar's cluster picker, by title; only with several clusters."""
    if not book.several:
        return
    labels = {c.cluster: c.cluster_label for c in book.clusters}
    st.selectbox(
        "Cluster",
        list(labels),
        format_func=labels.get,
        key=keys.CLUSTER_SWITCH,
        on_change=_switched,
    )


def _switched() -> None:
    """The picked cluster goes into the address; ``choose_cluster`` takes it from there."""
    st.query_params[CLUSTER_PARAM] = st.session_state[keys.CLUSTER_SWITCH]


def cluster_caption(book: ClusterBook, cluster: Settings) -> None:
    """Under a page's title, which cluster it shows (with several)."""
    if book.several:
        st.caption(f"Cluster: {md_escape(cluster.cluster_label)}")


def clusters_notice(book: ClusterBook) -> None:
    """The clusters file's notice (it wins over FLOWER_URL and the like), on every page."""
    if book.notice:
        st.info(md_escape(book.notice), icon="🗂️")
