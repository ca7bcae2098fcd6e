"""The Flower password never appears in what the console shows, logs or exports."""

from __future__ import annotations

import logging

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
            if el.type == "arrow_data_frame":
                out.append(csv_bytes(el.value).decode())
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
