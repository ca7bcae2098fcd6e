"""Password hashes, the users file, the e-mail → role map and the lockout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lib.auth import (
    Actor,
    LoginThrottle,
    UserBook,
    allows,
    hash_password,
    load_users,
    verify_password,
)
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


def fail(throttle: LoginThrottle, user: str, client: str = "10.0.0.1"):
    """One attempt that turns out wrong: the throttle counted it when it let it through."""
    verdict = throttle.attempt(user, client)
    assert verdict.allowed, verdict
    return verdict


def test_lockout_after_five_failures_in_five_minutes():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        fail(throttle, "olga")
        clock.now += 10
    fail(throttle, "olga")  # the fifth, at t=1040; the first was at t=1000
    refused = throttle.attempt("olga", "10.0.0.1")
    assert not refused.allowed and refused.wait == pytest.approx(260.0)
    assert throttle.attempt("someone-else", "10.0.0.1").allowed
    clock.now = 1000 + 300
    assert throttle.attempt("olga", "10.0.0.1").allowed, "the oldest failure left the window"


def test_failures_spread_over_more_than_the_window_do_not_lock():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(10):
        fail(throttle, "olga")
        clock.now += 61


def test_success_clears_the_count_for_that_user_and_client():
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        fail(throttle, "olga")
    ok = throttle.attempt("olga", "10.0.0.1")
    throttle.succeeded("olga", "10.0.0.1", ok)
    for _ in range(4):
        fail(throttle, "olga")
    assert throttle.attempt("olga", "10.0.0.1").allowed


def test_a_user_locked_from_one_client_still_signs_in_from_another():
    """The admin whose name an attacker hammered from 10.0.0.66 is not locked out at 10.0.0.7."""
    throttle = LoginThrottle(clock=Clock())
    for _ in range(5):
        fail(throttle, "ada", client="10.0.0.66")
    assert not throttle.attempt("ada", "10.0.0.66").allowed
    assert throttle.attempt("ada", "10.0.0.7").allowed


def test_one_client_trying_many_names_is_stopped():
    """Spraying a password over user names (a few tries each) hits the per-client limit."""
    clock = Clock()
    throttle = LoginThrottle(clock=clock, per_pair=5, per_client=20)
    for i in range(20):
        fail(throttle, f"user{i}", client="10.0.0.66")
    refused = throttle.attempt("user-new", "10.0.0.66")
    assert not refused.allowed and refused.reason == "client"
    assert "address" in refused.message()
    assert throttle.attempt("user-new", "10.0.0.7").allowed, "other clients are unaffected"


def test_a_user_guessed_at_from_many_clients_hits_the_per_user_ceiling():
    throttle = LoginThrottle(clock=Clock(), per_pair=5, per_user=50)
    for i in range(50):
        fail(throttle, "ada", client=f"10.1.0.{i}")
    refused = throttle.attempt("ada", "10.9.9.9")
    assert not refused.allowed and refused.reason == "user"


def test_global_pressure_slows_attempts_down_but_never_refuses():
    clock = Clock()
    throttle = LoginThrottle(
        clock=clock, global_free=30, global_step=0.1, global_max_delay=3.0, per_client=10_000
    )
    delays = [
        fail(throttle, f"user{i}", client=f"10.2.{i // 250}.{i % 250}").delay for i in range(200)
    ]
    assert delays[:30] == [0.0] * 30, "below the free allowance nothing waits"
    assert delays[30] == pytest.approx(0.1) and delays[40] == pytest.approx(1.1)
    assert max(delays) == pytest.approx(3.0), "the slow-down has a ceiling"
    assert all(d <= 3.0 for d in delays)
    clock.now += 61
    assert throttle.attempt("late", "10.3.0.1").delay == 0.0, "pressure passes with the window"


def test_the_last_slot_goes_to_one_of_two_concurrent_attempts():
    """Check-and-count is one locked step: many threads racing for one slot, one wins."""
    import threading

    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        fail(throttle, "olga")
    start = threading.Barrier(16)
    verdicts = []

    def race():
        start.wait()
        verdicts.append(throttle.attempt("olga", "10.0.0.1"))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(v.allowed for v in verdicts) == 1


def test_remembered_names_and_clients_are_capped():
    throttle = LoginThrottle(clock=Clock(), max_keys=100, per_client=1_000_000)
    for i in range(5_000):
        fail(throttle, f"user{i}", client=f"c{i}")
    assert throttle.remembered() <= 3 * 100


def test_a_lock_in_use_survives_the_cap():
    throttle = LoginThrottle(clock=Clock(), max_keys=100, per_client=1_000_000)
    for _ in range(5):
        fail(throttle, "ada", client="10.0.0.66")
    for i in range(300):  # 300 other names: the oldest entries are dropped, not the busy one
        fail(throttle, f"user{i}", client="other")
        assert not throttle.attempt("ada", "10.0.0.66").allowed, "the attacker keeps trying"
    assert throttle.remembered() <= 3 * 100


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


# -- roles per cluster (issue 17) ------------------------------------------------------------


def users_file(tmp_path, role: str) -> object:
    path = tmp_path / "users.toml"
    path.write_text(f'[users.sam]\npassword_hash = "{hash_password("pw")}"\nrole = {role}\n')
    return path


def test_a_role_table_gives_a_role_per_cluster_and_default_elsewhere(tmp_path):
    path = users_file(tmp_path, '{ default = "viewer", staging = "operator", batch = "admin" }')
    actor = load_users(path).check("sam", "pw")
    assert actor == Actor("sam", "viewer", (("staging", "operator"), ("batch", "admin")))
    assert [actor.role_in(c) for c in ("production", "staging", "batch", "default")] == [
        "viewer", "operator", "admin", "viewer",
    ]  # fmt: skip
    assert load_users(users_file(tmp_path, '"operator"')).check("sam", "pw") == Actor(
        "sam", "operator"
    ), "a plain role holds on every cluster"


def test_secrets_users_take_a_role_table_too(tmp_path):
    entry = {"password_hash": hash_password("pw"), "role": {"default": "admin", "prod": "viewer"}}
    actor = load_users(None, {"users": {"sam": entry}}).check("sam", "pw")
    assert (actor.role_in("prod"), actor.role_in("staging")) == ("viewer", "admin")


@pytest.mark.parametrize(
    ("role", "says"),
    [
        ('{ staging = "operator" }', "User 'sam' has a role table without default"),
        (
            '{ default = "viewer", staging = "root" }',
            "User 'sam' has role 'root' on cluster 'staging'",
        ),
        ('{ default = "boss" }', "User 'sam' has role 'boss' on clusters not named (default)"),
        ('{ default = "viewer", staging = { x = 1 } }', "on cluster 'staging'"),
        ('["viewer", "admin"]', "or a table of roles per cluster"),
        ("3", "User 'sam' has role 3: write one of viewer, operator, admin"),
        ('"Operator"', "User 'sam' has role 'Operator'; use one of viewer, operator, admin"),
    ],
    ids=["no-default", "bad-cluster-role", "bad-default", "nested", "list", "number", "case"],
)
def test_a_bad_role_names_the_user_and_the_cluster(tmp_path, role, says):
    with pytest.raises(SettingsError) as err:
        load_users(users_file(tmp_path, role))
    assert says in str(err.value)


def test_a_user_without_a_role_is_told_the_roles(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(f'[users.sam]\npassword_hash = "{hash_password("pw")}"\n')
    with pytest.raises(SettingsError, match="User 'sam' has role None; use one of viewer"):
        load_users(path)
