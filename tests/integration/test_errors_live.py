"""A known mix of real failures on a real cluster: categories, groups and the Errors page.

Each ``demo.flaky`` kind raises what real code raises; the expected category and signature of
each is written out by hand below, not derived from the code under test.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from lib import failures, frames
from lib.flower import FlowerClient
from tests.apptest.conftest import collector_caught_up
from tests.live import send, wait_final

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CONNECTION = (
    "connection",
    "ConnectionRefusedError",
    "Error <n> connecting to <host>. Connection refused.",
)
EMAIL = ("validation/value", "ValueError", "invalid email address: <str>")
MISSING = ("not found/lookup", "LookupError", "record <n> not found")
OOM = (
    "memory",
    "OutOfMemoryError",
    "CUDA out of memory. Tried to allocate <n> GiB (GPU <n>; <n> GiB total capacity; <n> GiB already allocated)",
)
#: (kind, ref) → the group it must land in: (category, exception type, signature).
MIX = [
    (("timeout", 11), ("timeout", "TimeoutError", "request to <url> timed out after <n>s")),
    (("soft_timeout", 1), ("timeout", "SoftTimeLimitExceeded", "")),
    (("connection", 0), CONNECTION),  # db:5432
    (("connection", 2), CONNECTION),  # cache:6380
    (("connection", 5), CONNECTION),  # warehouse-db:5432
    (("oom", 5), OOM),
    (("oom_killed", 1), ("memory", "WorkerLostError", "Worker exited prematurely: signal <n> (SIGKILL) Job: <n>.")),
    (("validation", 1), EMAIL),
    (("validation", 2), EMAIL),
    (("missing", 7), MISSING),
    (("missing", 1234), MISSING),
    (("key", 9), ("not found/lookup", "KeyError", "customer_<n>")),
]  # fmt: skip


def run_mix(cluster, producer) -> dict[str, tuple[str, str, str]]:
    sent = {send(producer, "demo.flaky", kind, ref=ref): group for (kind, ref), group in MIX}
    ok = [send(producer, "demo.flaky", "ok") for _ in range(3)]
    final = wait_final(cluster, [*sent, *ok], timeout=90)
    assert {final[u]["state"] for u in sent} == {"FAILURE"}
    return sent


def errors_page_groups(timeout: float = 60) -> Counter:
    """The Errors page's signature table as {(category, type, signature): count}."""
    st.cache_resource.clear()  # a fresh monitor, as a new console would have
    collector_caught_up()  # the console's collector (if running) has polled what ran until now
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page("screens/errors.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Errors"
    tables = [d.value for d in at.dataframe if "signature" in d.value.columns]
    if not tables:
        return Counter()
    rows = tables[0][["category", "exception_type", "signature", "count"]]
    return Counter({(c, t, s or ""): int(n) for c, t, s, n in rows.itertuples(index=False)})


def test_known_failures_get_the_expected_category_and_group(cluster, producer):
    sent = run_mix(cluster, producer)
    client = FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=10)
    tasks = frames.tasks_frame(client.list_tasks(limit=100_000))
    mine = tasks[tasks["uuid"].isin(list(sent))]
    got = failures.failures_frame(mine, failures.load_rules()).set_index("uuid")
    for uuid, (category, kind, sig) in sent.items():
        assert (got.loc[uuid, "category"], got.loc[uuid, "exception_type"]) == (category, kind)
        assert got.loc[uuid, "signature"] == sig
    groups = failures.error_groups_frame(got.reset_index())
    counted = Counter(
        {(c, t, s): n for c, t, s, n in groups[["category", "exception_type", "signature", "count"]].itertuples(index=False)}
    )  # fmt: skip
    assert counted == Counter(sent.values())
    assert counted[CONNECTION] == 3, "db:5432, cache:6380 and warehouse-db:5432 are one group"


def test_errors_page_counts_the_new_failures(live_env, producer):
    before = errors_page_groups()
    run_mix(live_env, producer)
    after = errors_page_groups()
    # Nothing else runs on the cluster meanwhile, so the page's counts grew by exactly the mix.
    assert after - before == Counter(group for _, group in MIX)
    assert not +(before - after), "no group lost failures"
