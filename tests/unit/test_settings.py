from pathlib import Path

import pytest

from lib.errors import SettingsError
from lib.settings import DEFAULT_FLOWER_URL, load_settings


def test_defaults_when_nothing_is_set():
    s = load_settings({})
    assert s.flower_url == DEFAULT_FLOWER_URL
    assert s.flower_auth is None
    assert s.poll_seconds == 10.0
    assert s.auth_enabled is True


def test_every_contract_variable_is_read():
    s = load_settings(
        {
            "FLOWER_URL": "https://flower.internal:5555/flower/",
            "FLOWER_BASIC_AUTH": "ops:s3cret:with:colons",
            "FLOWER_TIMEOUT": "2.5",
            "CELERY_BROKER_URL": "redis://:pw@redis:6379/0",
            "CELERY_RESULT_BACKEND": "redis://redis:6379/1",
            "OPS_POLL_SECONDS": "5",
            "OPS_DATA_DIR": "/var/lib/ops",
            "OPS_AUTH": "off",
            "OPS_USERS_FILE": "/etc/ops/users.toml",
            "OPS_WORKFLOWS_FILE": "/etc/ops/workflows.toml",
        }
    )
    assert s.flower_url == "https://flower.internal:5555/flower"
    assert s.flower_auth == ("ops", "s3cret:with:colons")
    assert s.flower_timeout == 2.5
    assert s.broker_url == "redis://:pw@redis:6379/0"
    assert s.poll_seconds == 5.0
    assert s.data_dir == Path("/var/lib/ops")
    assert s.auth_enabled is False
    assert s.users_file == Path("/etc/ops/users.toml")
    assert s.workflows_file == Path("/etc/ops/workflows.toml")
    assert set(s.secrets) == {"s3cret:with:colons", "pw"}


def test_secrets_file_is_read_and_environment_wins():
    s = load_settings(
        {"FLOWER_URL": "http://env:5555"},
        {"FLOWER_URL": "http://file:5555", "OPS_POLL_SECONDS": 3},
    )
    assert s.flower_url == "http://env:5555"
    assert s.poll_seconds == 3.0


def test_credentials_in_flower_url_become_auth_and_leave_the_url():
    s = load_settings({"FLOWER_URL": "http://admin:pw@localhost:5555"})
    assert s.flower_auth == ("admin", "pw")
    assert s.flower_url == "http://localhost:5555"
    assert "pw" not in s.flower_display_url


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("FLOWER_URL", "localhost:5555", "not an http(s) URL"),
        ("FLOWER_URL", "ftp://flower", "not an http(s) URL"),
        ("FLOWER_URL", "http://flower:99999", "invalid port"),
        ("FLOWER_BASIC_AUTH", "adminpassword", "user:password"),
        ("FLOWER_BASIC_AUTH", ":nouser", "user:password"),
        ("FLOWER_TIMEOUT", "soon", "not a number"),
        ("FLOWER_TIMEOUT", "0", "≥ 0.1"),
        ("OPS_POLL_SECONDS", "-5", "≥ 1"),
        ("OPS_POLL_SECONDS", "nan", "≥ 1"),
        ("CELERY_BROKER_URL", "localhost:6379", "not a URL"),
        ("OPS_AUTH", "maybe", "neither on nor off"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)
def test_bad_values_name_the_variable(name, value, says):
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    message = str(err.value)
    assert name in message
    assert says in message


def test_all_problems_in_one_message_and_no_password_in_it():
    with pytest.raises(SettingsError) as err:
        load_settings({"FLOWER_URL": "gopher://u:hunter2@x", "OPS_POLL_SECONDS": "-1"})
    message = str(err.value)
    assert "FLOWER_URL" in message and "OPS_POLL_SECONDS" in message
    assert "hunter2" not in message


def test_audit_retention_defaults_to_forever_and_reads_days():
    assert load_settings({}).audit_retention_days is None
    assert load_settings({"OPS_AUDIT_RETENTION_DAYS": ""}).audit_retention_days is None
    assert load_settings({"OPS_AUDIT_RETENTION_DAYS": " 90 "}).audit_retention_days == 90
    assert load_settings({}, {"OPS_AUDIT_RETENTION_DAYS": 30}).audit_retention_days == 30


@pytest.mark.parametrize("value", ["0", "-5", "ninety", "1.5", "nan", "forever", "²"])
def test_bad_audit_retention_names_the_variable(value):
    with pytest.raises(SettingsError) as err:
        load_settings({"OPS_AUDIT_RETENTION_DAYS": value})
    message = str(err.value)
    assert "OPS_AUDIT_RETENTION_DAYS" in message
    assert "whole number of days" in message and "unset" in message


def test_session_settings_default_and_parse():
    s = load_settings({})
    assert s.session_idle_minutes == 60
    assert s.session_secret is None
    s = load_settings(
        {"OPS_SESSION_IDLE_MINUTES": "15", "OPS_SESSION_SECRET": "a-shared-secret-of-some-length"}
    )
    assert s.session_idle_minutes == 15
    assert s.session_secret == "a-shared-secret-of-some-length"
    assert "a-shared-secret-of-some-length" in s.secrets, "scrubbed wherever secrets are"
    assert "a-shared-secret-of-some-length" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("OPS_SESSION_IDLE_MINUTES", "0", "whole number ≥ 1"),
        ("OPS_SESSION_IDLE_MINUTES", "soon", "whole number ≥ 1"),
        ("OPS_SESSION_SECRET", "short", "at least 16 characters"),
    ],
)
def test_bad_session_settings_name_the_variable(name, value, says):
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    assert name in str(err.value) and says in str(err.value)
    assert value not in str(err.value) or name != "OPS_SESSION_SECRET"


