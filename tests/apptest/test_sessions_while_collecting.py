"""The collector writes while five AppTest sessions read (issue 12, Tests): on a real SQLite
store, the console's collector thread ingests a Flower whose task list grows all along, while
five sessions render Overview, Tasks and Trends again and again. No run raises or shows an
error, and every count on screen is one the store really held: never fewer than before the
first new task, never more than at the end, and never going back in a session.

The sessions take turns in this thread: AppTest runs one script at a time per process (its
runtime is process-wide). The collector's thread writes concurrently with every one of them.
"""

from __future__ import annotations

import os
import re
import time

from lib.settings import load_settings
from lib.store import Store
from tests.apptest.conftest import collector_caught_up, open_page
from tests.recorded import recorded_tasks

SESSIONS = 5
ROUNDS = 4
FAR = 4102444800.0  # 2100: a window end after every task
PAGES = ("Overview", "Tasks", "Trends")


def new_tasks(count: int, start: int) -> dict[str, dict]:
    """``count`` freshly finished tasks, as Flower lists them (newest events first)."""
    base = next(t for t in recorded_tasks() if t["state"] == "SUCCESS")
    now = time.time()
    made = {}
    for i in range(start, start + count):
        uuid = f"00000000-0000-4000-8000-{i:012d}"
        at = now + i * 0.001
        made[uuid] = {**base, "uuid": uuid, "received": at - 1, "started": at - 0.5}
        made[uuid].update(succeeded=at, timestamp=at, sent=at - 1.5)
    return made


def stored_count() -> int:
    store = Store.from_settings(load_settings(os.environ, {}))
    try:
        return len(store.tasks_window(0.0, FAR))
    finally:
        store.close()


def shown_count(at) -> int:
    caption = next(c.value for c in at.caption if " tasks as of " in c.value)
    return int(re.match(r"([\d,]+) tasks as of", caption).group(1).replace(",", ""))


def render(at, page: str) -> int | None:
    """Rerun one session; the number of tasks the Tasks page says it shows."""
    if page == "Tasks":  # the Tasks page keeps its rows until Refresh
        next(b for b in at.button if b.label == "Refresh").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return shown_count(at) if page == "Tasks" else None


def test_the_collector_writes_while_five_sessions_read(recorded_flower):
    open_page("Overview")  # starts the collector
    collector_caught_up()
    before = stored_count()
    pages = [PAGES[i % len(PAGES)] for i in range(SESSIONS)]  # two Overview, two Tasks, Trends
    sessions = [open_page(page) for page in pages]
    counts: list[list[int]] = [[] for _ in pages]
    added = 0
    for _ in range(ROUNDS):
        # Flower's list grows; the collector's thread writes it while the sessions render.
        recorded_flower.extra_tasks.update(new_tasks(3, added))
        added += 3
        for at, page, seen in zip(sessions, pages, counts, strict=True):
            if (count := render(at, page)) is not None:
                seen.append(count)
    collector_caught_up()
    after = stored_count()
    assert after == before + added, "every new task reached the store"
    shown = [c for per_session in counts for c in per_session]
    assert len(shown) == 2 * ROUNDS and all(before <= c <= after for c in shown), shown
    assert all(s == sorted(s) for s in counts), "a session never shows fewer tasks than before"
    finally_shown = [render(at, page) for at, page in zip(sessions, pages, strict=True)]
    assert [c for c in finally_shown if c is not None] == [after, after], "caught up: all of it"
