"""The Flower password never appears in what the console shows, logs or exports."""

from __future__ import annotations

import logging
import secrets

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.export import csv_bytes
from tests.apptest.conftest import APP, PAGES


def everything_shown(at: AppTest) -> str:
    """Every value of every element in the tree, tables as CSV (as a download would be)."""
    out = []
    for node in [at.main, at.sidebar]:
        stack = [node]
        while stack:
            el = stack.pop()
            stack.extend(getattr(el, "children", {}).values())
            value = getattr(el, "value", None)
            # Tables by their value: the element's type name changed across Streamlit versions.
            if isinstance(value, pd.DataFrame):
                out.append(csv_bytes(value).decode())
            elif isinstance(value, str):
                out.append(value)
            for attr in ("label", "body", "help", "placeholder"):
                text = getattr(el, attr, None) if hasattr(el, "proto") else None
                if isinstance(text, str):
                    out.append(text)
    return "\n".join(out)


@pytest.fixture
def password(cluster) -> str:
    return cluster.flower_auth.partition(":")[2]


@pytest.mark.parametrize("broken", [False, True], ids=["healthy", "flower-unreachable"])
def test_no_page_log_or_csv_shows_the_flower_password(
    cluster, password, monkeypatch, caplog, tmp_path, broken
):
    user = cluster.flower_auth.partition(":")[0]
    url = cluster.flower_url.replace("http://", f"http://{user}:{password}@")
    if broken:  # the same credentials in the URL, but nothing listens there
        url = url.rsplit(":", 1)[0] + ":1"
    monkeypatch.setenv("FLOWER_URL", url)
    monkeypatch.setenv("FLOWER_BASIC_AUTH", cluster.flower_auth)
    monkeypatch.setenv(
        "CELERY_BROKER_URL", cluster.broker_url.replace("redis://", f"redis://:{password}@")
    )
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path))
    caplog.set_level(logging.DEBUG)
    seen = []
    for page, path in PAGES.items():
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        if page != "Overview":
            at.switch_page(path).run()
        assert not at.exception, page
        seen.append(everything_shown(at))
    shown = "\n".join(seen)
    assert len(shown) > 500, "the scan saw the pages' output"
    assert password not in shown
    assert password not in caplog.text
    assert all(password not in str(r.args) for r in caplog.records)


def test_a_failure_carrying_credentials_is_masked_on_tasks_and_errors(
    live_env, producer, monkeypatch
):
    """Issue 10, point 6: a real task fails with a password and a token in its exception.

    Neither may appear in the Tasks table, the task's detail (exception and traceback), the
    Errors page (sample message, signature), nor in the CSV bytes of the frames they export.
    """
    from lib.ui import tables
    from tests.apptest.conftest import collector_caught_up, open_page
    from tests.live import send, wait_final

    password, token = secrets.token_hex(8), secrets.token_hex(8)
    uuid = send(producer, "demo.call_service", password=password, token=token)
    failed = wait_final(live_env, [uuid])[uuid]
    assert failed["state"] == "FAILURE"
    assert password in failed["exception"] and token in failed["traceback"], "a real leak to hide"

    exported = []
    download_csv = tables.download_csv
    monkeypatch.setattr(
        tables,
        "download_csv",
        lambda frame, *a, **kw: (exported.append(frame), download_csv(frame, *a, **kw)),
    )
    open_page("Overview", timeout=60)  # the console and its collector start
    collector_caught_up()  # and have polled the failure
    tasks = everything_shown(open_page("Tasks", query={"task": uuid}, timeout=60))
    errors = everything_shown(open_page("Errors", timeout=60))
    assert "Traceback (most recent call last)" in tasks, "the task's detail was shown"
    assert "could not reach" in tasks, tasks[-3000:]
    assert "could not reach" in errors, errors[-3000:]
    columns = {c for frame in exported for c in frame.columns}
    assert {"exception", "signature", "sample_message"} <= columns, "the exports were made"
    csv = b"".join(csv_bytes(frame) for frame in exported).decode()
    for secret in (password, token):
        assert secret not in tasks
        assert secret not in errors
        assert secret not in csv
    assert "https://svc:***@api.internal/v1 (token=***)" in tasks
    assert "could not reach <url> (token=***)" in errors
