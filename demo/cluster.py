"""A real, local Celery cluster for the sandbox and for integration tests.

`Cluster` starts redis-server (broker on db 0, result backend on db 1), a few Celery workers
running `demo.tasks`, and Flower, all on free loopback ports and as child processes in their
own process groups. `start()` returns only once Flower answers, every worker is reported
alive, and Flower's inspect cache has been filled (reference §13 wait sequence), so control
calls made right after do not 404.

    with Cluster(tmp_path) as cluster:
        os.environ.update(cluster.env())
        ...

Nothing here is daemonized: `stop()` (also run at interpreter exit) ends every process.
How a child is started, logged and stopped, and where redis-server comes from, is
``demo.processes``.
"""

from __future__ import annotations

import atexit
import os
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from celery.utils.nodenames import host_format

# The processes' side lives in demo.processes; these names stay importable from here.
from demo.processes import (
    REDIS_INSTALL_CMD,
    REPO_ROOT,
    _Proc,
    _tail,
    find_redis_server,
    free_port,
    spawn_logged,
)

__all__ = [
    "DEFAULT_WORKERS",
    "REDIS_INSTALL_CMD",
    "REPO_ROOT",
    "Cluster",
    "WorkerSpec",
    "find_redis_server",
    "free_port",
    "spawn_logged",
]

POLL_INTERVAL = 0.2


@dataclass(frozen=True)
class WorkerSpec:
    """One `celery worker` process: node name (``%h`` = host), queues and pool size.

    With ``autoscale=(max, min)`` Celery ignores ``concurrency`` and starts ``min``
    processes, so only one of the two is passed to the worker. ``events=False`` leaves out
    ``-E`` (task events then come only if the app's configuration or Flower turns them on).
    """

    name: str
    queues: tuple[str, ...]
    concurrency: int = 2
    autoscale: tuple[int, int] | None = None
    extra_args: tuple[str, ...] = ()
    events: bool = True

    @property
    def hostname(self) -> str:
        """The node name as the worker and Flower report it (``w1@myhost``)."""
        return host_format(self.name)


DEFAULT_WORKERS: tuple[WorkerSpec, ...] = (
    WorkerSpec("w1@%h", ("default", "email", "etl"), autoscale=(4, 2)),
    WorkerSpec("w2@%h", ("ml", "etl", "default"), concurrency=2),
)


# Strong references on purpose: a Cluster dropped without stop() must still be stopped at exit.
_LIVE: set[Cluster] = set()


@atexit.register
def _stop_all_clusters() -> None:
    for cluster in list(_LIVE):
        cluster.stop()


