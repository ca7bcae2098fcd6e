"""Every page with Flower down or the configuration wrong: a plain message, never a traceback."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import PAGES, open_page, texts

FLOWER_PAGES = [p for p in PAGES if p != "Audit log"]


@pytest.mark.parametrize("page", FLOWER_PAGES)
def test_page_says_flower_is_unreachable(page, monkeypatch, closed_port):
    monkeypatch.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:hunter2")
    monkeypatch.setenv("OPS_AUTH", "off")
    at = open_page(page)
    assert not at.exception
    said = texts(at)
    assert "cannot be reached" in said
    assert "hunter2" not in said
    assert at.title[0].value == page


@pytest.mark.parametrize("page", ["Overview", "Tasks"])
def test_bad_configuration_names_the_variable(page, monkeypatch):
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "no-colon-here")
    at = open_page(page) if page == "Overview" else open_page("Overview")
    assert not at.exception
    assert "FLOWER_BASIC_AUTH" in at.error[0].value
    assert "user:password" in at.error[0].value


def test_auth_off_shows_a_banner(monkeypatch, closed_port):
    monkeypatch.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("OPS_AUTH", "off")
    at = open_page("Workers")
    assert any("OPS_AUTH=off" in w.value for w in at.warning)


def test_audit_log_works_without_flower(monkeypatch, closed_port, tmp_path):
    monkeypatch.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("OPS_AUTH", "off")
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path))
    at = open_page("Audit log")
    assert not at.exception
    assert "No actions recorded" in texts(at)
