"""Login on (``secured_console``): roles decide who may act, and the audit log says who did.

Every ``goto`` or reload starts a new Streamlit session; the login survives it through the
signed ``ops_session`` cookie (``test_a_reload_keeps_the_user_and_log_out_ends_it``). The other
tests still move by clicking: the sidebar's page links, and a row of the Tasks table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from demo.cluster import Cluster
from tests.browser.conftest import (
    Account,
    SecuredConsole,
    confirm_action,
    download_csv,
    expect_signed_out,
    keyed,
    open_page,
    park_task,
    settle,
    sign_in_form,
    task_heading,
    wait_until,
)

pytestmark = pytest.mark.browser

#: Default row height of st.dataframe and its header: the first data row's centre is at 52.5 px.
ROW_HEIGHT = 35
ACTION_LABELS = re.compile(r"^\s*(Revoke|Terminate|Retry|Reveal values)\s*$")


def log_in(page: Page, account: Account, password: str | None = None) -> None:
    """Fill the sign-in form with ``account`` (or a different ``password``) and submit it."""
    form = sign_in_form(page)
    expect(form).to_be_visible()
    form.get_by_label("User", exact=True).fill(account.name)
    form.get_by_label("Password", exact=True).fill(
        account.password if password is None else password
    )
    form.get_by_role("button", name="Log in").click()
    settle(page)


def expect_signed_in(page: Page, account: Account) -> None:
    """The sidebar names the user and role; the sign-in form is gone."""
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(f"Signed in as {account.name} ({account.role})")
    expect(keyed(page, "logout")).to_be_visible()
    expect(sign_in_form(page)).to_have_count(0)


def go_to(page: Page, title: str) -> None:
    """Click the sidebar link to page ``title`` (the session, and so the login, is kept)."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    settle(page)
    expect(page.get_by_test_id("stHeading").locator("h1")).to_have_text(title)


def open_task_by_clicking(page: Page, task_id: str) -> None:
    """On Tasks: refresh, search for ``task_id``, click its row; its detail must show."""
    go_to(page, "Tasks")
    page.get_by_test_id("stButton").filter(has_text="Refresh").locator("button").click()
    settle(page)
    search = page.get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    search.fill(task_id)
    search.press("Enter")
    settle(page)
    expect(
        page.get_by_test_id("stCaptionContainer").filter(has_text="matching tasks")
    ).to_have_text("1 matching tasks.")
    grid = page.get_by_test_id("stDataFrame").first
    grid.click(position={"x": 15, "y": ROW_HEIGHT + ROW_HEIGHT / 2})  # row marker of row 1
    settle(page)
    expect(task_heading(page, task_id)).to_be_visible()


def test_operator_revokes_and_viewer_only_reads(
    secured_page: Page, secured_console: SecuredConsole, cluster: Cluster, tmp_path: Path
) -> None:
    """olga (operator) revokes a PENDING task and logs out; vic (viewer) sees the task with no
    action buttons, and the audit log's CSV names olga as the revoker."""
    page = secured_page
    olga, vic = secured_console.accounts["olga"], secured_console.accounts["vic"]
    task_id = park_task(cluster, (3, 34))

    open_page(page, secured_console, "/")
    expect_signed_out(page)
    log_in(page, olga)
    expect_signed_in(page, olga)
    open_task_by_clicking(page, task_id)
    note = confirm_action(page, "one_revoke", "Revoke")
    assert f"Revoke: {task_id}." in note, note

    keyed(page, "logout").click()
    settle(page)
    expect_signed_out(page)

    log_in(page, vic)
    expect_signed_in(page, vic)
    open_task_by_clicking(page, task_id)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stButton").filter(has_text=ACTION_LABELS)).to_have_count(0)
    for key in ("one_revoke", "one_retry", "one_terminate", "bulk_revoke", "bulk_retry"):
        expect(page.locator(f".st-key-{key}")).to_have_count(0)

    go_to(page, "Audit log")
    rows = download_csv(page, tmp_path, "audit-log")
    revokes = [r for r in rows if r["action"] == "revoke" and r["targets"] == task_id]
    assert len(revokes) == 1, rows
    assert (revokes[0]["user"], revokes[0]["role"], revokes[0]["outcome"]) == (
        "olga",
        "operator",
        "sent",
    )


def test_wrong_password_is_refused(secured_page: Page, secured_console: SecuredConsole) -> None:
    """A wrong password shows the error and nothing else: no table, no signed-in user."""
    page = secured_page
    open_page(page, secured_console, "/")
    log_in(page, secured_console.accounts["vic"], password="not-the-password")
    expect(page.get_by_test_id("stAlertContentError")).to_have_text("Wrong user name or password.")
    expect_signed_out(page)


def session_cookie(page: Page) -> dict | None:
    """The browser's login cookie for the console, if it holds one."""
    return next((c for c in page.context.cookies() if c["name"] == "ops_session"), None)


def reload(page: Page) -> None:
    page.reload()
    page.get_by_test_id("stAppViewContainer").wait_for()
    settle(page)


def test_a_reload_keeps_the_user_and_log_out_ends_it(
    secured_page: Page, secured_console: SecuredConsole
) -> None:
    """Sign in, reload (twice, on two pages): still signed in. Log out: the cookie is gone, a
    reload shows the sign-in form, and the old token, put back by hand, is refused."""
    page = secured_page
    olga = secured_console.accounts["olga"]
    open_page(page, secured_console, "/")
    expect_signed_out(page)
    log_in(page, olga)
    expect_signed_in(page, olga)
    cookie = wait_until(lambda: session_cookie(page), 10, "the login cookie")
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert olga.password not in cookie["value"]

    reload(page)
    expect_signed_in(page, olga)
    go_to(page, "Queues")
    reload(page)
    expect_signed_in(page, olga)
    expect(page.get_by_test_id("stHeading").locator("h1")).to_have_text("Queues")
    assert "ops_session" not in page.url and cookie["value"] not in page.url

    keyed(page, "logout").click()
    settle(page)
    expect_signed_out(page)
    wait_until(lambda: session_cookie(page) is None, 10, "log out to clear the cookie")
    reload(page)
    expect_signed_out(page)

    page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    reload(page)
    expect_signed_out(page)  # the server revoked that session's tokens at log out
