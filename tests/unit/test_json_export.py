"""JSON downloads: records with the CSV's values, times with their offset, null for missing,
the console's secrets scrubbed."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from lib.export import csv_bytes, json_bytes, json_value
from lib.redact import SCRUBBER, Scrubber


@pytest.fixture
def frame() -> pd.DataFrame:
    at = pd.to_datetime([1_795_313_000.5, None], unit="s", utc=True)
    return pd.DataFrame(
        {
            "uuid": ["a", "b"],
            "runtime": [0.25, np.nan],
            "retries": pd.array([1, None], dtype="Int64"),
            "online": [True, False],
            "failed": at.tz_convert("America/New_York"),
            "queues": [["default", "mail"], []],
            "args": ["=cmd|'/C calc'!A0", None],
        }
    )


def test_records_with_the_same_columns_and_values_as_the_csv(frame):
    records = json.loads(json_bytes(frame))
    rows = list(csv.DictReader(io.StringIO(csv_bytes(frame).decode())))
    assert [list(r) for r in records] == [list(r) for r in rows] == [list(frame.columns)] * 2
    first, second = records
    assert first == {
        "uuid": "a",
        "runtime": 0.25,
        "retries": 1,
        "online": True,
        "failed": "2026-11-21T21:03:20.500000-05:00",
        "queues": ["default", "mail"],
        "args": "=cmd|'/C calc'!A0",  # no spreadsheet ' : JSON readers run no formulas
    }
    assert rows[0]["failed"] == first["failed"], "the CSV's time, character for character"
    assert second == {
        "uuid": "b",
        "runtime": None,
        "retries": None,
        "online": False,
        "failed": None,
        "queues": [],
        "args": None,
    }


def test_no_nan_or_infinity_ever_reaches_the_file():
    odd = pd.DataFrame({"x": [np.nan, np.inf, -np.inf, 1.0], "o": [np.nan, None, pd.NaT, pd.NA]})
    text = json_bytes(odd).decode()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == [{"x": None, "o": None}] * 3 + [{"x": 1.0, "o": None}]


def test_the_consoles_secrets_are_scrubbed_in_cells_keys_and_nested_values():
    scrubber = Scrubber()
    scrubber.remember(["s3cr3t-pw"])
    leaky = pd.DataFrame(
        {
            "message": ["redis://u:s3cr3t-pw@host failed"],
            "nested": [{"url": "amqp://s3cr3t-pw@b", "s3cr3t-pw": ["s3cr3t-pw"]}],
        }
    )
    text = json_bytes(leaky, scrubber).decode()
    assert "s3cr3t-pw" not in text
    assert json.loads(text)[0]["message"] == "redis://u:***@host failed"


def test_by_default_the_process_scrubber_masks_like_the_csv():
    SCRUBBER.remember(["known-secret-1"])
    try:
        leaky = pd.DataFrame({"m": ["x known-secret-1 y"]})
        assert json.loads(json_bytes(leaky)) == [{"m": "x *** y"}]
        assert "known-secret-1" not in csv_bytes(leaky).decode()
    finally:
        SCRUBBER.forget()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pd.Timestamp("2026-01-02 03:04:05"), "2026-01-02T03:04:05+00:00"),  # naive: UTC
        (np.int64(7), 7),
        (np.float64(0.5), 0.5),
        (np.bool_(True), True),
        (timedelta(seconds=90), 90.0),
        (("a", 1), ["a", 1]),
        (object, "<class 'object'>"),
    ],
    ids=["naive-time", "np-int", "np-float", "np-bool", "timedelta", "tuple", "other"],
)
def test_json_value(value, expected):
    assert json_value(value) == expected


def test_an_empty_frame_is_an_empty_list():
    assert json.loads(json_bytes(pd.DataFrame({"a": []}))) == []
