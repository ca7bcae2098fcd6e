"""The settings error screen, shown before login, never prints a password (issue 10, point 7).

A URL without a scheme is not parsed by ``urlsplit`` (``admin:pw@flower:5555`` reads as scheme
``admin``), so hiding credentials by parsing alone let them through.
"""

from __future__ import annotations

import pytest

from tests.apptest.conftest import open_page, texts


@pytest.mark.parametrize(
    ("name", "value", "password"),
    [
        ("FLOWER_URL", "admin:pw@flower:5555", "pw"),
        ("CELERY_BROKER_URL", "user:s3cret@redis:6379/0", "s3cret"),
    ],
    ids=["flower-url", "broker-url"],
)
def test_settings_error_screen_hides_a_scheme_less_password(monkeypatch, name, value, password):
    monkeypatch.setenv(name, value)
    at = open_page("Overview")
    assert not at.exception
    said = texts(at)
    assert name in said, "the screen names the variable that is wrong"
    assert f":{password}@" not in said
    assert password not in said
