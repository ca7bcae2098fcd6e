"""Browser fixtures: a real cluster holding known tasks, the console served by Streamlit, Chromium.

Everything expensive has session scope and is started once, in dependency order:

1. ``cluster``: redis, two Celery workers and Flower (``demo.cluster.Cluster``);
2. ``sent_tasks``: a known mix of ``demo.add`` successes and ``demo.flaky`` failures, returned
   only once Flower reports every one of them in its final state;
3. ``console``: ``streamlit run app.py`` against that cluster, healthy on ``/_stcore/health``,
   with login off (``OPS_AUTH=off``: everyone is the local admin);
4. ``secured_console`` (only when a test asks for it): a second server on the same cluster with
   login on, a users file holding ``olga`` (operator) and ``vic`` (viewer), its own audit log;
5. ``browser``: Debian's Chromium driven by Playwright (never ``playwright install``).

Both servers come from ``serve_console``. Each test gets its own browser context (``page`` for
``console``, ``secured_page`` for ``secured_console``), so its Streamlit session is fresh. When
a test fails, the tail of that server's log and a screenshot path are added to its report.
"""

from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from celery import Celery
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from demo.cluster import Cluster, free_port, spawn_logged
from lib.auth import hash_password

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 1000}
FINAL_STATES = {"SUCCESS", "FAILURE"}
#: Distinctive arguments, easy to find in Flower and in the console's search box.
ADD_ARGS: tuple[tuple[int, int], ...] = tuple((31_400 + i, 27) for i in range(6))
FAIL_REFS: tuple[int, ...] = (918_273, 918_274)
POLL_INTERVAL = 0.2
#: A queue no demo worker consumes: a task sent there stays PENDING (and revocable) for good.
PARKED_QUEUE = "parked_browser"
#: The accounts of ``secured_console``'s users file: name -> role.
SECURED_ROLES = {"olga": "operator", "vic": "viewer"}

_LOG_KEY = pytest.StashKey[Path]()
_SHOT_KEY = pytest.StashKey[Path]()
_PAGE_KEY = pytest.StashKey[Page]()


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Call ``check`` until it returns something truthy; TimeoutError after ``timeout`` s.

    ``check`` may raise ``requests.RequestException`` while a service is still coming up; the
    last such error (or the last falsy value) is named in the timeout message.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")
        time.sleep(POLL_INTERVAL)  # the poll interval of a deadline loop, not a fixed wait


def log_tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file (a note instead when it cannot be read)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


