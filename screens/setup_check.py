"""Setup check: the doctor's checks against the chosen cluster (after the clusters file's own line,
with one), one line each with the fix."""

import streamlit as st

from lib import ui

console = ui.page("Setup check")
st.caption(
    "The same checks as `./ops doctor`: Flower, its credentials and URL prefix, the workers, "
    "their events and settings, the broker, the result backend, clocks, Flower's history and "
    "the console's store. They run when the page opens and on Run checks."
)
fresh = st.button(ui.RUN_CHECKS, type="primary")
findings, taken = ui.setup_findings(console.settings, fresh)
ui.show_findings(findings, taken)
