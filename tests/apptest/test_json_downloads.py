"""Every Download CSV has a Download JSON beside it, and both files hold the same rows.

The files are the ones a click makes (``tests.apptest.downloads``): parsed back, the CSV and
the JSON have the same columns and the same values row for row, and the JSON's times carry
their offset (the viewer's timezone, as the CSV's).
"""

from __future__ import annotations

import re

from tests.apptest.conftest import open_page
from tests.apptest.downloads import downloads  # noqa: F401  (fixture)
from tests.apptest.test_analytics_pages import flower  # noqa: F401  (fixture: recent failures)
from tests.apptest.test_audit_log_page import big_log  # noqa: F401  (fixture: 10,500 entries)
from tests.apptest.test_inert_output import HOSTILE
from tests.table_files import csv_table, differences

OFFSET = re.compile(r"T\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
#: Europe/Paris in the recorded tasks' season: an offset that is not UTC's.
TZ = "Europe/Paris"


def buttons(at, label: str) -> list:
    return [b for b in at.get("download_button") if b.label == label]


def assert_same_rows(files, stem: str) -> list[dict]:
    """The JSON file of ``stem`` is its CSV file, row for row (``tests.table_files``)."""
    table = csv_table(files.file(f"{stem}.csv").decode("utf-8"))
    json_rows = files.json_rows(stem)
    assert len(json_rows) > 0, stem
    said = differences(table, json_rows)
    assert not said, f"{stem}: the JSON is not the CSV:\n" + "\n".join(said)
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
