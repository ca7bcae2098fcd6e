"""Step 16 stores the hourly rollups in their key's order on SQLite (``lib.store.clustered``):
the same rows before and after, on SQLite and PostgreSQL (left as it is there)."""

from __future__ import annotations

import random

from sqlalchemy import insert, select

from lib.store.clustered import CLUSTERED, is_clustered
from lib.store.engine import open_engine, reading, writing
from lib.store.hourly import HOUR
from lib.store.migrations import STEPS, migrate
from lib.store.schema import ROLLUP_HOUR_COUNTS, ROLLUP_HOUR_HISTOGRAMS, ROLLUP_HOUR_USAGE

NOW = 1_780_000_000


def hourly_rows(rng: random.Random) -> dict:
    hours = [NOW - NOW % HOUR - h * HOUR for h in range(30)]
    counts = {
        (h, d, v, s): rng.randint(1, 9)
        for h in hours
        for d, v in (("name", "a"), ("queue", ""), ("worker", "w1@h"))
        for s in ("SUCCESS", "FAILURE")
    }
    histograms = {(h, m, s, rng.randint(0, 200)): rng.randint(1, 9)
                  for h in hours for m in ("runtime", "wait") for s in ("a", "b", "")}  # fmt: skip
    return {
        ROLLUP_HOUR_COUNTS: [
            dict(zip(("minute", "dimension", "value", "state", "tasks"), (*k, n), strict=True))
            for k, n in counts.items()
        ],
        ROLLUP_HOUR_HISTOGRAMS: [
            dict(zip(("minute", "metric", "subject", "bucket", "tasks"), (*k, n), strict=True))
            for k, n in histograms.items()
        ],
        ROLLUP_HOUR_USAGE: [
            {"minute": h, "worker": w, "runs": 3, "runtime": rng.random(), "busy": rng.random()}
            for h in hours
            for w in ("w1@h", "w2@h")
        ],
    }


def held(engine, table) -> list[tuple]:
    with reading(engine) as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)))


def test_step_16_keeps_every_hourly_row_and_clusters_them_on_sqlite(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:15])
    rows = hourly_rows(random.Random(16))
    with writing(engine) as conn:
        for table, values in rows.items():
            conn.execute(insert(table), values)
    before = {table: held(engine, table) for table in CLUSTERED}
    assert all(len(before[table]) == len(rows[table]) for table in CLUSTERED)
    assert migrate(engine, STEPS[:16]) == 1
    assert {table: held(engine, table) for table in CLUSTERED} == before
    if engine.dialect.name == "sqlite":
        with reading(engine) as conn:
            assert all(is_clustered(conn, table.name) for table in CLUSTERED)
    assert migrate(engine, STEPS[:16]) == 0