def settle(page: Page, timeout: float = 20_000) -> None:
    """Wait until the Streamlit app is connected, its script has finished, and no skeleton shows.

    The short pause first lets a just-triggered rerun flip the script state to ``running``.
    """
    page.wait_for_timeout(200)
    app = '[data-testid="stApp"]'
    page.locator(f'{app}[data-test-connection-state="CONNECTED"]').wait_for(
        state="attached", timeout=timeout
    )
    page.locator(f'{app}[data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


def open_page(page: Page, server: Console | SecuredConsole, path: str) -> None:
    """Load ``path`` of a console and wait for its first script run to finish.

    Every ``goto`` starts a new Streamlit session: with login on, it is signed in only when
    the browser context holds a valid login cookie (a fresh context never does).
    """
    page.goto(server.url + path)
    page.get_by_test_id("stAppViewContainer").wait_for()
    settle(page)


def download_csv(page: Page, into: Path, stem: str) -> list[dict[str, str]]:
    """Click the page's one ``Download CSV`` button; the rows of the file ``<stem>-*.csv``."""
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV")
    expect(button).to_have_count(1)
    # A page that refreshes itself (All clusters, every poll) may replace the button's file
    # between a click and its request ("Deferred file … not found" in the server's log):
    # nothing downloads, and a person clicks again.
    for wait in (10_000, 20_000):
        try:
            with page.expect_download(timeout=wait) as info:
                button.locator("button").click()
            break
        except PlaywrightTimeoutError:
            if wait == 20_000:
                raise
    download = info.value
    name = download.suggested_filename
    assert name.startswith(f"{stem}-") and name.endswith(".csv"), name
    into.mkdir(parents=True, exist_ok=True)
    target = into / name
    download.save_as(target)
    with target.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def keyed(page: Page, key: str) -> Locator:
    """The button of the widget with ``key`` (Streamlit gives it the CSS class ``st-key-<key>``).

    Safer than a label: the Tasks page holds both bulk and single-task ``Revoke`` buttons.
    """
    return page.locator(f".st-key-{key}").get_by_role("button")


def task_heading(page: Page, task_id: str) -> Locator:
    """The task detail's subheader, ``Task <uuid>``."""
    return page.get_by_test_id("stHeading").filter(has_text=f"Task {task_id}")


def confirm_action(page: Page, key: str, label: str, count: int = 1) -> str:
    """Click the action button ``key``, check its dialog, press Confirm; the toast's text.

    The dialog must be titled ``<label>?`` and say that ``count`` task(s) will be affected.
    The toast is read at once: it disappears after a few seconds.
    """
    keyed(page, key).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"{label}?")
    expect(dialog).to_contain_text(f"{count} task(s) will be affected")
    dialog.get_by_role("button", name="Confirm").click()
    toast = page.get_by_test_id("stToast").filter(has_text=f"{label}:")
    expect(toast).to_have_count(1, timeout=20_000)  # after the action's full rerun
    text = toast.inner_text()
    expect(dialog).to_have_count(0)
    settle(page)
    return text


def workers_revoked(cluster: Cluster) -> dict[str, set[str]]:
    """The task ids each demo worker that answered holds as revoked (``inspect revoked``, ~1 s).

    Flower's ``/api/workers`` does not report revoked ids, so the workers are asked directly.
    A worker too slow to answer within the second is missing from the result.
    """
    client = Celery("browser-tests-inspect", broker=cluster.broker_url)
    try:
        replies = client.control.inspect(timeout=1.0).revoked() or {}
    finally:
        client.close()
    return {worker: set(ids or ()) for worker, ids in replies.items()}


def revoked_everywhere(cluster: Cluster, task_id: str) -> bool:
    """True once every worker of ``cluster`` answers that it holds ``task_id`` as revoked."""
    replies = workers_revoked(cluster)
    return all(task_id in replies.get(worker, ()) for worker in cluster.worker_names)


