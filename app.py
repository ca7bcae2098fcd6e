"""Celery ops console: settings, login, navigation and the sidebar status; screens do the rest.

The screens live in ``screens/``, not ``pages/``: with a ``pages/`` folder beside the entry
script, Streamlit 1.67 runs a deep link's page file on its own (without this script) on the
first visit after a server start. Here every run starts in this script: one login gate.
"""

from pathlib import Path

import streamlit as st

from lib import ui

HERE = Path(__file__).parent

st.set_page_config(page_title="Celery ops console", page_icon="🌼", layout="wide")
settings = ui.get_settings()
actor = ui.signed_in(settings)

if actor is None:
    st.navigation(
        [st.Page(lambda: ui.sign_in_form(settings), title="Sign in", url_path="signin")]
    ).run()
    st.stop()

book = ui.cluster_book(settings)
cluster = ui.choose_cluster(book)  # ?cluster=, else the session's choice, else the first
monitor = ui.console(cluster).monitor
ui.await_first_read(monitor, cluster)  # a fresh server's first page: bounded, then go on
ALL = [st.Page(HERE / "screens/all_clusters.py", title="All clusters", icon="🗂️")]
SCREENS = {
    "Monitor": [
        *(ALL if book.several else []),  # with several clusters
        st.Page(HERE / "screens/overview.py", title="Overview", icon="📊", default=True),
        st.Page(HERE / "screens/workers.py", title="Workers", icon="🛠️"),
        st.Page(HERE / "screens/tasks.py", title="Tasks", icon="📋"),
        st.Page(HERE / "screens/queues.py", title="Queues", icon="📤"),
        st.Page(HERE / "screens/alerts.py", title="Alerts", icon="🔔"),
    ],
    "Analyse": [
        st.Page(HERE / "screens/trends.py", title="Trends", icon="📈"),
        st.Page(HERE / "screens/errors.py", title="Errors", icon="🧯"),
        st.Page(HERE / "screens/workflows.py", title="Workflows", icon="🧬"),
    ],
    "Record": [
        st.Page(HERE / "screens/audit_log.py", title="Audit log", icon="📜"),
        st.Page(HERE / "screens/setup_check.py", title="Setup check", icon="🩺"),
    ],
}


@st.fragment(run_every=settings.poll_seconds)
def sidebar_status() -> None:
    ui.end_idle_session(settings)  # timer reruns are not activity: an idle session signs out
    ui.sync_status(monitor)
    ui.firing_count(monitor)  # "🔔 N firing", linking to Alerts


page = st.navigation(SCREENS)  # before the sidebar: its links name registered pages
with st.sidebar:
    ui.cluster_switcher(book)
    ui.sidebar_user(settings, actor)
    sidebar_status()

page.run()
