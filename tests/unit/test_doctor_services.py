"""The doctor's broker, result backend and store checks, and ``python -m lib.doctor``'s lines
and exit codes (real sockets, real SQLite files and the real PostgreSQL fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lib.doctor import Status
from lib.doctor.__main__ import main
from lib.doctor.evidence import Evidence
from lib.doctor.service_checks import check_backend, check_broker, check_store
from lib.store import Store
from lib.store.engine import reading
from lib.store.schema import KEPT_STATE
from tests.unit.doctor_helpers import closed_port, settings_for

PASSWORD = "br0ker-Pa55word"


def examine(check, tmp_path, **more):
    return check(Evidence(settings_for("http://127.0.0.1:1", tmp_path, **more)))


def test_no_broker_url_warns_what_is_lost(tmp_path):
    status, sentence = examine(check_broker, tmp_path)
    assert status is Status.WARN
    assert sentence.startswith("CELERY_BROKER_URL is not set")
    assert "purge" in sentence


def test_a_broker_the_console_cannot_read_warns(tmp_path):
    url = f"sqs://key:{PASSWORD}@region/"
    status, sentence = examine(check_broker, tmp_path, broker_url=url)
    assert status is Status.WARN
    assert "'sqs'" in sentence and PASSWORD not in sentence


def test_an_unreachable_broker_fails_without_its_password(tmp_path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"
    status, sentence = examine(check_broker, tmp_path, broker_url=url)
    assert status is Status.FAIL
    assert "Check CELERY_BROKER_URL" in sentence and PASSWORD not in sentence


def test_no_result_backend_warns_what_is_lost(tmp_path):
    status, sentence = examine(check_backend, tmp_path)
    assert status is Status.WARN
    assert sentence.startswith("CELERY_RESULT_BACKEND is not set: Retry cannot")


def test_an_unreachable_backend_fails_without_its_password(tmp_path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/1"
    status, sentence = examine(check_backend, tmp_path, result_backend=url)
    assert status is Status.FAIL
    assert "Check CELERY_RESULT_BACKEND" in sentence and PASSWORD not in sentence


def test_a_writable_store_passes_and_keeps_no_trace(tmp_path, any_store_url):
    store = Store(any_store_url)
    with reading(store.engine) as conn:
        before = conn.execute(select(func.count()).select_from(KEPT_STATE)).scalar()
    status, sentence = examine(check_store, tmp_path, store_url=any_store_url)
    assert status is Status.PASS
    assert sentence.endswith("is writable (OPS_STORE_URL).")
    with reading(store.engine) as conn:
        assert conn.execute(select(func.count()).select_from(KEPT_STATE)).scalar() == before


def test_a_store_that_cannot_be_opened_fails_with_the_fix(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker / 'store.sqlite3'}"
    status, sentence = examine(check_store, tmp_path, store_url=url)
    assert status is Status.FAIL
    assert "Fix OPS_STORE_URL" in sentence


@pytest.fixture
def console_env(monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_DATA_DIR", str(tmp_path / "ops-data"))
    monkeypatch.setenv("FLOWER_TIMEOUT", "1")
    return monkeypatch


def test_command_prints_one_line_per_check_and_exits_2_on_a_failure(console_env, capsys):
    console_env.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port()}")
    console_env.setenv("FLOWER_BASIC_AUTH", f"admin:{PASSWORD}")
    assert main([]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13
    assert lines[0].startswith("FAIL Flower reachable: Nothing answers at http://127.0.0.1:")
    assert lines[-1] == "12 checks: 1 passed, 10 warnings, 1 failure"
    assert all(line.split(" ", 1)[0] in ("PASS", "WARN", "FAIL") for line in lines[:-1])
    assert PASSWORD not in "\n".join(lines)


def test_a_bad_configuration_is_one_fail_line_naming_the_variable(console_env, capsys):
    console_env.setenv("FLOWER_URL", "ftp://flower.internal")
    console_env.setenv("FLOWER_BASIC_AUTH", PASSWORD)  # no colon: the whole value may be a password
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("FAIL Configuration: The console's configuration has a problem")
    assert "FLOWER_URL" in out and "FLOWER_BASIC_AUTH" in out
    assert PASSWORD not in out
