"""Password hashes, the users file, the e-mail → role map and the lockout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lib.auth import LoginThrottle, UserBook, allows, hash_password, load_users, verify_password
from lib.errors import SettingsError


def test_hash_is_salted_scrypt_and_verifies():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$") and first != second, "a fresh salt each time"
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$x$y", "scrypt$1$2$3$!!$!!", "scrypt$a$b$c$d$e"]
)
def test_malformed_hashes_never_verify(stored):
    assert verify_password("anything", stored) is False


def test_users_file_roles_and_checks(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(
        f'[users.olga]\npassword_hash = "{hash_password("op-pw")}"\nrole = "operator"\n'
        f'[users.vic]\npassword_hash = "{hash_password("view-pw")}"\nrole = "viewer"\n'
        '[oidc]\ndefault_role = "viewer"\nroles = { "ada@corp.example" = "admin", "*@ops.example" = "operator" }\n'
    )
    book = load_users(path)
    assert book.check("olga", "op-pw").role == "operator"
    assert book.check("olga", "view-pw") is None
    assert book.check("nobody", "op-pw") is None
    assert book.role_for_email("ADA@corp.example") == "admin"
    assert book.role_for_email("bob@ops.example") == "operator"
    assert book.role_for_email("eve@else.example") == "viewer"
    assert UserBook().role_for_email("eve@else.example") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[users.a]\npassword_hash = "plain"\nrole = "admin"', "password_hash"),
        ('[users.a]\npassword_hash = "scrypt$1$1$1$a$b"\nrole = "root"', "role 'root'"),
        ("[users.a\n", "not valid TOML"),
        ('[oidc]\nroles = { "x@y" = "boss" }', "'boss'"),
    ],
    ids=["plain-password", "unknown-role", "bad-toml", "bad-oidc-role"],
)
def test_bad_users_files_name_the_problem(tmp_path, text, says):
    path = tmp_path / "users.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_users(path)
    assert says in str(err.value)


def test_missing_users_file():
    with pytest.raises(SettingsError, match="does not exist"):
        load_users(__import__("pathlib").Path("/nonexistent/users.toml"))


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lockout_after_five_failures_in_five_minutes():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("olga")
        clock.now += 10
    assert throttle.wait_seconds("olga") == 0, "four failures do not lock"
    throttle.failed("olga")  # the fifth, at t=1040; the first was at t=1000
    assert throttle.wait_seconds("olga") == pytest.approx(260.0)
    assert throttle.wait_seconds("someone-else") == 0
    clock.now = 1000 + 300
    assert throttle.wait_seconds("olga") == 0, "the oldest failure left the window"


def test_failures_spread_over_more_than_the_window_do_not_lock():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(10):
        throttle.failed("olga")
        clock.now += 61
    assert throttle.wait_seconds("olga") == 0


def test_success_clears_the_count():
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        throttle.failed("olga")
    throttle.succeeded("olga")
    throttle.failed("olga")
    assert throttle.wait_seconds("olga") == 0


@pytest.mark.parametrize(
    ("role", "needed", "ok"),
    [
        ("viewer", "operator", False),
        ("operator", "operator", True),
        ("operator", "admin", False),
        ("admin", "operator", True),
        ("root", "viewer", False),
        ("admin", "god", False),
    ],
)
def test_allows(role, needed, ok):
    assert allows(role, needed) is ok


def test_hash_command_reads_stdin_and_prints_a_verifiable_hash():
    out = subprocess.run(
        [sys.executable, "-m", "lib.auth", "hash"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert verify_password("s3cret", out)
