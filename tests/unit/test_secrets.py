"""Secrets: task exception text masked; the configuration's own secrets scrubbed from every text.

Issue 10, points 6 and 7: exception messages and tracebacks were never masked, and a URL with
credentials but no scheme (``admin:pw@flower:5555``) reached the screen verbatim.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from lib import redact
from lib.collector import Collector
from lib.errors import SettingsError
from lib.export import csv_bytes
from lib.failures import error_groups_frame, failures_frame, load_rules
from lib.frames import tasks_frame
from lib.monitor import ClusterMonitor
from lib.redact import Scrubber, mask_frame, scrub
from lib.settings import Settings, load_settings
from lib.store import Store
from tests.scripted_server import ScriptedServer

PASSWORD = "Pa55-w0rd-9f3e"
TOKEN = "tok-5b1c2d7e"
EXCEPTION = (
    f"ConnectionError('could not reach https://svc:{PASSWORD}@api.internal/v1 token={TOKEN}')"
)
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/tasks.py", line 9, in fetch\n'
    f"    raise ConnectionError(url)\nConnectionError: could not reach "
    f"https://svc:{PASSWORD}@api.internal/v1 token={TOKEN}\n"
)


def failed_task(**extra) -> dict:
    return {
        "uuid": "t1",
        "name": "demo.fetch",
        "state": "FAILURE",
        "received": 100.0,
        "started": 100.5,
        "failed": 101.0,
        "timestamp": 101.0,
        "exception": EXCEPTION,
        "traceback": TRACEBACK,
        **extra,
    }


# -- point 6: exception and traceback text of a task -----------------------------------------


def test_mask_frame_masks_exception_and_traceback():
    masked = mask_frame(tasks_frame([failed_task()]))
    for column in ("exception", "traceback"):
        text = masked.loc[0, column]
        assert PASSWORD not in text and TOKEN not in text, column
        assert "https://svc:***@api.internal/v1" in text and "token=***" in text


def test_mask_frame_masks_configured_keys_in_exception_text():
    task = failed_task(exception="ValueError('ssn=123-45-6789 rejected')", traceback="")
    masked = mask_frame(tasks_frame([task]), keys=(*redact.DEFAULT_SENSITIVE_KEYS, "ssn"))
    assert masked.loc[0, "exception"] == "ValueError('ssn=*** rejected')"


def test_error_groups_from_the_masked_frame_show_no_secret():
    masked = mask_frame(tasks_frame([failed_task()]))
    failed = failures_frame(masked, load_rules())
    groups = error_groups_frame(failed)
    shown = csv_bytes(failed).decode() + csv_bytes(groups).decode()
    assert PASSWORD not in shown and TOKEN not in shown
    assert groups.loc[0, "sample_message"] == (
        "could not reach https://svc:***@api.internal/v1 token=***"
    )
    assert groups.loc[0, "signature"] == "could not reach <url> token=***"


# -- point 7: one scrubber for the configuration's own secrets -------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "out"),
    [
        (
            "FLOWER_URL 'admin:pw@flower:5555' is bad",
            ("pw",),
            "FLOWER_URL 'admin:***@flower:5555' is bad",
        ),
        ("a s3cret and s3cret again", ("s3cret",), "a *** and *** again"),
        ("longer wins: abcdef", ("abc", "abcdef"), "longer wins: ***"),
        ("regex chars: a.b*c", ("a.b*c",), "regex chars: ***"),
        ("nothing known", (), "nothing known"),
        ("empty secrets are ignored", ("",), "empty secrets are ignored"),
    ],
    ids=["scheme-less", "repeated", "longest-first", "escaped", "none", "empty"],
)
def test_scrub_removes_every_known_secret(text, secrets, out):
    assert scrub(text, secrets) == out


def test_a_scrubber_remembers_secrets_and_leaves_non_text_alone():
    scrubber = Scrubber()
    assert scrubber("pw here") == "pw here"
    scrubber.remember(["pw"])
    scrubber.remember(["other"])
    assert scrubber("pw and other") == "*** and ***"
    assert scrubber(7) == 7


def test_csv_export_scrubs_known_secrets_in_every_text_cell():
    frame = pd.DataFrame({"message": ["failed: redis://:hunter22@redis"], "n": [1]})
    scrubber = Scrubber()
    scrubber.remember(["hunter22"])
    assert b"hunter22" not in csv_bytes(frame, scrubber=scrubber)


@pytest.mark.parametrize(
    ("name", "value", "password"),
    [
        ("FLOWER_URL", "admin:pw@flower:5555", "pw"),
        ("FLOWER_URL", "gopher://admin:pw@flower:5555", "pw"),
        ("CELERY_BROKER_URL", "user:s3cret@redis:6379/0", "s3cret"),
        ("CELERY_RESULT_BACKEND", ":s3cret@redis:6379/1", "s3cret"),
        ("CELERY_BROKER_URL", "user:p%40ss@redis:6379/0", "p@ss"),
        ("CELERY_BROKER_URL", "user:p@ss@redis:6379/0", "p@ss"),
    ],
    ids=[
        "flower-no-scheme",
        "flower-bad-scheme",
        "broker-no-scheme",
        "backend-no-user",
        "encoded",
        "raw-at",
    ],
)
def test_settings_error_never_shows_a_scheme_less_password(name, value, password):
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    message = str(err.value)
    assert name in message
    assert password not in message
    assert password.replace("@", "%40") not in message
    assert "ss@" not in message, "no part of the password either"


def test_settings_secrets_cover_every_credential():
    settings = load_settings(
        {
            "FLOWER_URL": "http://admin:urlpw@flower:5555",
            "FLOWER_BASIC_AUTH": "ops:basicpw",
            "CELERY_BROKER_URL": "amqp://user:brokerpw@rabbit//",
            "CELERY_RESULT_BACKEND": "redis://:p%40ss@redis:6379/1",
        }
    )
    assert {"basicpw", "brokerpw", "p%40ss", "p@ss"} <= set(settings.secrets)


# -- logging ----------------------------------------------------------------------------------


def test_a_flower_error_carrying_a_password_is_scrubbed_from_the_log(caplog, tmp_path):
    """Flower's error body echoes the broker URL with its password: the log must not."""
    body = json.dumps({"error": f"Error connecting to redis://:{PASSWORD}@redis:6379/0"})
    with ScriptedServer(lambda method, path: (503, body, {})) as server:
        settings = Settings(
            flower_url=server.url,
            flower_auth=("admin", "flowerpw-7c1"),
            broker_url=f"redis://:{PASSWORD}@127.0.0.1:1/0",
            data_dir=tmp_path,
        )
        store = Store.from_settings(settings)
        collector = Collector(settings, store)
        monitor = ClusterMonitor(settings, store, collector)
        caplog.set_level(logging.DEBUG)
        collector.poll()
        reading = monitor.workers()
        store.close()
    assert reading.error is not None and "Flower said" in str(reading.error)
    assert "task sync failed" in caplog.text
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


def test_the_audit_log_never_stores_a_known_secret(tmp_path):
    """An action's outcome is Flower's answer, which may echo a URL with the broker password."""
    from lib.audit import AuditLog

    redact.protect([PASSWORD])
    audit = AuditLog(tmp_path / "store.sqlite3")
    row = audit.claim("op-1", "ann", "operator", "revoke", ["t1"], {}, 1).row_id
    audit.record_outcome(row, "failed", f"Flower said: redis://:{PASSWORD}@redis:6379/0 down")
    assert PASSWORD not in audit.frame().to_csv()
    # The store keeps its connections open: a fresh write may still be in the WAL file.
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("store.sqlite3*"))
    assert b"Flower said: redis://" in on_disk, "the outcome is on disk, where we look"
    assert PASSWORD.encode() not in on_disk