class Cluster:
    """Redis + Celery workers + Flower on free loopback ports, for demos and tests.

    ``flower_auth``: ``"user:password"`` for Flower's basic auth; a value ending in ``:``
    (the default ``"admin:"``) gets a random password; ``None`` runs Flower without auth and
    with ``FLOWER_UNAUTHENTICATED_API=true``. ``url_prefix`` (e.g. ``"flower"``) is passed to
    Flower's ``--url_prefix`` and is part of `flower_url`. ``broker_url`` (e.g. a RabbitMQ
    node's ``amqp://…``) is the workers' and Flower's broker instead of redis, which is still
    started for the result backend. ``app`` is the Celery app module the workers and Flower
    load (``-A``): ``demo.tasks`` or a module that reconfigures its app.
    """

    def __init__(
        self,
        workdir: Path | str,
        flower_auth: str | None = "admin:",
        url_prefix: str = "",
        workers: Sequence[WorkerSpec] = DEFAULT_WORKERS,
        python: str | None = None,
        flower_args: Sequence[str] = (),
        broker_url: str | None = None,
        app: str = "demo.tasks",
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.app = app
        self._broker_url = broker_url
        if flower_auth is not None:
            user, sep, password = flower_auth.partition(":")
            if not user or not sep:
                raise ValueError("flower_auth must look like 'user:password' (or 'user:')")
            flower_auth = f"{user}:{password or secrets.token_urlsafe(12)}"
        self._flower_auth = flower_auth
        self.url_prefix = url_prefix.strip("/")
        self.workers: tuple[WorkerSpec, ...] = tuple(workers)
        if len({w.hostname for w in self.workers}) != len(self.workers):
            raise ValueError("worker names must be unique")
        self.python = python or sys.executable
        self.flower_args = tuple(flower_args)
        self._redis_port: int | None = None
        self._flower_port: int | None = None
        self._redis: _Proc | None = None
        self._workers: list[_Proc] = []
        self._flower: _Proc | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ properties

    @property
    def redis_port(self) -> int:
        if self._redis_port is None:
            raise RuntimeError("cluster not started")
        return self._redis_port

    @property
    def flower_port(self) -> int:
        if self._flower_port is None:
            raise RuntimeError("cluster not started")
        return self._flower_port

    @property
    def broker_url(self) -> str:
        return self._broker_url or f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def backend_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/1"

    @property
    def flower_url(self) -> str:
        """Flower's base URL, including the url prefix, without credentials or trailing /."""
        base = f"http://127.0.0.1:{self.flower_port}"
        return f"{base}/{self.url_prefix}" if self.url_prefix else base

    @property
    def flower_auth(self) -> str | None:
        """``"user:password"`` for Flower's basic auth, or None when Flower runs without it."""
        return self._flower_auth

    @property
    def worker_names(self) -> list[str]:
        """Full worker hostnames, as Flower reports them (``w1@myhost``)."""
        return [w.hostname for w in self.workers]

    @property
    def running(self) -> bool:
        return self._redis is not None and self._redis.alive

    @property
    def flower_running(self) -> bool:
        return self._flower is not None and self._flower.alive

    def check_alive(self) -> None:
        """Raise RuntimeError (with the log tail) if any process of the cluster has died."""
        if self._redis is None:
            raise RuntimeError("cluster not started")
        for proc in [self._redis, *self._workers, self._flower]:
            if proc is not None:
                proc.check_alive()

    def env(self) -> dict[str, str]:
        """The console's configuration variables for this cluster.

        ``FLOWER_BASIC_AUTH`` is an empty string (not absent) without auth, so that
        ``os.environ.update(cluster.env())`` overrides a value left by another cluster.
        """
        return {
            "FLOWER_URL": self.flower_url,
            "FLOWER_BASIC_AUTH": self._flower_auth or "",
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_RESULT_BACKEND": self.backend_url,
        }

    def http_auth(self) -> tuple[str, str] | None:
        """The basic-auth pair for `requests` (``auth=cluster.http_auth()``)."""
        if self._flower_auth is None:
            return None
        user, _, password = self._flower_auth.partition(":")
        return user, password

    def flower_get(self, path: str, timeout: float = 10.0, **params: Any) -> requests.Response:
        """GET ``path`` (e.g. ``/api/workers``) on Flower with this cluster's credentials."""
        return requests.get(
            self.flower_url + path, params=params, auth=self.http_auth(), timeout=timeout
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 60.0) -> Cluster:
        """Start redis, the workers and Flower; return once Flower sees every worker."""
        with self._lock:
            if self._redis is not None:
                raise RuntimeError("cluster already started")
            self.workdir.mkdir(parents=True, exist_ok=True)
            _LIVE.add(self)
            try:
                deadline = time.monotonic() + timeout
                self._start_redis(deadline)
                for spec in self.workers:
                    self._workers.append(self._spawn_worker(spec))
                self._flower_port = None
                self._start_flower(deadline)
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop Flower, then the workers (warm shutdown, ``grace`` s), then redis. Idempotent."""
        with self._lock:
            if self._flower is not None:
                self._flower.stop(grace)
                self._flower = None
            # Signal all workers first so their warm shutdowns overlap.
            for proc in self._workers:
                proc.terminate()
            for proc in self._workers:
                proc.stop(grace, signalled=True)
            self._workers = []
            if self._redis is not None:
                self._disconnect_demo_app()
                self._redis.stop(grace)
                self._redis = None
            _LIVE.discard(self)

    def stop_flower(self, grace: float = 5.0) -> None:
        """Take Flower down (its in-memory task history is lost); workers keep running."""
        with self._lock:
            if self._flower is not None:
                self._flower.stop(grace)
                self._flower = None

    def start_flower(self, timeout: float = 30.0) -> None:
        """Start Flower again on the same port and wait until it sees every worker."""
        with self._lock:
            if not self.running:
                raise RuntimeError("cluster not started")
            if self.flower_running:
                return
            self._start_flower(time.monotonic() + timeout)

    def restart_flower(self, grace: float = 5.0, timeout: float = 30.0) -> None:
        """Stop Flower and start it again on the same port: it forgets every task it held."""
        with self._lock:
            self.stop_flower(grace)
            self.start_flower(timeout)

    def restart_worker(self, hostname: str, timeout: float = 60.0) -> int:
        """Stop the worker ``hostname`` and start it again under the same name; return its new
        pid once Flower has its heartbeat and it answers Flower's inspect (its first heartbeat
        comes a moment before it listens for control commands)."""
        with self._lock:
            self.stop_worker(hostname)
            return self.start_worker(hostname, timeout)

    def stop_worker(self, hostname: str, grace: float = 5.0) -> None:
        """Stop the worker ``hostname`` (a warm shutdown: it says goodbye to Flower)."""
        with self._lock:
            self._workers[self.worker_names.index(hostname)].stop(grace)

    def start_worker(self, hostname: str, timeout: float = 60.0) -> int:
        """Start the stopped worker ``hostname`` again under its name; its new pid once Flower
        has its heartbeat and it answers Flower's inspect."""
        with self._lock:
            index = self.worker_names.index(hostname)
            if self._workers[index].alive:
                raise RuntimeError(f"{hostname} is running; stop it first")
            self._workers[index] = proc = self._spawn_worker(self.workers[index])
        pid, deadline = proc.popen.pid, time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc.check_alive()
            rows = self.flower_get("/workers", json=1).json().get("data", [])
            beating = any(r.get("hostname") == hostname and r.get("pid") == pid for r in rows)
            info = self.flower_get("/api/workers", refresh=1, workername=hostname)
            if beating and info.ok and info.json()[hostname].get("stats", {}).get("pid") == pid:
                return pid
            time.sleep(POLL_INTERVAL)
        raise TimeoutError(f"the restarted {hostname} did not answer Flower in {timeout:g} s")

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _disconnect_demo_app(self) -> None:
        """If this process's `demo.tasks.app` uses our Redis, drop its result subscriptions."""
        tasks_module = sys.modules.get("demo.tasks")
        if (
            tasks_module is not None
            and self._redis_port is not None
            and tasks_module.app.conf.broker_url == self.broker_url
        ):
            tasks_module.disconnect()

    def _child_env(self) -> dict[str, str]:
        env = {
            # Flower reads FLOWER_<option> variables (e.g. FLOWER_BASIC_AUTH) from its
            # environment; inherited ones must not override this cluster's settings.
            k: v
            for k, v in os.environ.items()
            if not k.startswith("FLOWER_")
        }
        env.update(
            CELERY_BROKER_URL=self.broker_url,
            CELERY_RESULT_BACKEND=self.backend_url,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        )
        return env

    def _start_redis(self, deadline: float) -> None:
        import redis  # local: only needed while starting

        binary = find_redis_server()
        # A port picked by free_port() can be taken before redis binds it; retry a few times.
        for _attempt in range(3):
            port = free_port()
            args = [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--daemonize", "no",
            ]  # fmt: skip
            proc = _Proc("redis-server", args, self.workdir / "redis.log", os.environ.copy())
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
            while time.monotonic() < deadline:
                if not proc.alive:
                    break
                try:
                    if client.ping():
                        self._redis, self._redis_port = proc, port
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    time.sleep(POLL_INTERVAL)
            client.close()
            if proc.alive:  # deadline passed while redis was still not answering
                proc.stop(1)
                raise TimeoutError(
                    f"redis-server did not answer on port {port}; log tail:\n{_tail(proc.log_path)}"
                )
            if "Address already in use" not in _tail(proc.log_path):
                proc.check_alive()
        raise RuntimeError(
            f"redis-server could not bind a port; log:\n{_tail(self.workdir / 'redis.log')}"
        )

    def _spawn_worker(self, spec: WorkerSpec) -> _Proc:
        short = spec.name.split("@")[0]
        args = [
            self.python, "-m", "celery", "-A", self.app, "worker",
            "-n", spec.name,
            "-Q", ",".join(spec.queues),
            *(["-E"] if spec.events else []),
            "-l", "INFO",
        ]  # fmt: skip
        if spec.autoscale:
            args.append(f"--autoscale={spec.autoscale[0]},{spec.autoscale[1]}")
        else:
            args += ["-c", str(spec.concurrency)]
        args += list(spec.extra_args)
        return _Proc(
            f"worker {spec.name}", args, self.workdir / f"worker-{short}.log", self._child_env()
        )

    def _flower_cmd(self, port: int) -> tuple[list[str], dict[str, str]]:
        args = [
            self.python, "-m", "celery", "-A", self.app, "flower",
            "--address=127.0.0.1",
            f"--port={port}",
        ]  # fmt: skip
        env = self._child_env()
        if self._flower_auth:
            args.append(f"--basic_auth={self._flower_auth}")
        else:
            # Without any auth Flower 2.x answers 401 on /api/* unless this is set (§1).
            env["FLOWER_UNAUTHENTICATED_API"] = "true"
        if self.url_prefix:
            args.append(f"--url_prefix={self.url_prefix}")
        args += list(self.flower_args)
        return args, env

    def _start_flower(self, deadline: float) -> None:
        reuse_port = self._flower_port is not None
        for _attempt in range(1 if reuse_port else 3):
            port = self._flower_port if reuse_port else free_port()
            assert port is not None
            args, env = self._flower_cmd(port)
            proc = _Proc("flower", args, self.workdir / "flower.log", env)
            self._flower, self._flower_port = proc, port
            try:
                self._wait_for_flower(proc, deadline)
                return
            except (RuntimeError, TimeoutError):
                proc.stop(1)
                self._flower = None
                in_use = "Address already in use" in _tail(proc.log_path)
                if reuse_port or not in_use:
                    raise
        raise RuntimeError("flower could not bind a free port")

    def _wait_for_flower(self, proc: _Proc, deadline: float) -> None:
        """§13 wait sequence: healthcheck OK, all workers alive, inspect cache filled."""

        def poll(what: str, check: Any, logs: list[Path]) -> Any:
            last: object = None
            while time.monotonic() < deadline:
                proc.check_alive()
                for worker in self._workers:
                    worker.check_alive()
                try:
                    ok, last = check()
                    if ok:
                        return last
                except requests.RequestException as exc:
                    last = exc
                time.sleep(POLL_INTERVAL)
            tails = "\n".join(f"--- {log}:\n{_tail(log, 25)}" for log in logs)
            raise TimeoutError(
                f"timed out waiting for {what} (last: {last!r}); log tails:\n{tails}"
            )

        def healthcheck() -> tuple[bool, object]:
            resp = self.flower_get("/healthcheck", timeout=2)
            return resp.status_code == 200 and resp.text.strip() == "OK", resp.status_code

        def workers_alive() -> tuple[bool, object]:
            resp = self.flower_get("/api/workers", timeout=5, status=1)
            resp.raise_for_status()
            status = resp.json()
            return all(status.get(name) is True for name in self.worker_names), status

        def inspect_cache() -> tuple[bool, object]:
            resp = self.flower_get("/api/workers", timeout=10, refresh=1)
            resp.raise_for_status()
            info = resp.json()
            missing = [n for n in self.worker_names if "stats" not in info.get(n, {})]
            return not missing, {"missing": missing}

        worker_logs = [w.log_path for w in self._workers]
        poll("Flower /healthcheck", healthcheck, [proc.log_path])
        poll("workers alive in /api/workers?status=1", workers_alive, worker_logs)
        poll("/api/workers?refresh=1 to list every worker", inspect_cache, [proc.log_path])
