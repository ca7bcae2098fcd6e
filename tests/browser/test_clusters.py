"""Several clusters in Chromium (issue 17): what only a real browser shows — a link column's
link followed into a new tab (a new session, which knows the cluster only from the address),
the sidebar's switcher changing the address, each cluster's pages holding only its own tasks.

One console for the module, served on the session's ``two_clusters`` (alpha and beta: each
redis + one worker + Flower behind a request-logging proxy), with its own data directory. Each
cluster gets a few tasks of its own before the server starts (distinctive arguments, one
failure each), all final in its Flower, so each cluster's first poll holds them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from lib.clusters import REPLACED
from tests.browser.conftest import (
    REPO_ROOT,
    _fresh_tab,
    download_csv,
    log_tail,
    open_page,
    serve_console,
    settle,
    task_heading,
)
from tests.browser.test_console import (
    assert_no_exception,
    full_page_screenshot,
    matching_count,
    page_title,
)
from tests.live import producer_app, send, wait_final
from tests.two_clusters import TwoClusters

pytestmark = pytest.mark.browser

DOCS_SHOT = REPO_ROOT / "docs" / "all-clusters.png"
#: Each cluster's ``demo.add`` arguments (distinctive: no other test sends these) and the
#: ``ref`` of its one failing ``demo.flaky``; different counts, so the two rows differ.
ADDS = {
    "alpha": tuple((71_100 + i, 3) for i in range(5)),
    "beta": tuple((82_200 + i, 5) for i in range(3)),
}
FAIL_REF = {"alpha": 71_999, "beta": 82_999}
#: st.dataframe's row height (header included): row ``i``'s centre is at 35 * (i + 1) + 17.5.
ROW_HEIGHT = 35
#: The width of a selectable table's row-marker column (px; its checkboxes show the pointer too).
ROW_MARKERS = 40
#: How far apart the mouse probes a row for a link (px): less than a short link's width.
PROBE_STEP = 6


@dataclass(frozen=True)
class ClusterTasks:
    """The tasks sent to one cluster: its successes' ids and its one failure's id."""

    successes: tuple[str, ...]
    failure: str

    @property
    def uuids(self) -> set[str]:
        return {*self.successes, self.failure}


@dataclass(frozen=True)
class Served:
    """The console over both clusters: base URL and server log."""

    url: str
    log_path: Path

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)


@pytest.fixture(scope="module")
def cluster_tasks(two_clusters: TwoClusters) -> dict[str, ClusterTasks]:
    """Each cluster's own tasks, sent to it alone; returned once its Flower has them final."""
    sent: dict[str, ClusterTasks] = {}
    for member in two_clusters:
        app = producer_app(member.cluster)
        try:
            adds = tuple(send(app, "demo.add", *args) for args in ADDS[member.name])
            failure = send(app, "demo.flaky", kind="missing", ref=FAIL_REF[member.name], seconds=0)
        finally:
            app.close()
        sent[member.name] = ClusterTasks(adds, failure)
    for member in two_clusters:
        wait_final(member.cluster, sent[member.name].uuids)
    return sent


