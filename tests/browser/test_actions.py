"""Task actions end to end, against the login-off console (the local user is admin).

Retry and Revoke go from the task detail's button through the confirmation dialog to Flower,
the workers and the audit log; Cancel sends and records nothing. The audit-log test reads what
the Retry and Revoke tests did from ``ledger`` (and does it itself when they did not run).
"""

from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from demo.cluster import Cluster
from tests.browser.conftest import (
    Console,
    SentTasks,
    confirm_action,
    download_csv,
    keyed,
    open_page,
    park_task,
    revoked_everywhere,
    settle,
    task_heading,
    wait_until,
    workers_revoked,
)

pytestmark = pytest.mark.browser

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Flower keeps every task of this small cluster; more than enough to see them all.
FLOWER_LIMIT = 1000


@dataclass
class Ledger:
    """What this module's action tests did: ``retried`` = (old id, new id), ``revoked`` = id."""

    retried: tuple[str, str] | None = None
    revoked: str | None = None


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    """Shared by the tests of this module (filled in by the Retry and Revoke tests)."""
    return Ledger()


def flower_task(cluster: Cluster, task_id: str) -> dict[str, Any]:
    """Flower's record of one task."""
    resp = cluster.flower_get(f"/api/task/info/{task_id}")
    resp.raise_for_status()
    info: dict[str, Any] = resp.json()
    return info


def same_call(task: dict[str, Any], original: dict[str, Any]) -> bool:
    """True when ``task`` has ``original``'s name, args and kwargs (Flower's repr strings)."""
    if task.get("name") != original["name"]:
        return False
    try:
        return ast.literal_eval(task["args"]) == ast.literal_eval(original["args"]) and (
            ast.literal_eval(task["kwargs"]) == ast.literal_eval(original["kwargs"])
        )
    except (KeyError, TypeError, ValueError, SyntaxError):  # not received by a worker yet
        return False


def twins_in_flower(cluster: Cluster, original: dict[str, Any], known: set[str]) -> set[str]:
    """Ids of tasks Flower holds, other than ``known``, that repeat ``original``'s call."""
    resp = cluster.flower_get(
        "/api/tasks", limit=FLOWER_LIMIT, taskname=original["name"], timeout=5
    )
    resp.raise_for_status()
    tasks: dict[str, dict[str, Any]] = resp.json()
    return {uuid for uuid, task in tasks.items() if uuid not in known and same_call(task, original)}


def reload_until(page: Page, console: Console, path: str, target: Locator, timeout: float) -> None:
    """Reload ``path`` until ``target`` is on the page; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        settle(page)
        if target.count():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{target} not on {path} after {timeout:g} s of reloads")
        open_page(page, console, path)


def retry_through_console(page: Page, console: Console, old: str) -> str:
    """Retry task ``old`` from its detail; the new task's id, as the toast names it."""
    open_page(page, console, f"/tasks?task={old}")
    expect(task_heading(page, old)).to_be_visible()
    note = confirm_action(page, "one_retry", "Retry")
    found = re.search(rf"Retry: {old} as ({UUID})", note)
    assert found, f"unexpected toast: {note!r}"
    return found.group(1)


def revoke_through_console(page: Page, console: Console, task_id: str) -> None:
    """Revoke task ``task_id`` (PENDING) from its detail; the toast must confirm it."""
    open_page(page, console, f"/tasks?task={task_id}")
    expect(task_heading(page, task_id)).to_be_visible()
    state = page.get_by_test_id("stMetric").filter(has_text="State")
    expect(state.get_by_test_id("stMetricValue")).to_have_text("PENDING")
    note = confirm_action(page, "one_revoke", "Revoke")
    assert f"Revoke: {task_id}." in note, note


def test_retry_resends_the_call_and_links_both_tasks(
    page: Page, console: Console, cluster: Cluster, sent_tasks: SentTasks, ledger: Ledger
) -> None:
    """Retry on a failed task: Flower gets a new task with the same name, args and kwargs, and
    the old task's detail links to it under "retried as" (and the new one back, "retry of")."""
    old = list(sent_tasks.failures)[-1]
    original = flower_task(cluster, old)
    assert original["state"] == "FAILURE"
    new = retry_through_console(page, console, old)
    ledger.retried = (old, new)

    known = {*sent_tasks.uuids}
    twins = wait_until(
        lambda: twins_in_flower(cluster, original, known), 30, f"Flower to hold a retry of {old}"
    )
    assert new in twins, f"the toast named {new}, Flower holds {twins}"

    # A new session: the link comes from the audit log, not from this session's memory (and
    # the acting session's follow-up reruns cannot race the click below).
    open_page(page, console, f"/tasks?task={old}")
    retried_as = page.locator(f".st-key-link_retried_as_{new}")
    reload_until(page, console, f"/tasks?task={old}", retried_as, timeout=20)
    expect(page.get_by_text("retried as", exact=True)).to_be_visible()
    expect(retried_as.get_by_role("button")).to_have_text(new)

    retried_as.get_by_role("button").click()
    settle(page)
    expect(task_heading(page, new)).to_be_visible()
    expect(keyed(page, f"link_retry_of_{old}")).to_have_text(old)


