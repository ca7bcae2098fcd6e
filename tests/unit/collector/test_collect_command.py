"""``./ops collect`` (``python -m lib.collector``) as a real process on scripted Flowers over
HTTP and real SQLite stores: with OPS_CLUSTERS_FILE one collector per cluster, each into its own
store file, lines prefixed with the cluster, one /metrics + /healthz for all, SIGTERM or SIGINT
stops all; a cluster whose store cannot be opened is said while the others go on; single-cluster
output is unchanged."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from demo.cluster import free_port
from lib.store import Store
from tests.unit.collector.conftest import served
from tests.unit.collector.test_loop import PASSWORD, FakeFlower, in_flower, tasks

REPO = Path(__file__).resolve().parents[3]
#: What the console reads from the environment: none of the test runner's may leak in.
CLEARED = ("FLOWER", "CELERY_", "OPS_", "RABBITMQ_")


class Collect:
    """``python -m lib.collector`` running; its stdout read line by line into a queue."""

    def __init__(self, env: dict[str, str]):
        base = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lib.collector", "--every", "0"],
            cwd=REPO,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, check, what: str, timeout: float = 60.0) -> str:
        """The first line (from now) that ``check`` accepts; fail with ``what`` at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line {what}; last seen: {self.seen[-8:]}") from None
            self.seen.append(line)
            if check(line):
                return line

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def alpha():
    fake = FakeFlower(tasks("a1", "a2"))
    with served(fake):
        yield fake


@pytest.fixture
def beta():
    fake = FakeFlower(tasks("b1"))
    with served(fake):
        yield fake


def clusters_env(tmp_path: Path, *flowers: tuple[str, FakeFlower]) -> dict[str, str]:
    text = "".join(
        f'[clusters.{name}]\nflower_url = "{fake.url}"\nflower_basic_auth = "env:AUTH"\n'
        "flower_timeout = 2\n\n"
        for name, fake in flowers
    )
    (tmp_path / "clusters.toml").write_text(text)
    return {
        "OPS_CLUSTERS_FILE": str(tmp_path / "clusters.toml"),
        "AUTH": f"admin:{PASSWORD}",
        "OPS_DATA_DIR": str(tmp_path / "data"),
        "OPS_POLL_SECONDS": "1",
        "OPS_RETENTION_DAYS": "3650",
        "OPS_RETENTION_SUCCESS_DAYS": "3650",
    }


def stored(path: Path) -> set[str]:
    store = Store(f"sqlite:///{path}")
    try:
        return set(in_flower(store))
    finally:
        store.close()


def test_every_cluster_is_collected_into_its_own_store_served_on_one_port(alpha, beta, tmp_path):
    port = free_port()
    env = clusters_env(tmp_path, ("alpha", alpha), ("beta", beta))
    run = Collect({**env, "OPS_METRICS_PORT": str(port)})
    try:
        run.until(lambda line: line.startswith("collecting 2 clusters (alpha, beta)"), "started")
        polled = set()
        while polled != {"alpha", "beta"}:
            line = run.until(lambda line: " full sync" in line, "both clusters polled")
            polled.add(line.partition("]")[0].lstrip("["))
        data = tmp_path / "data"
        assert stored(data / "store.alpha.sqlite3") == {"a1", "a2"}
        assert stored(data / "store.beta.sqlite3") == {"b1"}
        assert not (data / "store.sqlite3").exists(), "no cluster is named default"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'cluster="alpha"' in metrics and 'cluster="beta"' in metrics
        assert metrics.count("# TYPE celery_console_workers gauge") == 1, "one family per name"
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
        assert [c["cluster"] for c in health.json()["clusters"]] == ["alpha", "beta"]
    finally:
        code = run.stop(signal.SIGTERM)
    assert code == 0 and run.until(lambda line: line == "stopped", "stopped")
    assert not any(PASSWORD in line for line in run.seen)


def test_a_cluster_whose_store_cannot_open_is_said_and_the_other_goes_on(alpha, beta, tmp_path):
    env = clusters_env(tmp_path, ("alpha", alpha), ("beta", beta))
    (tmp_path / "data" / "store.alpha.sqlite3").mkdir(parents=True)  # not a database file
    run = Collect(env)
    try:
        said = run.until(lambda line: line.startswith("[alpha]"), "alpha said")
        assert said.startswith("[alpha] not collected: its history store cannot be used.")
        assert "Traceback" not in said
        run.until(lambda line: line.startswith("collecting 1 clusters (beta)"), "beta alone")
        run.until(lambda line: line.startswith("[beta] full sync"), "beta polled")
    finally:
        code = run.stop(signal.SIGINT)
    assert code == 0
    assert stored(tmp_path / "data" / "store.beta.sqlite3") == {"b1"}


def test_no_cluster_that_can_run_is_exit_2(alpha, tmp_path):
    env = clusters_env(tmp_path, ("alpha", alpha))
    (tmp_path / "data" / "store.alpha.sqlite3").mkdir(parents=True)
    run = Collect(env)
    assert run.proc.wait(60) == 2
    run.until(lambda line: line.startswith("No cluster can be collected"), "why")
    assert not any("Traceback" in line for line in run.seen)


def test_a_bad_clusters_file_is_said_in_plain_words(tmp_path):
    (tmp_path / "clusters.toml").write_text("[clusters.Bad Name]\n")
    run = Collect({"OPS_CLUSTERS_FILE": str(tmp_path / "clusters.toml")})
    assert run.proc.wait(60) == 2
    said = run.until(lambda line: line.startswith("ops collect: "), "the problem")
    assert "OPS_CLUSTERS_FILE" in said and "Traceback" not in "\n".join(run.seen)


def test_one_cluster_prints_as_before(alpha, tmp_path):
    run = Collect(
        {
            "FLOWER_URL": alpha.url,
            "FLOWER_BASIC_AUTH": f"admin:{PASSWORD}",
            "OPS_DATA_DIR": str(tmp_path / "data"),
            "OPS_POLL_SECONDS": "1",
        }
    )
    try:
        first = run.until(lambda line: True, "the first line")
        assert first == (
            f"collecting Flower at {alpha.url} every 1 s into the history store; Ctrl-C stops"
        )
        polled = run.until(lambda line: "sync" in line, "a poll")
        assert polled.startswith("full sync, 2 read, 2 written")
    finally:
        code = run.stop()
    assert code == 0
