"""The sandbox launcher's login: demo users with fresh passwords, or the user's own choice."""

from __future__ import annotations

import stat

from demo.launch import _console_auth
from lib.auth import load_users


def test_demo_users_get_fresh_passwords_that_work(tmp_path):
    env, lines = _console_auth({"PATH": "/bin"}, tmp_path)
    assert env["OPS_AUTH"] == "on"
    book = load_users(tmp_path / "users.toml")
    assert stat.S_IMODE((tmp_path / "users.toml").stat().st_mode) == 0o600
    for line in lines:  # "  Login   : operator / <pw>  (operator)"
        name, rest = line.split(":", 1)[1].strip().split(" / ")
        password, role = rest.split("  (")
        assert book.check(name, password).role == role.rstrip(")")
    assert {line.split("(")[-1].rstrip(")") for line in lines} == {"viewer", "operator", "admin"}


def test_auth_off_and_own_users_file_are_respected(tmp_path):
    assert _console_auth({"OPS_AUTH": "off"}, tmp_path) == ({"OPS_AUTH": "off"}, [])
    own = {"OPS_USERS_FILE": "/etc/ops/users.toml"}
    assert _console_auth(own, tmp_path) == (own, [])
    assert not (tmp_path / "users.toml").exists()
