"""Benchmark: the Tasks page's text search on a big store (issue 13 point 7). Prints, never asserts.

On a store ``bench.million`` filled (``--url``; kept between runs, 1M tasks for the goal), with
this checkout's code:

1. Migrate: opening the store applies what this code adds (step 18, the text index); its wall
   time is how long the collector's writes wait behind it.
2. Size: the store's bytes per task (SQLite: the file with its WAL checkpointed; the index's
   own tables by ``dbstat``; PostgreSQL: ``pg_total_relation_size`` of tasks and each index).
3. Search: ``Store.tasks_page(TaskFilter(text=needle), 10,000)``, the Tasks page's read, for a
   rare needle (one task's id), needles in a few percent of the tasks, one in half of them,
   short ones (no trigram: the scan) and one in none; cold then warm (best of ``--runs``), with
   the count and whether it is "more than".

Run from the repo root: ``.venv/bin/python -m bench.search --url sqlite:///…/million.sqlite3``.
The machine may be shared: the load average is printed beside the times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sqlalchemy import text

from lib.frames import TaskFilter
from lib.store import Store
from lib.store.engine import reading

__all__ = ["main", "needles", "search_figures", "size_figures"]

PAGE = 10_000  # the Tasks page's rows (screens/tasks.py MAX_ROWS)


def needles(store: Store) -> dict[str, str]:
    """What to search for, by what it finds in ``bench.million``'s synthetic tasks."""
    with reading(store.engine) as conn:
        uuid = conn.execute(text("SELECT uuid FROM tasks ORDER BY uuid LIMIT 1 OFFSET 4321"))
        rare = uuid.scalar()[-12:]
    return {
        "rare (1 task's id)": rare,
        "a name (~3 %)": "etl.c",
        "failures (~5 %)": "connectionerror",
        "half the store": "sku-19 user",
        "short, common": "42",
        "short, in none": "q$",
        "in none": "no such text",
    }


def counted(page) -> str:
    """The page's count as it says it (the code before step 18 counted every match exactly;
    this bench runs on it too, for the before figures)."""
    return getattr(page, "matching_text", None) or f"{page.matching:,}"


def search_figures(store: Store, runs: int) -> list[str]:
    lines = []
    for label, needle in needles(store).items():
        wanted = TaskFilter(text=needle)
        began = time.perf_counter()
        page = store.tasks_page(wanted, PAGE)
        cold = time.perf_counter() - began
        warm = []
        for _ in range(runs):
            began = time.perf_counter()
            store.tasks_page(wanted, PAGE)
            warm.append(time.perf_counter() - began)
        lines.append(
            f"  {label:22} {needle!r:18} {counted(page):>18} matching  "
            f"cold {cold:6.2f} s  warm {min(warm):6.2f} s  (load {os.getloadavg()[0]:.1f})"
        )
    return lines


def size_figures(store: Store, url: str) -> list[str]:
    count = store.task_count()
    with reading(store.engine) as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(url.removeprefix("sqlite:///"))
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            index = conn.execute(
                text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'tasks_text%'")
            ).scalar()
            return [
                f"  file {size / 1e6:,.0f} MB for {count:,} tasks = {size / count:,.0f} B/task; "
                f"the text index {index / 1e6:,.0f} MB = {index / count:,.0f} B/task"
            ]
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_index i ON i.indexrelid = c.oid WHERE i.indrelid = 'tasks'::regclass"
            )
        ).all()
        total = conn.execute(text("SELECT pg_total_relation_size('tasks')")).scalar()
    lines = [f"  tasks with its indexes {total / 1e6:,.0f} MB = {total / count:,.0f} B/task"]
    for name, size in sorted(rows):
        if name.endswith("_trgm"):
            lines.append(f"    {name}: {size / 1e6:,.1f} MB = {size / count:,.0f} B/task")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a store bench.million filled")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; opening (migrating) the store…")
    began = time.perf_counter()
    store = Store(args.url)
    print(f"opened in {time.perf_counter() - began:.1f} s (the migration holds the write lock)")
    try:
        print("size:", *size_figures(store, args.url), sep="\n")
        print(
            f"search, the newest {PAGE:,} and the count:",
            *search_figures(store, args.runs),
            sep="\n",
        )
    finally:
        store.close()


if __name__ == "__main__":
    main()