def test_bulk_budget_seconds_defaults_to_60_and_is_read():
    assert load_settings({}).bulk_budget_seconds == 60.0
    assert load_settings({"OPS_BULK_BUDGET_SECONDS": "15"}).bulk_budget_seconds == 15.0
    with pytest.raises(SettingsError, match="OPS_BULK_BUDGET_SECONDS"):
        load_settings({"OPS_BULK_BUDGET_SECONDS": "soon"})


def test_store_defaults_to_a_sqlite_file_in_the_data_dir_and_two_retentions():
    s = load_settings({"OPS_DATA_DIR": "/var/lib/ops"})
    assert s.store_url == "sqlite:////var/lib/ops/store.sqlite3"
    assert (s.retention_days, s.retention_success_days) == (14, 2)


def test_store_settings_are_read_and_the_store_password_is_a_secret():
    s = load_settings(
        {
            "OPS_STORE_URL": "postgresql://ops:St0reP4ss@db.internal/ops",
            "OPS_RETENTION_DAYS": "30",
            "OPS_RETENTION_SUCCESS_DAYS": "1",
        }
    )
    assert s.store_url == "postgresql://ops:St0reP4ss@db.internal/ops"
    assert (s.retention_days, s.retention_success_days) == (30, 1)
    assert "St0reP4ss" in s.secrets


def test_the_short_postgres_scheme_is_a_store_url_as_the_engine_takes_it():
    s = load_settings({"OPS_STORE_URL": "postgres://ops:St0reP4ss@db.internal/ops"})
    assert s.store_url == "postgres://ops:St0reP4ss@db.internal/ops"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("OPS_STORE_URL", "mysql://ops:Pw9@db/ops", "not a store URL"),
        ("OPS_STORE_URL", "store.sqlite3", "not a store URL"),
        ("OPS_RETENTION_DAYS", "0", "whole number of days"),
        ("OPS_RETENTION_DAYS", "two", "whole number of days"),
        ("OPS_RETENTION_SUCCESS_DAYS", "-1", "whole number of days"),
        ("OPS_RETENTION_SUCCESS_DAYS", "1.5", "whole number of days"),
    ],
    ids=["mysql", "no-scheme", "zero-days", "words", "negative", "fraction"],
)
def test_bad_store_settings_name_the_variable(name, value, says):
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert name in message and says in message
    assert "Pw9" not in message


def test_collector_defaults_to_embedded_and_reads_external():
    assert load_settings({}).collector == "embedded"
    assert load_settings({"OPS_COLLECTOR": " External "}).collector == "external"
    assert load_settings({}, {"OPS_COLLECTOR": "embedded"}).collector == "embedded"


def test_a_bad_collector_mode_names_the_variable():
    with pytest.raises(
        SettingsError, match="OPS_COLLECTOR: 'sidecar' is neither embedded nor external"
    ):
        load_settings({"OPS_COLLECTOR": "sidecar"})


def test_the_rabbitmq_management_url_is_read_and_its_password_is_a_secret():
    s = load_settings({"RABBITMQ_MANAGEMENT_URL": "http://ops:Mgmt%2Fpw@rabbit:15672"})
    assert s.rabbitmq_management_url == "http://ops:Mgmt%2Fpw@rabbit:15672"
    assert {"Mgmt%2Fpw", "Mgmt/pw"} <= set(s.secrets)
    with pytest.raises(SettingsError) as err:
        load_settings({"RABBITMQ_MANAGEMENT_URL": "ops:Mgmt-pw@rabbit:15672"})
    assert "RABBITMQ_MANAGEMENT_URL" in str(err.value) and "Mgmt-pw" not in str(err.value)


def test_alert_and_metrics_settings_default_and_parse():
    s = load_settings({})
    assert (s.public_url, s.alerts_file, s.alert_webhook) == ("http://localhost:8501", None, None)
    assert (s.metrics_port, s.metrics_address) == (None, "127.0.0.1")
    hook = "https://hooks.slack.com/services/T000/B000/XyZsecretTok"
    s = load_settings(
        {
            "OPS_PUBLIC_URL": "https://ops.example.com/console/",
            "OPS_ALERTS_FILE": "/etc/ops/alerts.toml",
            "OPS_ALERT_WEBHOOK": hook,
            "OPS_METRICS_PORT": "9808",
            "OPS_METRICS_ADDRESS": "0.0.0.0",
        }
    )
    assert s.public_url == "https://ops.example.com/console", "no trailing slash: links add one"
    assert s.alerts_file == Path("/etc/ops/alerts.toml")
    assert (s.metrics_port, s.metrics_address) == (9808, "0.0.0.0")
    assert s.alert_webhook == hook
    assert hook in s.secrets, "the webhook URL is a secret as a whole"
    assert "XyZsecretTok" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("OPS_PUBLIC_URL", "ops.example.com", "not an address"),
        ("OPS_METRICS_PORT", "70000", "not a port"),
        ("OPS_METRICS_PORT", "http", "not a port"),
        ("OPS_ALERT_WEBHOOK", "hooks.slack.com/services/T0/B0/s3cretTok", "not an http(s) URL"),
    ],
)
def test_bad_alert_and_metrics_settings_name_the_variable(name, value, says):
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    assert name in str(err.value) and says in str(err.value)
    assert "s3cretTok" not in str(err.value), "a webhook URL is never echoed"
