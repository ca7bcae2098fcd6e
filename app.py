"""Celery ops console: settings, login, navigation and the sidebar status; pages do the rest."""

from datetime import UTC, datetime
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

monitor = ui.get_monitor(settings)
PAGES = {
    "Monitor": [
        st.Page(HERE / "pages/overview.py", title="Overview", icon="📊", default=True),
        st.Page(HERE / "pages/workers.py", title="Workers", icon="🛠️"),
        st.Page(HERE / "pages/tasks.py", title="Tasks", icon="📋"),
        st.Page(HERE / "pages/queues.py", title="Queues", icon="📤"),
    ],
    "Analyse": [
        st.Page(HERE / "pages/trends.py", title="Trends", icon="📈"),
        st.Page(HERE / "pages/errors.py", title="Errors", icon="🧯"),
        st.Page(HERE / "pages/workflows.py", title="Workflows", icon="🧬"),
    ],
    "Record": [
        st.Page(HERE / "pages/audit_log.py", title="Audit log", icon="📜"),
    ],
}


@st.fragment(run_every=settings.poll_seconds)
def sidebar_status() -> None:
    ui.end_idle_session(settings)  # timer reruns are not activity: an idle session signs out
    sync = monitor.sync
    st.caption(f"Watching Flower at `{monitor.client.display_url}`")
    if sync.last_success is None:
        st.caption("No data from Flower yet.")
    else:
        when = datetime.fromtimestamp(sync.last_success, UTC).astimezone(ui.viewer_tz())
        age = datetime.now(UTC).timestamp() - sync.last_success
        held = f"{len(sync.store):,} tasks"
        st.caption(f"Last good refresh {when:%H:%M:%S %Z} ({ui.ago(age)}) · {held}")
    if sync.last_error is not None:
        st.error(f"Stale: the last refresh failed. {ui.md_escape(sync.last_error)}", icon="⏳")


with st.sidebar:
    ui.sidebar_user(settings, actor)
    sidebar_status()

current = st.navigation(PAGES)
ui.route_deep_link(PAGES)
current.run()
