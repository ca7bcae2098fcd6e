"""Bench-only: timing a console page in Chromium by the browser suite's rule (tests/browser).

A page is shown once it is *idle with data*: connected, script ``notRunning``, no skeleton, a
table (``stDataFrame``) visible, on the Overview also its 7 KPI cards. A page opened by its
address is timed in the page (``IDLE_WITH_DATA``, checked at every animation frame: the first
moment all hold). A page chosen in the sidebar is timed by the suite's ``settle`` (which starts
with a 200 ms pause so the rerun the click asked for has begun: the page before it was idle with
data too), then data visible, settled again when it came later. A page left without data is
screenshotted into ``SHOTS`` to show what it said.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import VIEWPORT, launched_chromium, settle

__all__ = [
    "IDLE_WITH_DATA",
    "SHOTS",
    "Shown",
    "chromium",
    "click_timed",
    "open_timed",
    "processed_card",
    "returning_browser",
    "time_page",
]


@dataclass
class Shown:
    """One page visit: seconds to data visible and to idle with data (None: not within cap)."""

    data: float | None
    idle: float | None
    note: str = ""

    def cell(self) -> str:
        return "no data" if self.idle is None else f"{self.idle:.2f} s"


def time_page(
    browser: Browser,
    url: str,
    overview: bool,
    cap: float,
    returning: BrowserContext | None = None,
) -> Shown:
    """Open ``url`` in a new tab, of a fresh context (a new browser profile: nothing cached)
    or of ``returning`` (a browser that has opened the console before: Streamlit's frontend
    in its cache); when data is visible, then when idle with it."""
    context = returning or browser.new_context(viewport=VIEWPORT, timezone_id="UTC")
    tab = context.new_page()
    try:
        return open_timed(tab, url, cap, overview)
    finally:
        tab.close() if returning else context.close()


def returning_browser(browser: Browser, url: str, cap: float) -> BrowserContext:
    """A browser context that has opened the console at ``url`` once (its cache filled)."""
    context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC")
    tab = context.new_page()
    open_timed(tab, url, cap)
    tab.close()
    return context


def click_timed(tab: Page, title: str, overview: bool, cap: float) -> Shown:
    """Choose the page ``title`` in the open ``tab``'s sidebar (no reload: the app reruns on
    its websocket); when data is visible, then when idle with it."""
    link = tab.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    began = time.perf_counter()
    link.click(timeout=cap * 1000)
    return _until_data(tab, began, overview, cap)


def _until_data(tab: Page, began: float, overview: bool, cap: float) -> Shown:
    """The suite's rule: settle, then data visible; data later than the first idle run
    (a fragment's rerun, say) is waited for up to ``cap`` and settled again."""
    left = lambda: max(1.0, cap - (time.perf_counter() - began)) * 1000  # noqa: E731
    tab.get_by_test_id("stAppViewContainer").wait_for(timeout=left())
    try:
        settle(tab, timeout=left())
    except Exception as exc:  # still running at the cap
        return _no_data(tab, f"not idle within {cap:g} s ({type(exc).__name__})")
    first_idle = time.perf_counter() - began
    try:
        expect(tab.get_by_test_id("stDataFrame").first).to_be_visible(timeout=left())
        if overview:
            expect(tab.get_by_test_id("stMetric")).to_have_count(7, timeout=left())
    except AssertionError:
        return _no_data(tab, f"idle at {first_idle:.1f} s without data, none by {cap:g} s")
    data = time.perf_counter() - began
    if data - first_idle < 0.05:  # on screen at the first idle: that is the time
        return Shown(first_idle, first_idle)
    settle(tab, timeout=left())
    return Shown(data, time.perf_counter() - began, f"first idle {first_idle:.1f} s had no data")


SHOTS = Path(tempfile.gettempdir()) / "bench-pages-shots"


def _no_data(tab: Page, note: str) -> Shown:
    """A visit that ended without data: keep a screenshot to show what the page said."""
    SHOTS.mkdir(exist_ok=True)
    name = "".join(ch if ch.isalnum() else "-" for ch in tab.url.split("//", 1)[-1])
    shot = SHOTS / f"{time.strftime('%H%M%S')}-{name}.png"
    try:
        tab.screenshot(path=str(shot), full_page=True)
        note += f"; screenshot {shot}"
    except PlaywrightError as exc:  # the timing stands; only its picture is missing
        note += f"; no screenshot ({exc.message.splitlines()[0]})"
    return Shown(None, None, note)


#: The browser suite's Chromium, launched the same way.
chromium = launched_chromium


def processed_card(tab: Page) -> str:
    card = tab.get_by_test_id("stMetric").filter(has_text="Processed")
    try:
        return card.get_by_test_id("stMetricValue").inner_text(timeout=5000)
    except Exception:
        return "?"


def open_timed(tab: Page, url: str, cap: float, overview: bool = True) -> Shown:
    """Open ``url`` in ``tab``: the moment the page is first idle with data (``IDLE_WITH_DATA``,
    checked in the page at every frame: a new page has no earlier run to be mistaken for)."""
    began = time.perf_counter()
    tab.goto(url, timeout=cap * 1000)
    left = max(1.0, cap - (time.perf_counter() - began)) * 1000
    try:
        tab.wait_for_function(IDLE_WITH_DATA, arg=7 if overview else 0, polling="raf", timeout=left)
    except PlaywrightError:  # the cap passed: what the page said instead
        return _no_data(tab, f"not idle with data within {cap:g} s")
    shown = time.perf_counter() - began
    return Shown(shown, shown)


#: In the page: connected, the script not running, no skeleton, a table on screen (and on the
#: Overview its 7 KPI cards): the browser suite's rule without its fixed 200 ms pause, which is
#: there for a rerun a click has just asked for (``click_timed`` keeps it).
IDLE_WITH_DATA = """(cards) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testConnectionState !== "CONNECTED") return false;
  if (app.dataset.testScriptState !== "notRunning") return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const tables = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(shown);
  const metrics = [...document.querySelectorAll('[data-testid="stMetric"]')].filter(shown);
  return tables.length > 0 && metrics.length >= cards;
}"""
