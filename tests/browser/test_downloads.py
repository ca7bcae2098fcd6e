"""Downloads in Chromium (issue 16): a table's ``Download JSON`` is its ``Download CSV``, row for
row, on the Tasks page and the Audit log; the Overview's ``Download snapshot`` is a JSON document
that names itself and holds no secret.

The tables are read in a browser in Kolkata (UTC+5:30), so both files carry the viewer's offset
and a time written as naive UTC in one of them would show as a different instant. The tasks
this module sends put in the table what a download must get right (``marked``): a formula-like
task name, a PENDING task's missing times, and the Flower password and a ``password`` keyword
in task data, which must reach neither file. The comparison itself is ``tests.table_files``; the
first tests here show that it rejects a wrong file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from celery import Celery
from playwright.sync_api import Browser, Page, expect

from demo.cluster import Cluster
from lib.version import VERSION
from tests.browser.conftest import (
    PARKED_QUEUE,
    VIEWPORT,
    Console,
    confirm_action,
    open_page,
    park_task,
    task_heading,
    wait_until,
)
from tests.table_files import CsvTable, differences, read_csv, read_json, time_of

pytestmark = pytest.mark.browser

KOLKATA = "Asia/Kolkata"
KOLKATA_OFFSET = "+05:30"
#: The name of a task no worker runs: a spreadsheet would run it as a formula.
FORMULA_NAME = '=HYPERLINK("https://example.invalid/x","open")'
#: A value passed as a ``password`` keyword: task data is masked by key when stored.
KEYWORD_SECRET = "kw-hunter2-7f3a"


@dataclass(frozen=True)
class Marked:
    """The module's tasks: a success, a failure, a parked (PENDING) task, and the secrets."""

    success: str
    failure: str
    parked: str
    flower_password: str

    @property
    def uuids(self) -> set[str]:
        return {self.success, self.failure, self.parked}

    @property
    def secrets(self) -> tuple[str, str]:
        return (self.flower_password, KEYWORD_SECRET)


@pytest.fixture(scope="module")
def marked(cluster: Cluster) -> Marked:
    """Send the module's three tasks; return once Flower holds each in the state expected."""
    auth = cluster.http_auth()
    assert auth is not None, "the browser cluster runs Flower with basic auth"
    password = auth[1]
    client = Celery("browser-downloads", broker=cluster.broker_url)
    client.conf.update(
        task_default_queue="default",
        task_send_sent_event=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    try:
        success = client.send_task(
            "demo.echo", args=[-2, 0.5], kwargs={"password": KEYWORD_SECRET, "note": "=1+2"}
        ).id
        failure = client.send_task(
            "demo.flaky", kwargs={"kind": "missing", "ref": f"key-{password}", "seconds": 0.0}
        ).id
        parked = client.send_task(FORMULA_NAME, args=[1], queue=PARKED_QUEUE).id
    finally:
        client.close()
    wanted = {success: "SUCCESS", failure: "FAILURE", parked: "PENDING"}

    def all_there() -> bool:
        resp = cluster.flower_get("/api/tasks", timeout=5)
        resp.raise_for_status()
        held = resp.json()
        return all(held.get(u, {}).get("state") == s for u, s in wanted.items())

    wait_until(all_there, 45, "Flower to hold the module's tasks in their expected states")
    return Marked(success, failure, parked, password)


@pytest.fixture
def viewer(browser: Browser) -> Iterator[Page]:
    """A tab in a fresh context whose clock is Kolkata's (downloads accepted)."""
    context = browser.new_context(accept_downloads=True, viewport=VIEWPORT, timezone_id=KOLKATA)
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def download(page: Page, label: str, into: Path) -> Path:
    """Click the page's one button ``label``; the saved file (under ``into``)."""
    button = page.get_by_test_id("stDownloadButton").filter(has_text=label)
    expect(button).to_have_count(1)
    with page.expect_download() as info:
        button.locator("button").click()
    into.mkdir(parents=True, exist_ok=True)
    target = into / info.value.suggested_filename
    info.value.save_as(target)
    return target


def both_files(page: Page, stem: str, into: Path) -> tuple[CsvTable, list[dict], bytes]:
    """The page's table as CSV and JSON (files ``<stem>-<time>.csv``/``.json``), and both raw."""
    csv_path = download(page, "Download CSV", into)
    json_path = download(page, "Download JSON", into)
    for path, ext in ((csv_path, ".csv"), (json_path, ".json")):
        assert path.name.startswith(f"{stem}-") and path.name.endswith(ext), path.name
    raw = csv_path.read_bytes() + json_path.read_bytes()
    return read_csv(csv_path), read_json(json_path), raw


def assert_same_table(table: CsvTable, records: list[dict]) -> None:
    said = differences(table, records)
    assert not said, "the JSON download is not the CSV:\n" + "\n".join(said)


def assert_times_local(table: CsvTable, records: list[dict]) -> None:
    """Every time in both files is written with the viewer's (Kolkata's) offset."""
    texts = [cell for row in table[1] for cell in row]
    texts += [v for r in records for v in r.values() if isinstance(v, str)]
    times = [t for t in texts if time_of(t) is not None]
    assert times, "no time in the downloads"
    elsewhere = [t for t in times if not t.endswith(KOLKATA_OFFSET)]
    assert not elsewhere, f"times not in the viewer's offset: {elsewhere}"


def assert_no_secret(raw: bytes, marked: Marked, where: str) -> None:
    """Neither secret in ``raw``; a failure names which, never the secret itself."""
    names = ("the Flower password", "the password keyword")
    found = [
        name for name, secret in zip(names, marked.secrets, strict=True) if secret.encode() in raw
    ]
    assert not found, f"found in {where}: {', '.join(found)}"


# ------------------------------------------------------------------------ the comparison fails


GOOD: CsvTable = (
    ["when", "name", "n", "ok"],
    [
        ["2026-03-01T10:00:00+05:30", "'=1+2", "3", "True"],
        ["", "plain", "", "False"],
        ["", "-2", "-2", ""],
    ],
)
GOOD_JSON = [
    {"when": "2026-03-01T04:30:00+00:00", "name": "=1+2", "n": 3, "ok": True},
    {"when": None, "name": "plain", "n": None, "ok": False},
    {"when": None, "name": "-2", "n": -2, "ok": None},  # text that is just a number: no quote
]


def test_the_comparison_accepts_the_same_table() -> None:
    assert differences(GOOD, GOOD_JSON) == []


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        (0, "when", "2026-03-01T10:00:00+00:00"),  # another instant
        (0, "when", "2026-03-01T10:00:00"),  # no offset: not an instant
        (0, "name", "1+2"),  # only a formula-like text has the quote
        (1, "name", "-plain"),  # and formula-like text must have it
        (0, "n", 3.5),
        (0, "ok", False),
        (1, "name", None),  # empty CSV text is null only
        (1, "n", 0),
        (0, "n", [3]),  # an array is no table cell
    ],
)
def test_the_comparison_rejects_a_changed_cell(row: int, column: str, value: object) -> None:
    changed = copy.deepcopy(GOOD_JSON)
    changed[row][column] = value
    assert differences(GOOD, changed)