@pytest.fixture(scope="module")
def served(
    two_clusters: TwoClusters,
    cluster_tasks: dict[str, ClusterTasks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """The console on the clusters file: login off, 1 s polls, 2 s Flower timeout by default.

    ``serve_console`` starts from one cluster's single-cluster variables; they are blanked, so
    the file alone names the clusters (and no page says the file overrides them).
    """
    blank = dict.fromkeys(REPLACED, "")
    workdir = tmp_path_factory.mktemp("streamlit-clusters")
    env = {**blank, **two_clusters.environ()}
    with serve_console(two_clusters.alpha.cluster, workdir, env) as (url, log_path):
        yield Served(url, log_path)


@pytest.fixture
def tab(
    browser: Browser, served: Served, shots_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page in a fresh context (its own Streamlit session) on ``served``."""
    with _fresh_tab(browser, served.log_path, shots_dir, request) as page:
        yield page


# ------------------------------------------------------------------------------ helpers


def grid_row(grid: Locator, row: int) -> Locator:
    """Data row ``row`` (0-based) of a dataframe's accessible table (inside its canvas: it
    holds the cells drawn in view, a link cell's text being its href)."""
    return grid.locator("table tbody tr").nth(row)


def cell_texts(grid: Locator, row: int) -> list[str]:
    """The texts of data row ``row``'s cells in view."""
    return grid_row(grid, row).locator("td").all_text_contents()


def follow_link(page: Page, grid: Locator, row: int, skip: int = 2) -> Page:
    """Click the one link of data row ``row`` as a user does; the new tab it opens, loaded.

    The grid is a canvas: the mouse moves along the row, from ``skip`` px in (past the row
    markers of a selectable table: ``ROW_MARKERS``), until the canvas shows the pointer cursor
    (over a link's text), and clicks there.
    """
    canvas = grid.get_by_test_id("data-grid-canvas")
    box = canvas.bounding_box()
    assert box is not None, "the table is not on screen"
    y = box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2
    for x in range(int(box["x"]) + skip, int(box["x"] + box["width"]), PROBE_STEP):
        page.mouse.move(x, y)
        if canvas.evaluate("el => el.style.cursor") == "pointer":
            break
    else:
        raise AssertionError(f"no link in view on row {row}: {cell_texts(grid, row)}")
    with page.context.expect_page() as opened:
        page.mouse.click(x + 2, y)
    new = opened.value
    new.get_by_test_id("stAppViewContainer").wait_for()
    settle(new)
    return new


def cluster_caption(page: Page, label: str) -> Locator:
    """A page's ``Cluster: <label>`` caption under its title."""
    return page.get_by_test_id("stCaptionContainer").filter(has_text=f"Cluster: {label}")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def tasks_csv_uuids(page: Page, into: Path) -> set[str]:
    """The uuids of the Tasks page's CSV (its table's rows), as many as its caption counts."""
    rows = download_csv(page, into, "tasks")
    assert len(rows) == matching_count(page)
    return {row["uuid"] for row in rows}


def switch_cluster(page: Page, label: str) -> None:
    """Pick ``label`` in the sidebar's ``Cluster`` selectbox."""
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
    picker = picker.filter(has_text="Cluster")
    picker.click()
    page.get_by_role("option", name=label, exact=True).click()
    settle(page)
    expect(picker.get_by_role("combobox")).to_have_value(label)


# ------------------------------------------------------------------------------ tests


def test_all_clusters_rows_and_link_into_beta(tab: Page, served: Served, tmp_path: Path) -> None:
    """/all_clusters lists alpha and beta, each with its one worker online and no problem, its
    link into the cluster in view beside its name; beta's, clicked, opens a tab (its own
    session) on beta's Overview."""
    open_page(tab, served, "/all_clusters")
    expect(page_title(tab, "All clusters")).to_be_visible()
    grid = tab.get_by_test_id("stDataFrame").first
    for row, (name, title) in enumerate((("alpha", "Alpha"), ("beta", "Beta"))):
        # The figures come with the first polls: the page refreshes itself every poll.
        expect(grid_row(grid, row).locator("td")).to_contain_text(
            [title, name, f"./?cluster={name}", "1 of 1"], timeout=30_000
        )
    settle(tab)
    assert_no_exception(tab)
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        full_page_screenshot(tab, DOCS_SHOT)
    rows = {row["name"]: row for row in download_csv(tab, tmp_path, "all-clusters")}
    assert set(rows) == {"alpha", "beta"}
    for row in rows.values():
        assert (row["workers_online"], row["problem"]) == ("1 of 1", ""), row

    beta = follow_link(tab, grid, 1)
    assert urlsplit(beta.url).path == "/"
    assert query(beta.url)["cluster"] == ["beta"]
    expect(page_title(beta, "Overview")).to_be_visible()
    expect(cluster_caption(beta, "Beta")).to_be_visible()
    assert_no_exception(beta)
    beta.close()
    assert query(tab.url)["cluster"] == ["alpha"], "the first tab stays on the first cluster"


def test_switcher_keeps_the_page_and_shows_only_that_clusters_tasks(
    tab: Page, served: Served, cluster_tasks: dict[str, ClusterTasks], tmp_path: Path
) -> None:
    """On Tasks, picking Beta in the sidebar stays on Tasks with ``cluster=beta`` in the
    address; each cluster's table holds its own tasks and none of the other's."""
    alpha, beta = cluster_tasks["alpha"], cluster_tasks["beta"]
    open_page(tab, served, "/tasks")
    expect(page_title(tab, "Tasks")).to_be_visible()
    expect(cluster_caption(tab, "Alpha")).to_be_visible()
    assert query(tab.url)["cluster"] == ["alpha"], "the first cluster, written into the address"
    shown = tasks_csv_uuids(tab, tmp_path / "alpha")
    assert alpha.uuids <= shown and not beta.uuids & shown

    switch_cluster(tab, "Beta")
    expect(page_title(tab, "Tasks")).to_be_visible()
    expect(cluster_caption(tab, "Beta")).to_be_visible()
    assert urlsplit(tab.url).path == "/tasks"
    assert query(tab.url)["cluster"] == ["beta"]
    shown = tasks_csv_uuids(tab, tmp_path / "beta")
    assert beta.uuids <= shown and not alpha.uuids & shown

    search = tab.get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    search.fill(str(ADDS["beta"][0][0]))  # one of beta's arguments: one of its tasks
    search.press("Enter")
    settle(tab)
    assert matching_count(tab) == 1
    assert_no_exception(tab)


def test_errors_sample_task_link_opens_that_clusters_task(
    tab: Page, served: Served, cluster_tasks: dict[str, ClusterTasks]
) -> None:
    """On beta's Errors page the sample-task link names beta; followed into a new tab (a new
    session, which knows only the address) it opens beta's failed task, not the first
    cluster's page."""
    failure = cluster_tasks["beta"].failure
    open_page(tab, served, "/errors?cluster=beta")
    expect(cluster_caption(tab, "Beta")).to_be_visible()
    # The signatures table is below the charts and wider than the page, its link column last:
    # scrolled into view, then sideways (the grid draws, and lists, only the cells in view).
    grid = tab.get_by_test_id("stDataFrame")
    expect(grid).to_have_count(1)
    grid.scroll_into_view_if_needed()
    grid.hover()
    tab.mouse.wheel(4_000, 0)
    expect(grid.locator("table th")).to_contain_text(["sample task"])
    link = f"tasks?cluster=beta&task={failure}"
    expect(grid_row(grid, 0).locator("td")).to_contain_text([link])
    assert_no_exception(tab)

    opened = follow_link(tab, grid, 0, skip=ROW_MARKERS)
    assert opened.url == urljoin(tab.url, link)
    expect(task_heading(opened, failure)).to_be_visible()
    expect(cluster_caption(opened, "Beta")).to_be_visible()
    assert_no_exception(opened)
    opened.close()
