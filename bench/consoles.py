"""Bench-only helpers: the console as a child ``streamlit run``, a hung Flower, CPU by process group.

- ``ConsoleServer`` starts ``streamlit run app.py`` from any checkout (this one or a git worktree
  of an older commit) in its own process group, notes when it was spawned and when
  ``/_stcore/health`` first answered ``ok``, and stops the whole group on every exit path.
- ``HungFlower`` is a loopback socket that accepts connections and never answers: what an
  overloaded or stopped-but-listening Flower looks like to a client.
- ``group_cpu_seconds`` sums user + system CPU of every live process in a process group
  (children included) from ``/proc``: no psutil needed.
- ``QueueBroker`` is a real ``redis-server`` holding waiting messages in the synthetic cluster's
  queues, so the collector samples queue depths from a broker (the synthetic Flower has none).
- ``fill_store`` runs the console's own ``Collector`` in this process against a Flower until the
  store holds what Flower holds, so a console started later finds its history (and cursor) there.

Nothing here asserts: the benchmarks print what they measured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import requests
import sqlalchemy as sa

__all__ = [
    "ConsoleServer",
    "HungFlower",
    "QueueBroker",
    "console_env",
    "copy_data_dir",
    "fill_store",
    "group_cpu_seconds",
    "log",
    "retarget",
]

TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Progress goes to stderr so stdout keeps only the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def console_env(
    flower_url: str, data_dir: Path, poll: float, timeout: float, broker: str | None = None
) -> dict[str, str]:
    """The console's environment for a bench: login off, its own data directory, the broker
    ``broker`` (none when None)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "FLOWER_", "CELERY_"))}
    env.update(
        {
            "FLOWER_URL": flower_url,
            "FLOWER_TIMEOUT": f"{timeout:g}",
            "OPS_POLL_SECONDS": f"{poll:g}",
            "OPS_DATA_DIR": str(data_dir),
            "OPS_AUTH": "off",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if broker is not None:
        env["CELERY_BROKER_URL"] = broker
    return env


class ConsoleServer:
    """The console (``streamlit run app.py``) in ``app_dir``; ``spawned``/``answered`` are
    monotonic times."""

    def __init__(
        self,
        app_dir: Path,
        env: dict[str, str],
        log_path: Path,
        startup: float = 120,
        launcher: list[str] | None = None,
        port: int | None = None,
    ):
        self.app_dir, self.env, self.log_path, self.startup = app_dir, env, log_path, startup
        # what runs ``streamlit``'s command line: the checkout's own launcher (``serve``, as
        # ``./ops start`` runs it) where it has one, else ``python -m streamlit``
        own = (app_dir / "serve.py").exists()
        self.launcher = launcher or [sys.executable, "-m", "serve" if own else "streamlit"]
        # A given port: a browser's cache is per address, so a returning browser keeps it
        # across restarts only on the same port.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned = self.answered = 0.0

    def __enter__(self) -> ConsoleServer:
        args = [
            *self.launcher, "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        with open(self.log_path, "ab") as out:
            self.spawned = time.monotonic()
            self.proc = subprocess.Popen(
                args,
                cwd=self.app_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {self.proc.returncode}: see {self.log_path}"
                )
            try:
                resp = requests.get(f"{self.url}/_stcore/health", timeout=2)
                if resp.status_code == 200 and resp.text.strip() == "ok":
                    self.answered = time.monotonic()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)  # the poll interval of a deadline loop
        raise TimeoutError(f"streamlit did not answer within {self.startup:g} s: {self.log_path}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class HungFlower:
    """A loopback port that accepts every connection and never sends a byte.

    With ``upstream`` (host, port) it is a plain TCP relay to that Flower until ``hang()``:
    from then on nothing more is relayed either way, on new and open connections alike, which
    is how a Flower that stalls mid-life looks to its clients.
    """

    def __init__(self, upstream: tuple[str, int] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.upstream = upstream
        self.hung = threading.Event()
        if upstream is None:
            self.hung.set()
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="hung-flower", daemon=True)

    def hang(self) -> None:
        self.hung.set()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed by __exit__
                return
            self.held.append(conn)  # kept open; answered only while relaying
            if not self.hung.is_set() and self.upstream is not None:
                up = socket.create_connection(self.upstream)
                self.held.append(up)
                for a, b in ((conn, up), (up, conn)):
                    threading.Thread(target=self._relay, args=(a, b), daemon=True).start()

    def _relay(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                if self.hung.is_set():
                    return  # swallowed: the other side waits for ever
                dst.sendall(chunk)
        except OSError:
            return

    def __enter__(self) -> HungFlower:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (and of the
    children they have reaped)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # after the command: state ppid pgrp ... utime(12) stime(13) cutime(14) cstime(15)
        if int(fields[2]) == pgid:
            total += sum(int(f) for f in fields[11:15])
    return total / TICKS


def fill_store(
    flower_url: str, data_dir: Path, expected: int, deadline_s: float, broker: str | None = None
) -> float:
    """Run the console's collector here until the store holds ``expected`` tasks; seconds taken.

    Imports from this checkout's ``lib`` (the current console): the older commit has no store.
    """
    from lib.collector import Collector
    from lib.settings import load_settings
    from lib.store import Store

    env = console_env(flower_url, data_dir, poll=2, timeout=120, broker=broker)
    settings = load_settings(env, {})
    store = Store.from_settings(settings)
    collector = Collector(settings, store)
    began = time.monotonic()
    held = 0
    while time.monotonic() - began < deadline_s:
        report = collector.poll()
        with store.engine.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM tasks")).scalar_one()
        log(f"  fill: {report.mode or 'failed'} poll read {report.fetched:,}; store holds {held:,}")
        if held >= expected and report.mode == "incremental":
            break
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return time.monotonic() - began


def retarget(data_dir: Path, flower_url: str) -> None:
    """Say in a copied store that its collector read ``flower_url`` (a relay in front of the
    same Flower), so a console started on that URL resumes from the kept cursor."""
    with sqlite3.connect(data_dir / "store.sqlite3") as conn:
        for key, value in conn.execute("SELECT key, value FROM kept_state").fetchall():
            kept = json.loads(value)
            if isinstance(kept, dict) and "flower_url" in kept:
                kept["flower_url"] = flower_url
                conn.execute(
                    "UPDATE kept_state SET value = ? WHERE key = ?", (json.dumps(kept), key)
                )
    conn.close()


def copy_data_dir(source: Path, target: Path) -> Path:
    """A fresh copy of a console data directory (store file and all), replacing ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return target


class QueueBroker:
    """A ``redis-server`` on a free loopback port (no persistence, data in ``workdir``) whose
    queues hold ``waiting`` messages each, as Celery's Redis transport keeps them (a list per
    queue): what the console's collector samples as queue depths."""

    def __init__(self, workdir: Path, waiting: dict[str, int]) -> None:
        from demo.cluster import find_redis_server

        self.workdir, self.waiting, self.binary = workdir, waiting, find_redis_server()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> QueueBroker:
        import redis

        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        with open(self.workdir / "redis.log", "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError as exc:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.__exit__(None, None, None)
                    where = self.workdir / "redis.log"
                    raise RuntimeError(f"redis-server did not start; see {where}") from exc
                time.sleep(0.05)
        for queue, count in self.waiting.items():
            if count:  # RPUSH takes at least one value
                client.rpush(queue, *[json.dumps({"body": "", "n": i}) for i in range(count)])
        client.close()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
