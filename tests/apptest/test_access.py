"""Login and roles through the real pages: the control is in lib, the buttons are a courtesy."""

from __future__ import annotations

import pytest

from lib.audit import AuditLog
from lib.auth import Actor, hash_password
from lib.ui.controls import CONTROL_TAB
from tests.apptest.conftest import APP, PAGES, open_section, open_tab, plain, texts
from tests.recorded import recorded_tasks

PASSWORDS = {"vic": "viewer-pw", "olga": "operator-pw", "ada": "admin-pw"}
ROLES = {"vic": "viewer", "olga": "operator", "ada": "admin"}


@pytest.fixture
def users_on(recorded_flower, monkeypatch, tmp_path):
    lines = [
        f'[users.{name}]\npassword_hash = "{hash_password(pw)}"\nrole = "{ROLES[name]}"\n'
        for name, pw in PASSWORDS.items()
    ]
    path = tmp_path / "users.toml"
    path.write_text("\n".join(lines))
    monkeypatch.setenv("OPS_USERS_FILE", str(path))
    monkeypatch.setenv("OPS_AUTH", "on")
    return recorded_flower


def log_in(name: str, password: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input(password or PASSWORDS[name])
    at.button[0].click().run()
    return at


def go(at, page: str):
    return at.switch_page(PAGES[page]).run()


def audit(tmp_path) -> AuditLog:
    return AuditLog(tmp_path / "ops-data" / "store.sqlite3")


def waiting_task() -> str:
    return next(t["uuid"] for t in recorded_tasks() if t["state"] in ("RECEIVED", "PENDING"))


def test_wrong_password_shows_an_error_and_no_data(users_on):
    at = log_in("olga", "not-it")
    assert not at.exception
    assert "Wrong user name or password" in texts(at)
    assert not at.dataframe and not at.metric
    with pytest.raises(ValueError):
        go(at, "Tasks")  # pages are not reachable before login


def test_lockout_after_five_failures(users_on):
    for _ in range(5):
        log_in("vic", "nope")
    at = log_in("vic")  # even the right password waits now
    assert "Too many failed attempts" in texts(at)
    assert "Signed in" not in texts(at)


def test_viewer_sees_no_action_buttons_and_a_forged_action_is_refused(users_on, tmp_path):
    at = log_in("vic")
    assert "Signed in as vic (viewer)" in plain(" ".join(c.value for c in at.sidebar.caption))
    at = go(at, "Tasks")
    labels = {b.label for b in at.button}
    assert not labels & {"Revoke", "Terminate", "Retry"}
    at.session_state["pending_action"] = {
        "action": "revoke",
        "targets": [waiting_task()],
        "params": {},
        "op_id": "forged-1",
    }
    at.run()
    at.button(key="dialog_confirm").click().run()
    assert users_on.posts == [], "nothing reached Flower"
    row = audit(tmp_path).rows()[0]
    assert (row.user, row.role, row.action, row.outcome) == ("vic", "viewer", "revoke", "refused")


def test_operator_can_revoke_but_not_shut_down(users_on, tmp_path):
    at = go(log_in("olga"), "Tasks")
    at.session_state["pending_action"] = {
        "action": "revoke",
        "targets": [waiting_task()],
        "params": {},
        "op_id": "op-revoke",
    }
    at.run()
    at.button(key="dialog_confirm").click().run()
    assert users_on.posts == [f"/api/task/revoke/{waiting_task()}"]
    at = go(at, "Workers")
    at.session_state[CONTROL_TAB] = "Shut down"  # even asked for, an operator gets no controls
    at = open_section(at, "workers_controls")
    assert not any(b.label == "Shut down" for b in at.button), "no worker controls shown"
    assert not at.expander, "no closed controls section either"
    at.session_state["pending_action"] = {
        "action": "shutdown",
        "targets": ["w1@vm"],
        "params": {"confirm_name": "w1@vm"},
        "op_id": "op-shutdown",
    }
    at.run()
    at.text_input(key="dialog_confirm_name").input("w1@vm").run()  # Confirm waits for it
    at.button(key="dialog_confirm").click().run()
    assert len(users_on.posts) == 1, "the shutdown was not sent"
    outcomes = {r.action: (r.user, r.outcome) for r in audit(tmp_path).rows()}
    assert outcomes == {"revoke": ("olga", "sent"), "shutdown": ("olga", "refused")}


def test_admin_can_shut_down_after_typing_the_name(users_on, tmp_path):
    at = go(log_in("ada"), "Workers")
    assert "control_worker" not in {s.key for s in at.selectbox}, "no form until asked"
    open_section(at, "workers_controls")  # closed until asked
    at.selectbox(key="control_worker").select("w1@vm").run()
    open_tab(at, CONTROL_TAB, "Shut down")
    at.button(key="ctl_shutdown").click().run()
    at.text_input(key="dialog_confirm_name").input("w1@vm").run()
    at.button(key="dialog_confirm").click().run()
    assert users_on.posts == ["/api/worker/shutdown/w1@vm"]
    assert audit(tmp_path).rows()[0].user == "ada"


def test_the_worker_controls_are_the_declared_ones(users_on, tmp_path):
    from lib.actions import control_groups

    at = go(log_in("ada"), "Workers")
    open_section(at, "workers_controls")  # closed until asked
    at.selectbox(key="control_worker").select("w1@vm").run()
    groups = control_groups()
    assert "ctl_shutdown" not in {b.key for b in at.button}, "only the open tab's form is built"
    assert [t.label for t in at.tabs][-4:] == list(groups) == [
        "Pool", "Consumers", "Task limits", "Shut down"
    ]  # fmt: skip
    for group, specs in groups.items():  # lazy tabs: each group's form is built when opened
        open_tab(at, CONTROL_TAB, group)
        shown = {
            w.key
            for kind in ("button", "number_input", "text_input", "selectbox")
            for w in at.get(kind)
        }
        for spec in specs:
            assert f"ctl_{spec.name}" in shown, spec.name
            assert {f"ctl_{item.param}" for item in spec.form} <= shown, spec.name
    open_tab(at, CONTROL_TAB, "Pool")
    at.number_input(key="ctl_n").set_value(3).run()
    at.button(key="ctl_pool_grow").click().run()
    at.button(key="dialog_confirm").click().run()
    open_tab(at, CONTROL_TAB, "Task limits")
    at.text_input(key="ctl_rate").input(" 10/m ").run()
    at.button(key="ctl_rate_limit").click().run()
    at.button(key="dialog_confirm").click().run()
    assert users_on.posts[0] == "/api/worker/pool/grow/w1@vm"
    assert users_on.posts[1].startswith("/api/task/rate-limit/")
    rows = {r.action: r for r in audit(tmp_path).rows()}
    assert rows["pool_grow"].params == {"n": 3} and rows["pool_grow"].outcome == "sent"
    assert rows["rate_limit"].params == {"worker": "w1@vm", "rate": "10/m"}


def test_log_out_forgets_the_user(users_on):
    at = log_in("olga")
    assert "Signed in as olga" in plain(" ".join(c.value for c in at.sidebar.caption))
    at.button(key="logout").click().run()
    assert "actor" not in at.session_state
    assert not at.sidebar.caption and not any(b.key == "logout" for b in at.button)


def test_no_pages_folder_so_every_run_starts_in_app_py():
    """Streamlit 1.67 runs a ``pages/`` file on its own (without app.py's login gate) on a
    server's first deep-linked visit while a ``pages/`` folder sits beside the entry script
    (``PagesManager.uses_pages_directory``): the screens live in ``screens/`` instead."""
    root = __import__("pathlib").Path(APP).parent
    assert not (root / "pages").exists()
    assert (root / "screens" / "tasks.py").is_file()


@pytest.mark.parametrize("query", [{"task": "abc"}, {"state": "FAILURE"}], ids=["task", "state"])
def test_a_deep_link_before_login_shows_only_the_sign_in(users_on, query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.dataframe and users_on.posts == []


@pytest.mark.parametrize(
    ("email", "role"), [("ada@corp.example", "admin"), ("eve@else.example", "viewer")]
)
def test_single_sign_on_user_gets_the_role_mapped_from_their_email(
    recorded_flower, monkeypatch, email, role
):
    """With [auth] configured, an st.login user's e-mail picks the role ([oidc] roles)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPS_AUTH", "on")
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "x" * 32,
    }
    at.secrets["oidc"] = {"default_role": "viewer", "roles": {"ada@corp.example": "admin"}}
    at.user = {"is_logged_in": True, "email": email, "name": "Someone"}
    at.run()
    assert not at.exception
    signed = plain(" ".join(c.value for c in at.sidebar.caption))
    assert f"Signed in as {email} ({role})" in signed


def test_single_sign_on_user_without_a_role_is_kept_out(recorded_flower, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPS_AUTH", "on")
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "x" * 32,
    }
    at.secrets["oidc"] = {"roles": {"ada@corp.example": "admin"}}
    at.user = {"is_logged_in": True, "email": "mallory@else.example", "name": "M"}
    at.run()
    assert not at.exception
    assert "has no role in this console" in texts(at)
    assert not at.dataframe


def write_users(path, roles: dict[str, str]) -> None:
    lines = [
        f'[users.{name}]\npassword_hash = "{hash_password(PASSWORDS[name])}"\nrole = "{role}"\n'
        for name, role in roles.items()
    ]
    path.write_text("\n".join(lines))


def signed_as(at) -> str:
    return plain(" ".join(c.value for c in at.sidebar.caption))


def test_a_user_removed_from_the_users_file_is_signed_out_at_the_next_run(users_on, tmp_path):
    at = log_in("olga")
    assert "Signed in as olga (operator)" in signed_as(at)
    write_users(tmp_path / "users.toml", {"vic": "viewer", "ada": "admin"})
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert "olga is no longer a user of this console" in texts(at)
    assert "actor" not in at.session_state and not at.dataframe


def test_a_demoted_user_loses_the_role_at_the_next_run(users_on, tmp_path):
    at = log_in("olga")
    assert "Signed in as olga (operator)" in signed_as(at)
    at = go(at, "Tasks")
    write_users(tmp_path / "users.toml", {"olga": "viewer", "vic": "viewer", "ada": "admin"})
    at.run()
    # (AppTest leaves the sidebar empty on a plain rerun after login, so the actor is read.)
    assert at.session_state["actor"] == Actor("olga", "viewer")
    at.session_state["pending_action"] = {
        "action": "revoke",
        "targets": [waiting_task()],
        "params": {},
        "op_id": "after-demotion",
    }
    at.run()
    at.button(key="dialog_confirm").click().run()
    assert users_on.posts == [], "the demoted user's action was refused"
    row = audit(tmp_path).rows()[0]
    assert (row.user, row.role, row.outcome) == ("olga", "viewer", "refused")


def test_an_idle_session_is_signed_out_with_a_message(users_on, monkeypatch):
    monkeypatch.setenv("OPS_SESSION_IDLE_MINUTES", "5")
    at = log_in("olga")
    at.session_state["auth_last_active"] = __import__("time").time() - 5 * 60 - 1
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert "signed out after 5 minutes without activity" in texts(at)
    assert "actor" not in at.session_state


def test_an_active_session_stays_signed_in(users_on, monkeypatch):
    monkeypatch.setenv("OPS_SESSION_IDLE_MINUTES", "5")
    at = log_in("olga")
    at.session_state["auth_last_active"] = __import__("time").time() - 4 * 60
    at.run()
    assert at.session_state["actor"] == Actor("olga", "operator")
    last = at.session_state["auth_last_active"]
    assert __import__("time").time() - last < 60, "the run counted as activity"


@pytest.fixture
def browser_cookie(users_on, monkeypatch, tmp_path):
    """Stand in for the cookie a reloading browser sends (AppTest cannot seed st.context)."""
    from lib import session
    from lib.ui import login

    sent: dict[str, str | None] = {"token": None}
    monkeypatch.setattr(login, "_cookie_token", lambda: sent["token"])

    def token(user: str, age: float = 0.0, lifetime: float = 3600.0) -> str:
        now = __import__("time").time() - age
        claims = session.new_claims(user, now, lifetime)
        return session.issue_token(session.load_secret(None, tmp_path / "ops-data"), claims)

    return sent, token


def test_a_valid_cookie_signs_in_with_the_role_from_the_users_file(browser_cookie, tmp_path):
    from streamlit.testing.v1 import AppTest

    sent, token = browser_cookie
    sent["token"] = token("olga")
    write_users(tmp_path / "users.toml", {"olga": "viewer", "vic": "viewer", "ada": "admin"})
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert "Signed in as olga (viewer)" in signed_as(at), "the role is never taken from a token"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda token: token("olga", age=3601), "Your session expired"),
        (lambda token: token("olga")[:-4] + "AAAA", ""),
        (lambda token: token("mallory"), "mallory is no longer a user"),
    ],
    ids=["expired", "forged", "unknown-user"],
)
def test_a_bad_cookie_shows_the_sign_in_form(browser_cookie, make, says):
    from streamlit.testing.v1 import AppTest

    sent, token = browser_cookie
    sent["token"] = make(token)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert says in texts(at)
    assert "actor" not in at.session_state