def test_the_comparison_rejects_other_columns_and_rows() -> None:
    reordered = [{k: r[k] for k in ("name", "when", "n", "ok")} for r in GOOD_JSON]
    assert differences(GOOD, reordered)
    assert differences(GOOD, GOOD_JSON[:1])
    assert differences(GOOD, [*GOOD_JSON, GOOD_JSON[1]])
    assert differences(GOOD, [])
    assert differences(GOOD, GOOD_JSON[::-1])
    assert differences(GOOD, GOOD_JSON[:2])


# ------------------------------------------------------------------------ in the browser


def shown_with(page: Page, console: Console, uuids: set[str], into: Path) -> CsvTable:
    """Open the Tasks page until its CSV holds ``uuids`` (the collector polls every 2 s)."""

    def holds() -> CsvTable | None:
        open_page(page, console, "/tasks")
        table = read_csv(download(page, "Download CSV", into))
        return table if uuids <= {row[0] for row in table[1]} else None

    return wait_until(holds, 30, f"the Tasks table to hold {sorted(uuids)}")


def test_tasks_json_equals_csv(
    viewer: Page, console: Console, marked: Marked, tmp_path: Path
) -> None:
    """On the Tasks page, in Kolkata: the same table in both files, the module's rows in it."""
    shown_with(viewer, console, marked.uuids, tmp_path / "wait")
    table, records, raw = both_files(viewer, "tasks", tmp_path)
    assert_same_table(table, records)
    assert_times_local(table, records)
    header, rows = table
    assert header[0] == "uuid"
    csv_rows = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    by_uuid = {r["uuid"]: r for r in records}
    # The formula-like name: itself in the JSON, made inert in the CSV.
    assert by_uuid[marked.parked]["name"] == FORMULA_NAME
    assert csv_rows[marked.parked]["name"] == "'" + FORMULA_NAME
    # A parked task never reached a worker: no times, null in the JSON, empty in the CSV.
    assert by_uuid[marked.parked]["received"] is None and csv_rows[marked.parked]["received"] == ""
    # A finished task has its times and numbers.
    done = by_uuid[marked.success]
    assert time_of(done["received"]) is not None and isinstance(done["duration"], float)
    # Masked text: the keyword by its key, the Flower password wherever it was.
    assert "'password': '***'" in done["kwargs"], done["kwargs"]
    assert "***" in by_uuid[marked.failure]["exception"], by_uuid[marked.failure]
    assert_no_secret(raw, marked, "the Tasks downloads")


def test_audit_log_json_equals_csv(
    viewer: Page, console: Console, cluster: Cluster, tmp_path: Path
) -> None:
    """On the Audit log, in Kolkata, after two revokes through the console (two rows at least,
    so an order differing between the files shows): the same table."""
    revoked = [park_task(cluster, (89, 144)), park_task(cluster, (233, 377))]
    for task_id in revoked:
        open_page(viewer, console, f"/tasks?task={task_id}")
        expect(task_heading(viewer, task_id)).to_be_visible()
        confirm_action(viewer, "one_revoke", "Revoke")

    open_page(viewer, console, "/audit_log")
    table, records, _ = both_files(viewer, "audit-log", tmp_path)
    assert_same_table(table, records)
    assert_times_local(table, records)
    for task_id in revoked:
        (row,) = [r for r in records if r["targets"] == task_id]
        assert (row["action"], row["count"], row["outcome"]) == ("revoke", 1, "sent"), row


def test_overview_snapshot_downloads_without_secrets(
    page: Page, console: Console, marked: Marked, tmp_path: Path
) -> None:
    """``Download snapshot``: a JSON document naming when, which console and which cluster."""
    open_page(page, console, "/")
    path = download(page, "Download snapshot", tmp_path)
    assert path.name.startswith("snapshot-default-") and path.name.endswith(".json"), path.name
    raw = path.read_bytes()
    document = json.loads(raw)
    assert document["version"] == VERSION
    assert document["cluster"] == "default"
    made = time_of(document["generated_at"])
    assert made is not None and made <= datetime.now(UTC), document["generated_at"]
    assert len(document["workers"]) == 2, document["workers"]
    assert document["error_groups"], "the module's failure makes at least one error group"
    assert_no_secret(raw, marked, "the snapshot")
