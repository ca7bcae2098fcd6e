"""The ``Setup check`` page's parts: the doctor's findings (``lib.doctor``) in this session.

The checks run when the page first opens in a session and again on ``Run checks``; between
runs the page shows the last findings with when they were taken (the checks call Flower, the
broker, the backend and the store, which take seconds: a rerun must not repeat them). Each
finding is one line with a PASS/WARN/FAIL badge; the count line comes first, coloured by the
worst status; ``Download CSV`` holds the same lines. Sentences are the runner's, already scrubbed, and escaped here as markdown.
"""

from __future__ import annotations

import time

import streamlit as st

from lib.doctor import Finding, Status, count_line, exit_code, findings_frame, run_checks
from lib.doctor.every_cluster import book_finding
from lib.settings import Settings
from lib.ui.formatting import md_escape, read_at, viewer_tz
from lib.ui.tables import downloads
from lib.ui.wiring import cluster_book, get_settings

__all__ = ["RUN_CHECKS", "setup_findings", "show_findings"]

#: The button that runs the checks again (contract: the page's one control).
RUN_CHECKS = "Run checks"
#: This page's own state: the last run's findings and when they were taken.
FINDINGS_KEY = "setup_check_findings"
BADGES = {Status.PASS: "green", Status.WARN: "orange", Status.FAIL: "red"}


def setup_findings(settings: Settings, fresh: bool) -> tuple[list[Finding], float]:
    """The findings and when they were taken: a new run when ``fresh`` or none yet."""
    kept = st.session_state.get(FINDINGS_KEY)
    if fresh or kept is None:
        with st.spinner("Checking Flower, the workers, the broker, the backend and the store…"):
            found = [*_file_line(settings), *run_checks(settings)]
            kept = st.session_state[FINDINGS_KEY] = (found, time.time())
    return kept


def _file_line(settings: Settings) -> list[Finding]:
    """``./ops doctor``'s ``Clusters file`` line first, with a clusters file (the page checks
    the chosen cluster; the file's problems stop every page before this one runs)."""
    if settings.clusters_file is None:
        return []
    return [book_finding(cluster_book(get_settings()))]


def show_findings(findings: list[Finding], taken: float) -> None:
    """The count line (coloured by the worst status), one badge line per finding, and
    ``Download CSV`` of the same lines (to attach to a ticket)."""
    say = (st.success, st.warning, st.error)[exit_code(findings)]
    say(f"{count_line(findings)}. Checked at {read_at(taken, viewer_tz())}.")
    for finding in findings:
        badge = f":{BADGES[finding.status]}-badge[{finding.status.value}]"
        st.markdown(f"{badge} **{md_escape(finding.check)}**: {md_escape(finding.sentence)}")
    downloads(findings_frame(findings), "setup-check", key="setup_check_csv")
