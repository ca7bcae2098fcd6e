"""Charts in Chromium: a browser in a zone other than UTC shows chart times as its own wall
clock, once — Streamlit shifts naive times by the browser's offset and Vega-Lite formats on a
local scale, either of which would move the axis by the zone's offset (5:30 in Kolkata).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import VIEWPORT, Console, SentTasks, open_page

pytestmark = pytest.mark.browser

KOLKATA = "Asia/Kolkata"  # UTC+5:30: no whole-hour mistake can land inside the window
CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
#: A tooltip's time: "Nov 30, 2026 22:28:00" → "22:28".
TIP_TIME = re.compile(r"\b(\d{2}:\d{2}):\d{2}\b")


def minutes_back(label: str, now: datetime) -> float:
    """How many minutes before ``now`` an ``HH:MM`` axis label lies (on a 24 h circle)."""
    hours, minutes = label.split(":")
    label_minutes = int(hours) * 60 + int(minutes)
    now_minutes = now.hour * 60 + now.minute + now.second / 60
    return (now_minutes - label_minutes) % (24 * 60)


def test_the_pulse_axis_and_tooltip_read_the_viewers_wall_clock_in_a_kolkata_browser(
    browser: Browser, console: Console, sent_tasks: SentTasks
) -> None:
    context = browser.new_context(viewport=VIEWPORT, timezone_id=KOLKATA)
    context.set_default_timeout(30_000)
    try:
        tab = context.new_page()
        open_page(tab, console, "/")
        pulse = tab.get_by_test_id("stVegaLiteChart").filter(has_text="tasks / min")
        expect(pulse.locator("svg")).to_be_visible()
        texts = pulse.locator(".role-axis-label text").all_text_contents()
        # The last point is the current minute; its tooltip says when, in words and numbers.
        pulse.locator(".mark-symbol.role-mark path").last.hover(force=True)
        tip = tab.locator("#vg-tooltip-element")
        expect(tip).to_contain_text("tasks / min")
        said = tip.inner_text()
        now = datetime.now(ZoneInfo(KOLKATA))
    finally:
        context.close()
    assert "time (Asia/" in said, said  # Chromium names the zone by its alias, Asia/Calcutta
    (hovered,) = TIP_TIME.findall(said)
    assert minutes_back(hovered, now) <= 2, (said, now)
    times = [t for t in texts if CLOCK.match(t)]
    assert len(times) >= 2, texts
    # The pulse spans the last hour: every tick lies in it, read in Kolkata.
    late = {t: minutes_back(t, now) for t in times}
    assert all(back <= 65 or back >= 24 * 60 - 2 for back in late.values()), (late, now)
