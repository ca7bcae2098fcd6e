"""A host app, as another team writes one: it loads the status block from its file (a copy
would do the same: the block imports nothing of the console) and calls it in its sidebar.
The test sets ``status_args`` in session state: the block's arguments."""

import importlib.util
import sys
from pathlib import Path

import streamlit as st

BLOCK = Path(__file__).resolve().parents[3] / "lib" / "ui" / "celery_status.py"
if "host_celery_status" not in sys.modules:  # once per process, as an import is
    spec = importlib.util.spec_from_file_location("host_celery_status", BLOCK)
    sys.modules["host_celery_status"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules["host_celery_status"])
block = sys.modules["host_celery_status"]

st.title("Host app")
st.session_state["status_result"] = block.celery_status(**st.session_state["status_args"])
st.write("The host's own page goes on.")
