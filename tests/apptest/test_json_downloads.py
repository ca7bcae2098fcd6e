"""Every Download CSV has a Download JSON beside it, and both files hold the same rows.

The files are the ones a click makes (``tests.apptest.downloads``): parsed back, the CSV and
the JSON have the same columns and the same values row for row, and the JSON's times carry
their offset (the viewer's timezone, as the CSV's).
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from lib.export import neutralise
from tests.apptest.conftest import open_page
from tests.apptest.downloads import downloads  # noqa: F401  (fixture)
from tests.apptest.test_analytics_pages import flower  # noqa: F401  (fixture: recent failures)
from tests.apptest.test_audit_log_page import big_log  # noqa: F401  (fixture: 10,500 entries)
from tests.apptest.test_inert_output import HOSTILE

OFFSET = re.compile(r"T\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
#: Europe/Paris in the recorded tasks' season: an offset that is not UTC's.
TZ = "Europe/Paris"


def buttons(at, label: str) -> list:
    return [b for b in at.get("download_button") if b.label == label]


def same_cell(text: str, value: object) -> bool:
    """Whether the CSV's ``text`` and the JSON's ``value`` say the same thing."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == str(value)
    if isinstance(value, int | float):
        return float(text) == pytest.approx(value, rel=1e-12, abs=1e-12)
    if isinstance(value, str) and OFFSET.search(value):
        return datetime.fromisoformat(text) == datetime.fromisoformat(value)
    if isinstance(value, str):
        return text == neutralise(value)  # the CSV's ' before formula-like text
    return text == str(value)


def assert_same_rows(files, stem: str) -> list[dict]:
    csv_rows, json_rows = files.csv_rows(stem), files.json_rows(stem)
    assert len(json_rows) == len(csv_rows) > 0, stem
    for csv_row, json_row in zip(csv_rows, json_rows, strict=True):
        assert list(json_row) == list(csv_row), f"{stem}: the same columns, in order"
        for column, text in csv_row.items():
            assert same_cell(text, json_row[column]), (stem, column, text, json_row[column])
    return json_rows


def times_of(rows: list[dict]) -> list[str]:
    return [v for row in rows for v in row.values() if isinstance(v, str) and OFFSET.search(v)]


def test_overview_tables_have_json_equal_to_their_csv(recorded_flower, downloads):  # noqa: F811
    at = open_page("Overview", tz=TZ)
    assert not at.exception
    assert len(buttons(at, "Download JSON")) == len(buttons(at, "Download CSV")) >= 2
    assert {b.key for b in buttons(at, "Download JSON")} >= {
        "overview_workers_json",
        "overview_queues_json",
    }
    workers = assert_same_rows(downloads, "workers-summary")
    assert all(isinstance(row["active"], int | None) for row in workers), "numbers stay numbers"
    assert_same_rows(downloads, "queues-summary")


def test_tasks_table_json_is_masked_and_timed_like_its_csv(recorded_flower, downloads):  # noqa: F811
    formula = {**HOSTILE, "uuid": "hostile-2", "args": "=cmd|'/C calc'!A0"}
    recorded_flower.extra_tasks.update({"hostile-1": HOSTILE, "hostile-2": formula})
    at = open_page("Tasks", query={"state": "FAILURE"}, tz=TZ)
    assert not at.exception
    assert len(buttons(at, "Download JSON")) == len(buttons(at, "Download CSV"))
    rows = assert_same_rows(downloads, "tasks")
    by_id = {row["uuid"]: row for row in rows}
    assert "hunter2" not in downloads.file("tasks.json").decode()
    assert "'password': '***'" in by_id["hostile-1"]["kwargs"]
    assert by_id["hostile-2"]["args"] == "=cmd|'/C calc'!A0", "JSON keeps the text as shown"
    stamps = times_of(rows)
    assert stamps and all(s.endswith(("+01:00", "+02:00")) for s in stamps), stamps[:3]
    assert b"NaN" not in downloads.file("tasks.json")


def test_errors_page_json_beside_each_csv(flower, downloads):  # noqa: F811
    at = open_page("Errors", tz=TZ)
    assert not at.exception
    jsons = {b.key for b in buttons(at, "Download JSON")}
    assert {"categories_json", "groups_json"} <= jsons, jsons
    assert len(jsons) == len(buttons(at, "Download CSV"))
    groups = assert_same_rows(downloads, "error-groups")
    assert "sample_task" in groups[0] and not groups[0]["sample_task"].startswith("tasks?")
    assert_same_rows(downloads, "error-categories")


def test_capped_audit_log_json_has_every_row_like_its_csv(big_log, downloads):  # noqa: F811
    at = open_page("Audit log")
    assert len(at.dataframe[0].value) == 10_000, "the table is capped"
    assert {b.key for b in buttons(at, "Download JSON")} >= {"audit_json"}
    rows = assert_same_rows(downloads, "audit-log")
    assert len(rows) == 10_500
