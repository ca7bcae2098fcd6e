"""End to end in Chromium: every page renders, and the Tasks page's table, CSV and deep links
agree with what Flower says about a known set of real tasks (see ``conftest.sent_tasks``).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from demo.cluster import Cluster
from tests.browser.conftest import REPO_ROOT, Console, SentTasks, open_page, settle

pytestmark = pytest.mark.browser

PAGES = {
    "Overview": "/",
    "Workers": "/workers",
    "Tasks": "/tasks",
    "Queues": "/queues",
    "Alerts": "/alerts",
    "Trends": "/trends",
    "Errors": "/errors",
    "Workflows": "/workflows",
    "Audit log": "/audit_log",
}
README_SHOT = REPO_ROOT / "docs" / "screenshot.png"
MATCHING = re.compile(r"([\d,]+) matching tasks")


def page_title(page: Page, title: str) -> Locator:
    """The page's ``st.title``: an ``stHeading`` holding an h1 with exactly ``title``."""
    h1 = page.locator("h1", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    return page.get_by_test_id("stHeading").filter(has=h1)


def assert_no_exception(page: Page) -> None:
    """No uncaught exception box and no error alert on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def full_page_screenshot(page: Page, path: Path) -> None:
    """Screenshot the whole page, not just the viewport.

    Streamlit scrolls inside ``stMain``, so Playwright's ``full_page`` alone stops at the
    viewport: the viewport is stretched to the main area's full height for the shot.
    """
    viewport = page.viewport_size
    assert viewport is not None
    needed = page.get_by_test_id("stMain").evaluate(
        "el => Math.ceil(el.getBoundingClientRect().top + el.scrollHeight)"
    )
    if needed > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": needed})
        settle(page)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)


def matching_count(page: Page) -> int:
    """N from the Tasks page's ``N matching tasks`` caption."""
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text=MATCHING)
    expect(caption).to_have_count(1)
    found = MATCHING.search(caption.inner_text())
    assert found, caption.inner_text()
    return int(found.group(1).replace(",", ""))


def download_tasks_csv(page: Page, into: Path) -> list[dict[str, str]]:
    """Click the Tasks page's ``Download CSV`` button; the downloaded file's rows."""
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV")
    expect(button).to_have_count(1)
    with page.expect_download() as info:
        button.locator("button").click()
    download = info.value
    assert download.suggested_filename.startswith("tasks-")
    assert download.suggested_filename.endswith(".csv")
    target = into / download.suggested_filename
    download.save_as(target)
    with target.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames is not None
        # The effective state, then Flower's own state beside it (issue 10, point 4), then
        # what the console adds about the task: its flag and a purge's mark (issue 14).
        assert reader.fieldnames[:8] == [
            *("uuid", "name", "state", "flower_state", "flag", "purged", "worker", "queue")
        ]
        return list(reader)


@pytest.mark.parametrize("title", list(PAGES))
def test_page_renders(page: Page, console: Console, shots_dir: Path, title: str) -> None:
    """Each page shows its title, data and no exception; a full-page screenshot is kept."""
    open_page(page, console, PAGES[title])
    expect(page_title(page, title)).to_be_visible()
    # Every page ends in at least one table once Flower's data has arrived.
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    if title == "Overview":
        expect(page.get_by_test_id("stMetric")).to_have_count(7)
    settle(page)
    assert_no_exception(page)
    shot = shots_dir / f"{title.lower()}.png"
    full_page_screenshot(page, shot)
    if title == "Overview" and os.environ.get("UPDATE_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(exist_ok=True)
        README_SHOT.write_bytes(shot.read_bytes())


def test_tasks_csv_matches_caption_and_flower(
    page: Page, console: Console, cluster: Cluster, sent_tasks: SentTasks, tmp_path: Path
) -> None:
    """The CSV holds exactly the rows counted in the caption, with Flower's states."""
    open_page(page, console, "/tasks")
    expect(page_title(page, "Tasks")).to_be_visible()
    count = matching_count(page)
    rows = download_tasks_csv(page, tmp_path)
    assert len(rows) == count
    states = {row["uuid"]: row["state"] for row in rows}
    assert len(states) == len(rows), "a uuid appears twice in the CSV"
    missing = [uuid for uuid in sent_tasks.uuids if uuid not in states]
    assert not missing, f"sent tasks missing from the CSV: {missing}"
    by_uuid = {row["uuid"]: row for row in rows}
    for uuid in sent_tasks.uuids:
        resp = cluster.flower_get(f"/api/task/info/{uuid}")
        resp.raise_for_status()
        info = resp.json()
        assert states[uuid] == info["state"], uuid
        assert by_uuid[uuid]["name"] == info["name"], uuid
        assert by_uuid[uuid]["worker"] == info["worker"], uuid
    assert {states[u] for u in sent_tasks.successes} == {"SUCCESS"}
    assert {states[u] for u in sent_tasks.failures} == {"FAILURE"}
    assert_no_exception(page)


def test_task_deep_link_shows_failure_detail(
    page: Page, console: Console, sent_tasks: SentTasks
) -> None:
    """``/tasks?task=<uuid>`` opens that failed task: its subheader and its exception."""
    uuid, ref = next(iter(sent_tasks.failures.items()))
    open_page(page, console, f"/tasks?task={uuid}")
    heading = page.get_by_test_id("stHeading").filter(has_text=f"Task {uuid}")
    expect(heading).to_be_visible()
    expect(heading.locator("h3")).to_have_count(1)
    expect(
        page.get_by_test_id("stCode").filter(has_text=f"record {ref} not found")
    ).not_to_have_count(0)
    state = page.get_by_test_id("stMetric").filter(has_text="State")
    expect(state.get_by_test_id("stMetricValue")).to_have_text("FAILURE")
    assert_no_exception(page)


def test_state_deep_link_filters_the_csv(
    page: Page, console: Console, sent_tasks: SentTasks, tmp_path: Path
) -> None:
    """``/tasks?state=FAILURE`` shows, and downloads, only failures — at least the ones sent."""
    open_page(page, console, "/tasks?state=FAILURE")
    count = matching_count(page)
    rows = download_tasks_csv(page, tmp_path)
    assert len(rows) == count
    assert {row["state"] for row in rows} == {"FAILURE"}
    assert set(sent_tasks.failures) <= {row["uuid"] for row in rows}
    assert_no_exception(page)


def test_first_visit_uses_the_app_navigation(console: Console, sent_tasks: SentTasks) -> None:
    """The server's very first visit, a deep link, runs app.py once: its navigation and sidebar
    status, one page start (one login-off banner), and the deep link itself, no ``?goto=`` hop.
    """
    first = console.first_visit
    assert set(PAGES) <= set(console.app_nav)
    assert first.nav == console.app_nav
    assert first.status_captions == 1 and first.login_off_banners == 1
    task = next(iter(sent_tasks.failures))
    assert first.url == f"{console.url}/tasks?task={task}"


def test_login_off_banner_shows_once(page: Page, console: Console) -> None:
    """With OPS_AUTH=off a page warns exactly once that login is off."""
    open_page(page, console, "/workers")
    expect(page_title(page, "Workers")).to_be_visible()
    banner = page.get_by_test_id("stAlertContentWarning").filter(has_text="OPS_AUTH=off")
    expect(banner.first).to_be_visible()
    assert banner.count() == 1
