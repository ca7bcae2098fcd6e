"""Login tokens (sign, verify, expiry, tampering), the generated secret, revocation, idle time."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from lib.errors import SettingsError
from lib.session import (
    SECRET_FILE,
    Claims,
    RevokedSessions,
    idle_expired,
    issue_token,
    load_secret,
    read_token,
)

SECRET = b"k" * 32
NOW = 1_800_000_000.0


def claims(**kw) -> Claims:
    base = {"user": "olga", "sid": "s1", "issued": NOW, "expires": NOW + 3600, "auth_time": NOW}
    return Claims(**{**base, **kw})


def test_a_token_round_trips_and_carries_no_password():
    token = issue_token(SECRET, claims())
    assert read_token(SECRET, token) == claims()
    assert claims().valid_at(NOW + 10)
    assert "pw" not in token and "=" not in token, "URL- and cookie-safe, no padding"


def test_an_expired_token_is_read_but_not_valid():
    token = issue_token(SECRET, claims(expires=NOW + 60))
    read = read_token(SECRET, token)
    assert read is not None and read.valid_at(NOW + 59)
    assert not read.valid_at(NOW + 60)


def _tamper_payload(token: str, **changes) -> str:
    version, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{version}.{raw}.{sig}"


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: _tamper_payload(t, u="ada"),
        lambda t: _tamper_payload(t, exp=NOW + 10**9),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.replace("v1.", "v2.", 1),
        lambda t: issue_token(b"another secret, not ours.......", claims()),
        lambda t: "",
        lambda t: "v1.@@@.@@@",
        lambda t: "v1." + base64.urlsafe_b64encode(b"[1,2]").decode() + ".x",
        lambda t: t + ".extra",
    ],
    ids=[
        "other-user",
        "longer-expiry",
        "bad-signature",
        "unknown-version",
        "other-secret",
        "empty",
        "not-base64",
        "not-an-object",
        "extra-part",
    ],
)
def test_a_tampered_or_foreign_token_is_rejected(forge):
    assert read_token(SECRET, forge(issue_token(SECRET, claims()))) is None


def test_a_signed_token_with_wrong_field_types_is_rejected():
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(json.dumps({"u": 1, "sid": "s"}).encode()).decode()
    payload = payload.rstrip("=")
    sig = hmac.new(SECRET, f"v1.{payload}".encode(), hashlib.sha256).digest()
    token = f"v1.{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    assert read_token(SECRET, token) is None


def test_the_secret_is_generated_once_with_owner_only_permissions(tmp_path):
    data_dir = tmp_path / "ops-data"
    first = load_secret(None, data_dir)
    path = data_dir / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_secret(None, data_dir) == first, "reused, so tokens survive a restart"


def test_a_configured_secret_wins_and_writes_no_file(tmp_path):
    assert load_secret("a-shared-secret-of-some-length", tmp_path) == (
        b"a-shared-secret-of-some-length"
    )
    assert not (tmp_path / SECRET_FILE).exists()


def test_a_secret_file_others_can_read_is_refused(tmp_path):
    load_secret(None, tmp_path)
    os.chmod(tmp_path / SECRET_FILE, 0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_secret(None, tmp_path)


def test_an_unwritable_data_dir_is_a_plain_sentence(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(SettingsError, match="OPS_SESSION_SECRET"):
        load_secret(None, blocker / "ops-data")


def test_revoked_sessions_are_refused_until_their_tokens_could_have_expired():
    revoked = RevokedSessions(max_entries=3)
    revoked.revoke("s1", until=NOW + 100)
    assert revoked.is_revoked("s1", NOW + 50)
    assert not revoked.is_revoked("s2", NOW + 50)
    assert not revoked.is_revoked("s1", NOW + 101), "forgotten once no token of it is valid"


def test_revocations_are_capped_dropping_the_soonest_to_expire():
    revoked = RevokedSessions(max_entries=3)
    for i, until in enumerate([NOW + 10, NOW + 500, NOW + 300, NOW + 400]):
        revoked.revoke(f"s{i}", until=until)
    assert len(revoked) == 3
    assert not revoked.is_revoked("s0", NOW), "the soonest-expiring entry made room"
    assert all(revoked.is_revoked(s, NOW) for s in ("s1", "s2", "s3"))


@pytest.mark.parametrize(
    ("last", "now", "expired"),
    [
        (None, NOW, False),
        (NOW - 3600, NOW, False),
        (NOW - 3601, NOW, True),
        (NOW - 10, NOW, False),
    ],
    ids=["never-active", "exactly-the-limit", "past-the-limit", "recent"],
)
def test_idle_expiry_is_more_than_the_limit_since_the_last_activity(last, now, expired):
    assert idle_expired(last, now, idle_seconds=3600) is expired