def park_task(cluster: Cluster, args: tuple[int, int] = (1, 2)) -> str:
    """Send ``demo.add`` to ``PARKED_QUEUE``; its id once Flower shows it PENDING.

    No worker consumes that queue, so the task stays PENDING and can always be revoked; the
    task-sent event (``task_send_sent_event``) is what tells Flower about it.
    """
    client = Celery("browser-tests-parked", broker=cluster.broker_url)
    client.conf.update(
        task_send_sent_event=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    try:
        task_id: str = client.send_task("demo.add", args=list(args), queue=PARKED_QUEUE).id
    finally:
        client.close()

    def pending() -> bool:
        resp = cluster.flower_get(f"/api/task/info/{task_id}", timeout=5)
        return resp.status_code == 200 and resp.json().get("state") == "PENDING"

    wait_until(pending, 20, f"Flower to show parked task {task_id} as PENDING")
    return task_id


# ------------------------------------------------------------------------------ cluster, tasks


@dataclass(frozen=True)
class SentTasks:
    """The tasks sent before the suite: uuid -> args for successes, uuid -> ref for failures."""

    successes: dict[str, tuple[int, int]]
    failures: dict[str, int]

    @property
    def uuids(self) -> list[str]:
        """Every uuid sent, successes first."""
        return [*self.successes, *self.failures]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Redis, the demo workers and Flower (basic auth on), stopped when the session ends."""
    live = Cluster(tmp_path_factory.mktemp("cluster"), flower_auth="admin:")
    live.start(timeout=90)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="session")
def sent_tasks(cluster: Cluster) -> SentTasks:
    """Send 6 ``demo.add`` and 2 failing ``demo.flaky`` tasks; wait until Flower has all final."""
    client = Celery("browser-tests", broker=cluster.broker_url, backend=cluster.backend_url)
    client.conf.update(
        task_default_queue="default",  # the demo workers consume "default", not "celery"
        task_send_sent_event=True,  # as the demo producer does: Flower learns each task's queue
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    try:
        successes = {client.send_task("demo.add", args=args).id: args for args in ADD_ARGS}
        failures = {
            client.send_task(
                "demo.flaky", kwargs={"kind": "missing", "ref": ref, "seconds": 0.0}
            ).id: ref
            for ref in FAIL_REFS
        }
    finally:
        client.close()
    sent = SentTasks(successes, failures)

    def all_final() -> bool:
        resp = cluster.flower_get("/api/tasks", timeout=5)
        resp.raise_for_status()
        held: dict[str, dict[str, Any]] = resp.json()
        return all(held.get(uuid, {}).get("state") in FINAL_STATES for uuid in sent.uuids)

    wait_until(all_final, 45, "Flower to report every sent task in a final state")
    return sent


# ------------------------------------------------------------------------------ streamlit server


@dataclass(frozen=True)
class Console:
    """The running console: base URL (no trailing slash), server log, and its sidebar pages.

    ``app_nav`` holds the sidebar's page labels as ``app.py`` declares them; ``first_visit``
    what the very first browser session after the server started saw, on a deep link to a
    failed task (see ``_warm_up``).
    """

    url: str
    log_path: Path
    app_nav: tuple[str, ...]
    first_visit: FirstVisit

    def tail(self, lines: int = 60) -> str:
        """The last lines of the Streamlit server log."""
        return log_tail(self.log_path, lines)


@dataclass(frozen=True)
class Account:
    """A user of ``secured_console``'s users file, with the clear-text password for the form."""

    name: str
    password: str
    role: str


@dataclass(frozen=True)
class SecuredConsole:
    """The console with login on: base URL, server log and the accounts that may sign in."""

    url: str
    log_path: Path
    accounts: Mapping[str, Account]

    def tail(self, lines: int = 60) -> str:
        """The last lines of the Streamlit server log."""
        return log_tail(self.log_path, lines)


def sidebar_pages(page: Page) -> tuple[str, ...]:
    """The labels of the sidebar's page links, without their icons."""
    links = page.get_by_test_id("stSidebarNavLink")
    expect(links.first).to_be_visible()
    return tuple(text.strip().splitlines()[-1].strip() for text in links.all_inner_texts())


@dataclass(frozen=True)
class FirstVisit:
    """What the server's very first browser session saw, on a deep link (``_warm_up``)."""

    url: str  # the address the tab shows once the deep-linked task is on screen
    nav: tuple[str, ...]  # the sidebar's page labels
    status_captions: int  # the sidebar status ("Watching Flower at …"), drawn by app.py
    login_off_banners: int  # the OPS_AUTH=off banner, drawn once per page start


def _warm_up(
    browser: Browser, url: str, deep_link: str, shot: Path
) -> tuple[tuple[str, ...], FirstVisit]:
    """Make the server's first visits, so that no test depends on being the first one.

    Streamlit 1.67 runs a server in "pages/ directory" mode (``PagesManager.
    uses_pages_directory``) while the entry script's folder holds ``pages/``: a first visit to
    a deep link would run the page file without ``app.py``. The console keeps its screens in
    ``screens/``, so every run starts in ``app.py``. The first visit here is such a deep link
    (its screenshot is kept); the second, to ``/``. Returns the sidebar labels of the second
    visit and what the first showed once the deep-linked task's detail was on screen.
    """
    context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC")
    try:
        tab = context.new_page()
        tab.goto(url + deep_link)
        settle(tab)
        task = deep_link.split("task=", 1)[1]
        expect(tab.get_by_role("heading", name=f"Task {task}")).to_be_visible(timeout=20_000)
        first = FirstVisit(
            url=tab.url,
            nav=sidebar_pages(tab),
            status_captions=tab.get_by_test_id("stSidebar")
            .get_by_text("Watching Flower at")
            .count(),
            login_off_banners=tab.get_by_test_id("stAlertContentWarning")
            .filter(has_text="OPS_AUTH=off")
            .count(),
        )
        tab.screenshot(path=str(shot), full_page=True)
        tab.goto(url + "/")
        settle(tab)
        # The app's own list starts with its default page; the legacy one with "app".
        expect(tab.get_by_test_id("stSidebarNavLink").first).to_contain_text("Overview")
        return sidebar_pages(tab), first
    finally:
        context.close()


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it outlives ``grace`` seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextmanager
def serve_console(
    cluster: Cluster, workdir: Path, extra_env: Mapping[str, str]
) -> Iterator[tuple[str, Path]]:
    """``streamlit run app.py`` on a free port against ``cluster``; ``(base URL, log path)``.

    The server polls Flower every 2 s, keeps its data (audit log) in ``workdir/ops-data`` and
    logs to ``workdir/streamlit.log``; ``extra_env`` comes last and wins (``OPS_AUTH`` etc.).
    Yields once ``/_stcore/health`` answers ``ok``; the whole process group is stopped on exit.
    """
    log_path = workdir / "streamlit.log"
    port = free_port()
    env = {
        **os.environ,
        **cluster.env(),
        "OPS_POLL_SECONDS": "2",
        "OPS_DATA_DIR": str(workdir / "ops-data"),
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    args = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    proc = spawn_logged(args, env, log_path)  # own process group: stopped as a whole
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {proc.returncode}; log tail:\n{log_tail(log_path)}"
            )
        resp = requests.get(f"{url}/_stcore/health", timeout=2)
        return resp.status_code == 200 and resp.text.strip() == "ok"

    try:
        try:
            wait_until(healthy, 60, f"{url}/_stcore/health to answer ok")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\nstreamlit log tail:\n{log_tail(log_path)}") from None
        yield url, log_path
    finally:
        _stop_group(proc)


@pytest.fixture(scope="session")
def console(
    cluster: Cluster,
    sent_tasks: SentTasks,
    browser: Browser,
    shots_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Console]:
    """The console with login off (``OPS_AUTH=off``) against ``cluster``, once its tasks are
    final, warmed up by ``_warm_up``."""
    workdir = tmp_path_factory.mktemp("streamlit")
    with serve_console(cluster, workdir, {"OPS_AUTH": "off"}) as (url, log_path):
        failed_task = next(iter(sent_tasks.failures))
        app_nav, first = _warm_up(
            browser, url, f"/tasks?task={failed_task}", shots_dir / "first-visit.png"
        )
        yield Console(url, log_path, app_nav, first)


def write_users_file(path: Path, accounts: Mapping[str, Account]) -> None:
    """A users TOML for ``OPS_USERS_FILE``: ``[users.<name>]`` with a scrypt hash and a role."""
    blocks = [
        f'[users.{a.name}]\npassword_hash = "{hash_password(a.password)}"\nrole = "{a.role}"\n'
        for a in accounts.values()
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")


def sign_in_form(page: Page) -> Locator:
    """The login form (``st.form`` with User, Password and ``Log in``)."""
    return page.get_by_test_id("stForm").filter(has=page.get_by_test_id("stFormSubmitButton"))


def expect_signed_out(page: Page) -> None:
    """Only the sign-in screen shows: its title and form, no table and no signed-in user."""
    expect(page.get_by_test_id("stHeading").filter(has_text="Sign in")).to_be_visible()
    expect(sign_in_form(page)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def _warm_up_signed_out(browser: Browser, url: str, deep_link: str, shot: Path) -> None:
    """``_warm_up`` for a server with login on: both first visits must show only the sign-in.

    The deep link is the server's very first visit (its screenshot is kept): ``app.py``'s one
    login gate answers it with one sign-in form; ``/`` then shows the same.
    """
    context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC")
    try:
        tab = context.new_page()
        tab.goto(url + deep_link)
        settle(tab)
        expect_signed_out(tab)
        expect(sign_in_form(tab)).to_have_count(1)
        expect(tab.get_by_test_id("stHeading").filter(has_text="Sign in")).to_have_count(1)
        tab.screenshot(path=str(shot), full_page=True)
        tab.goto(url + "/")
        settle(tab)
        expect_signed_out(tab)
    finally:
        context.close()


@pytest.fixture(scope="session")
def secured_console(
    cluster: Cluster,
    sent_tasks: SentTasks,
    browser: Browser,
    shots_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecuredConsole]:
    """A second console on ``cluster`` with login on (``OPS_AUTH=on``), its own users file
    (``SECURED_ROLES``, random passwords) and its own data directory (audit log)."""
    workdir = tmp_path_factory.mktemp("streamlit-secured")
    accounts = {
        name: Account(name, secrets.token_urlsafe(12), role) for name, role in SECURED_ROLES.items()
    }
    users_file = workdir / "users.toml"
    write_users_file(users_file, accounts)
    env = {"OPS_AUTH": "on", "OPS_USERS_FILE": str(users_file)}
    with serve_console(cluster, workdir, env) as (url, log_path):
        failed_task = next(iter(sent_tasks.failures))
        _warm_up_signed_out(
            browser, url, f"/tasks?task={failed_task}", shots_dir / "first-visit-secured.png"
        )
        yield SecuredConsole(url, log_path, accounts)


# ------------------------------------------------------------------------------ browser


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright's sync API (the suite's and bench/'s)."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright's sync API."""
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where page screenshots (and screenshots of failed tests) go."""
    return tmp_path_factory.mktemp("screenshots")


@contextmanager
def _fresh_tab(
    browser: Browser, log_path: Path, shots_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page in a new context, registered for the failure report of ``request``'s test."""
    request.node.stash[_LOG_KEY] = log_path
    request.node.stash[_SHOT_KEY] = shots_dir / f"FAILED-{request.node.name}.png"
    context = browser.new_context(accept_downloads=True, viewport=VIEWPORT, timezone_id="UTC")
    context.set_default_timeout(20_000)
    try:
        tab = context.new_page()
        request.node.stash[_PAGE_KEY] = tab
        yield tab
    finally:
        context.close()


@pytest.fixture
def page(
    browser: Browser, console: Console, shots_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page in a fresh context (own Streamlit session, downloads accepted, UTC clock)."""
    with _fresh_tab(browser, console.log_path, shots_dir, request) as tab:
        yield tab


@pytest.fixture
def secured_page(
    browser: Browser,
    secured_console: SecuredConsole,
    shots_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """Like ``page``, for ``secured_console`` (a failure report carries that server's log)."""
    with _fresh_tab(browser, secured_console.log_path, shots_dir, request) as tab:
        yield tab


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failed browser test: screenshot the page and add the server log tail to the report."""
    report: pytest.TestReport = yield
    log_path = item.stash.get(_LOG_KEY, None)
    if not report.failed or report.when != "call" or log_path is None:
        return report
    tab = item.stash.get(_PAGE_KEY, None)
    shot = item.stash[_SHOT_KEY]
    try:
        if tab is None:
            raise RuntimeError("the test opened no page")
        tab.screenshot(path=str(shot), full_page=True)
        report.sections.append(("failure screenshot", str(shot)))
    except Exception as exc:  # a dead page must not hide the test's own failure
        report.sections.append(("failure screenshot", f"none: {exc!r}"))
    report.sections.append(("streamlit server log (tail)", log_tail(log_path)))
    return report
