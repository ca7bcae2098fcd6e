"""Masking of sensitive task data, and CSV cells made inert for spreadsheets."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.export import csv_bytes, neutralise
from lib.frames import tasks_frame
from lib.redact import mask_frame, mask_text, redact_url


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("{'password': 'hunter2', 'user': 'bob'}", "{'password': '***', 'user': 'bob'}"),
        ('{"api_key": "abc", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("{'db_password': \"it's\"}", "{'db_password': \"***\"}"),
        ("{'api_key': 123, 'n': 5}", "{'api_key': ***, 'n': 5}"),
        ("(Config(token=abc123),)", "(Config(token=***),)"),
        ("('cookie=xyz; path=/',)", "('cookie=***; path=/',)"),
        ("{'Authorization': 'Bearer abcdef123456'}", "{'Authorization': '***'}"),
        ("('curl -H Authorization: Bearer abcdef123456',)", "('curl -H Authorization: *** ***',)"),
        ("('postgres://app:s3cr3t@db:5432/x',)", "('postgres://app:***@db:5432/x',)"),
        ("('4111 1111 1111 1111',)", "('***1111',)"),
        ("('4111-1111-1111-1112',)", "('4111-1111-1111-1112',)"),  # fails Luhn: not a card
        ("(1795312958, 'order-42')", "(1795312958, 'order-42')"),
        ("('plain', 2)", "('plain', 2)"),
    ],
    ids=lambda v: None,
)
def test_mask_text(text, masked):
    assert mask_text(text) == masked


def test_extra_keys_are_configurable():
    assert mask_text("{'ssn': '123-45-6789'}", keys=("ssn",)) == "{'ssn': '***'}"
    assert mask_text("{'ssn': '123-45-6789'}") == "{'ssn': '123-45-6789'}"


def test_mask_frame_masks_args_kwargs_result_only():
    df = tasks_frame(
        [
            {
                "uuid": "t",
                "args": "('token=abc',)",
                "kwargs": "{'password': 'pw'}",
                "result": "{'secret': 'x'}",
                "exception": "ValueError('password=pw')",
            }
        ]
    )
    out = mask_frame(df)
    assert (out.loc[0, "args"], out.loc[0, "kwargs"], out.loc[0, "result"]) == (
        "('token=***',)",
        "{'password': '***'}",
        "{'secret': '***'}",
    )
    assert df.loc[0, "kwargs"] == "{'password': 'pw'}", "the original frame is untouched"


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd|calc", "'+cmd|calc"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("ok", "ok"),
        (7, 7),
    ],
)
def test_neutralise(cell, out):
    assert neutralise(cell) == out


def test_csv_neutralises_text_keeps_numbers_and_times():
    frame = pd.DataFrame(
        {
            "args": ["('=HYPERLINK(\"http://x\")',)", "=2+3", "-7"],
            "n": [-1, 2, 3],
            "at": pd.to_datetime([0, 1, 2], unit="s", utc=True),
        }
    )
    text = csv_bytes(frame).decode()
    lines = text.splitlines()
    assert lines[0] == "args,n,at"
    assert lines[2] == "'=2+3,2,1970-01-01T00:00:01+00:00"
    assert lines[3] == "-7,3,1970-01-01T00:00:02+00:00"
    assert "-1," in lines[1]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://host:6379/0"),
        ("amqp://user:pw@rabbit/vhost", "amqp://rabbit/vhost"),
        ("http://flower:5555/prefix", "http://flower:5555/prefix"),
        # Without a scheme urlsplit would take "admin" for one and keep the password.
        ("admin:pw@flower:5555", "flower:5555"),
        ("user:s3cret@redis:6379/0", "redis:6379/0"),
        ("flower:5555", "flower:5555"),
    ],
)
def test_redact_url_drops_credentials_with_or_without_a_scheme(url, shown):
    assert redact_url(url) == shown