def test_revoke_reaches_the_workers(
    page: Page, console: Console, cluster: Cluster, ledger: Ledger
) -> None:
    """Revoke on a PENDING task: a toast, and every worker now holds the id as revoked.

    Flower keeps showing the task PENDING: no worker consumes its queue, so none ever receives
    it and sends task-revoked. The workers' revoked sets are the proof the revoke went out.
    """
    task_id = park_task(cluster, (5, 8))
    revoke_through_console(page, console, task_id)
    ledger.revoked = task_id
    wait_until(
        lambda: revoked_everywhere(cluster, task_id), 20, f"every worker to hold {task_id} revoked"
    )


def test_audit_log_records_retry_and_revoke(
    page: Page,
    console: Console,
    cluster: Cluster,
    sent_tasks: SentTasks,
    ledger: Ledger,
    tmp_path: Path,
) -> None:
    """The Audit log CSV has the retry (with its old → new link) and the revoke, both sent by
    the local user."""
    if ledger.retried is None:  # run on its own (-k): act first
        old = list(sent_tasks.failures)[-1]
        ledger.retried = (old, retry_through_console(page, console, old))
    if ledger.revoked is None:
        ledger.revoked = park_task(cluster, (5, 8))
        revoke_through_console(page, console, ledger.revoked)
    old, new = ledger.retried

    open_page(page, console, "/audit_log")
    rows = download_csv(page, tmp_path, "audit-log")
    assert rows, "the audit CSV is empty"
    assert list(rows[0])[:4] == ["time", "user", "role", "action"]
    retries = [r for r in rows if r["action"] == "retry" and r["targets"] == old]
    revokes = [r for r in rows if r["action"] == "revoke" and r["targets"] == ledger.revoked]
    assert len(retries) == 1, retries
    assert len(revokes) == 1, revokes
    for row in (*retries, *revokes):
        assert (row["user"], row["role"], row["outcome"]) == ("local", "admin", "sent"), row
        assert row["count"] == "1", row
    assert retries[0]["links"] == f"{old} → {new}"


def open_revoke_and_cancel(page: Page, console: Console, task_id: str) -> Locator:
    """Open task ``task_id``, click its Revoke, press the dialog's Cancel; the dialog locator."""
    open_page(page, console, f"/tasks?task={task_id}")
    expect(task_heading(page, task_id)).to_be_visible()
    keyed(page, "one_revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("1 task(s) will be affected")
    dialog.get_by_role("button", name="Cancel").click()
    settle(page)
    return dialog


def test_cancel_sends_and_records_nothing(
    page: Page, console: Console, cluster: Cluster, tmp_path: Path
) -> None:
    """Cancel in the Revoke dialog: no toast, no audit row, nothing revoked."""
    task_id = park_task(cluster, (13, 21))
    open_page(page, console, "/audit_log")
    before = {row["op_id"] for row in download_csv(page, tmp_path / "before", "audit-log")}

    open_revoke_and_cancel(page, console, task_id)
    expect(page.get_by_test_id("stToast")).to_have_count(0)

    open_page(page, console, "/audit_log")
    after = download_csv(page, tmp_path / "after", "audit-log")
    assert {row["op_id"] for row in after} == before
    assert not [row for row in after if task_id in row["targets"]]
    replies = workers_revoked(cluster)
    assert replies, "no worker answered inspect revoked"
    assert not [worker for worker, ids in replies.items() if task_id in ids]


def test_cancel_closes_the_dialog(page: Page, console: Console, cluster: Cluster) -> None:
    """Cancel closes the dialog and the page's Revoke button is usable again."""
    task_id = park_task(cluster, (34, 55))
    dialog = open_revoke_and_cancel(page, console, task_id)  # settled: the rerun is over
    expect(dialog).to_have_count(0, timeout=3_000)
    expect(keyed(page, "one_revoke")).to_be_enabled()


def test_a_second_retry_warns_and_needs_retry_again_anyway(
    page: Page, console: Console, sent_tasks: SentTasks, ledger: Ledger
) -> None:
    """Retry on a task retried before: the dialog names the earlier retry, Confirm stays
    disabled until "Retry again anyway" is ticked, then a second, different copy is sent."""
    if ledger.retried is None:  # run on its own (-k): retry once first
        old = list(sent_tasks.failures)[-1]
        ledger.retried = (old, retry_through_console(page, console, old))
    old, first = ledger.retried
    open_page(page, console, f"/tasks?task={old}")
    expect(task_heading(page, old)).to_be_visible()
    keyed(page, "one_retry").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"was already retried as {first}")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_text("Retry again anyway").click()
    expect(confirm).to_be_enabled()
    confirm.click()
    toast = page.get_by_test_id("stToast").filter(has_text="Retry:")
    expect(toast).to_have_count(1, timeout=20_000)
    found = re.search(rf"Retry: {old} as ({UUID})", toast.inner_text())
    assert found and found.group(1) != first, toast.inner_text()
