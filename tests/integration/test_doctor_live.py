"""``./ops doctor`` on real clusters: the sandbox's (all PASS, exit 0; warnings only, exit 1),
with a wrong password, and a second cluster whose Flower has a url_prefix and
``--enable_events=False`` and whose one worker runs without ``-E`` (and without the settings the
console relies on); the broker check on a real RabbitMQ node."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from celery import Celery

from demo.cluster import REPO_ROOT, Cluster, WorkerSpec
from lib.doctor import CHECKS, Status, run_checks
from lib.doctor.__main__ import main
from lib.doctor.evidence import Evidence
from lib.doctor.service_checks import check_broker
from lib.settings import NAMES, Settings
from tests.live import wait_until

QUIET_WORKER = WorkerSpec("quiet@%h", ("default",), concurrency=1, events=False)


@pytest.fixture(scope="module")
def quiet_cluster(tmp_path_factory):
    """Flower at /flower with events off; one worker that ran a task since Flower saw it start."""
    cluster = Cluster(
        tmp_path_factory.mktemp("quiet-cluster"),
        flower_auth=None,
        url_prefix="flower",
        workers=(QUIET_WORKER,),
        flower_args=("--enable_events=False",),
        app="tests.doctor_app",
    )
    with cluster:
        host = QUIET_WORKER.hostname
        cluster.restart_worker(host)  # Flower now hears it come online: its tasks are all seen
        producer = Celery("quiet-producer", broker=cluster.broker_url)
        try:
            producer.send_task("demo.add", args=[1, 2], queue="default")
        finally:
            producer.close()
        wait_until(lambda: _executed(cluster, host), "the quiet worker to run the task")
        yield cluster


def _executed(cluster: Cluster, host: str) -> int:
    info = cluster.flower_get("/api/workers", refresh=1, workername=host).json()
    return sum(info[host]["stats"].get("total", {}).values())


def doctor(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    """``python -m lib.doctor`` with only ``env`` as the console's configuration."""
    clean = {k: v for k, v in os.environ.items() if k not in NAMES}
    clean.update(env, OPS_DATA_DIR=str(tmp_path / "ops-data"), FLOWER_TIMEOUT="5")
    return subprocess.run(
        [sys.executable, "-m", "lib.doctor"],
        env=clean,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_healthy_sandbox_passes_every_check(cluster, tmp_path):
    done = doctor(cluster.env(), tmp_path)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(":")[0] for line in lines[:-1]] == [f"PASS {c.name}" for c in CHECKS]
    assert lines[-1] == "12 checks: 12 passed, 0 warnings, 0 failures"
    password = cluster.flower_auth.partition(":")[2]
    assert password not in done.stdout + done.stderr


def test_a_wrong_password_fails_on_auth_with_the_fix(cluster, tmp_path):
    wrong = "not-the-Pa55word"
    done = doctor({**cluster.env(), "FLOWER_BASIC_AUTH": f"admin:{wrong}"}, tmp_path)
    auth = next(line for line in done.stdout.splitlines() if " Flower auth:" in line)
    assert done.returncode == 2
    assert auth.startswith(
        "FAIL Flower auth: Flower refused the user:password in FLOWER_BASIC_AUTH"
    )
    output = done.stdout + done.stderr
    assert wrong not in output and cluster.flower_auth.partition(":")[2] not in output


def test_warnings_only_exit_1(cluster, tmp_path, monkeypatch, capsys):
    env = {**cluster.env(), "OPS_DATA_DIR": str(tmp_path / "ops-data"), "FLOWER_TIMEOUT": "5"}
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CELERY_BROKER_URL")
    monkeypatch.delenv("CELERY_RESULT_BACKEND")
    assert main([]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith("PASS")] == [
        "WARN Broker",
        "WARN Result backend",
        "12 checks",
    ]


def quiet_settings(cluster: Cluster, tmp_path, flower_url: str) -> Settings:
    return Settings(
        flower_url=flower_url,
        broker_url=cluster.broker_url,
        result_backend=cluster.backend_url,
        flower_timeout=5.0,
        data_dir=tmp_path / "ops-data",
    )


def test_a_missing_url_prefix_says_add_it(quiet_cluster, tmp_path):
    root = quiet_cluster.flower_url.removesuffix("/flower")
    found = {f.check: f for f in run_checks(quiet_settings(quiet_cluster, tmp_path, root))}
    assert found["URL prefix"].status is Status.FAIL
    assert found["URL prefix"].sentence.endswith(
        "Flower runs with --url_prefix=flower; add the url_prefix to FLOWER_URL, "
        f"FLOWER_URL={root}/flower."
    )


def test_events_off_in_flower_and_the_worker_warns_with_the_fix(quiet_cluster, tmp_path):
    settings = quiet_settings(quiet_cluster, tmp_path, quiet_cluster.flower_url)
    found = run_checks(settings)
    warned = {f.check for f in found if f.status is Status.WARN}
    assert warned == {"Task events", "task_send_sent_event", "result_extended"}, found
    assert not [f for f in found if f.status is Status.FAIL]
    events = next(f for f in found if f.check == "Task events").sentence
    assert f"{QUIET_WORKER.hostname} ran 1" in events
    assert "start workers with -E" in events


@pytest.mark.rabbitmq
def test_a_rabbitmq_broker_is_named_and_read(rabbitmq, tmp_path):
    settings = Settings(broker_url=rabbitmq.url, flower_timeout=5.0, data_dir=tmp_path)
    status, sentence = check_broker(Evidence(settings))
    assert status is Status.PASS
    assert sentence.startswith("The RabbitMQ broker at amqp://")
    password = urlsplit(rabbitmq.url).password
    assert not password or password not in sentence
