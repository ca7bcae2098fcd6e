"""A throwaway RabbitMQ node for tests: Debian's server, run as root, on loopback only.

Debian's ``/usr/sbin/rabbitmq-server`` switches to the ``rabbitmq`` user, who cannot write a
temporary directory of ours, so the node runs ``/usr/lib/rabbitmq/bin/rabbitmq-server`` directly.
Everything it keeps is its own: node name, AMQP, distribution and management ports, its own
``epmd`` on its own port, and the data (mnesia), log, config, plugins-file and ``HOME`` (the
Erlang cookie) directories, all inside one temporary directory. Any system node the package
started is left alone. The default user has a random password; statistics are collected every
half second so the management API's message rates move within a test.

Invariants: ``stop`` stops exactly what ``start`` started (the server's process group, then its
``epmd``, by pid) and removes the directory; a node that does not boot within the deadline is an
error with the tail of its log, never a hang.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from demo.cluster import free_port, spawn_logged
from tests.services import Throwaway

__all__ = ["RabbitServer", "find_rabbitmq_server"]

#: Debian's server script that runs the node in the foreground as the calling user.
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
USER = "ops"
PLUGINS = "[rabbitmq_management].\n"


def find_rabbitmq_server() -> Path | None:
    """The server script, or None when the rabbitmq-server package is not installed."""
    return SERVER if SERVER.is_file() and shutil.which("epmd") else None


class RabbitServer(Throwaway):
    """One RabbitMQ node in its own temporary directory (AMQP + management on loopback)."""

    def __init__(self, server: Path = SERVER):
        self.server = server
        self.dir = Path(tempfile.mkdtemp(prefix="ops-rabbitmq-"))
        self.port, self.dist_port, self.management_port, self.epmd_port = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        )
        self.password = secrets.token_urlsafe(12)
        self.node = f"ops-test-{self.port}@localhost"
        self.log = self.dir / "server.log"
        self._server: subprocess.Popen | None = None
        self._epmd: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The AMQP URL of the default vhost, with this node's user and password."""
        return f"amqp://{USER}:{self.password}@127.0.0.1:{self.port}//"

    @property
    def management_url(self) -> str:
        """The management API's base URL, credentials in it, as users write it."""
        return f"http://{USER}:{self.password}@127.0.0.1:{self.management_port}"

    def start(self, timeout: float = 90.0) -> None:
        config = self.dir / "rabbitmq.conf"
        config.write_text(self._config())
        (self.dir / "enabled_plugins").write_text(PLUGINS)
        epmd = ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"]
        self._epmd = self._spawn(epmd, self.dir / "epmd.log")
        self._server = self._spawn([str(self.server)], self.log)
        self._wait_ready(time.monotonic() + timeout)

    def stop(self) -> None:
        # SIGTERM makes the server script stop the node cleanly; epmd goes after it.
        _stop(self._server, grace=30)
        _stop(self._epmd, grace=5)
        self._server = self._epmd = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def _config(self) -> str:
        return "\n".join(
            [
                f"default_user = {USER}",
                f"default_pass = {self.password}",
                "default_vhost = /",
                "loopback_users = none",
                "listeners.tcp.default = 127.0.0.1:" + str(self.port),
                f"management.tcp.port = {self.management_port}",
                "management.tcp.ip = 127.0.0.1",
                "collect_statistics_interval = 500",
                "disk_free_limit.absolute = 1MB",
                "",
            ]
        )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.dir),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.dir / "log"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            RABBITMQ_LOGS="-",  # to our log file through stdout
            RABBITMQ_SERVER_START_ARGS="-start_epmd false",
        )
        return env

    def _spawn(self, args: list[str], log_path: Path) -> subprocess.Popen:
        return spawn_logged(args, self._env(), log_path, cwd=self.dir)

    def _wait_ready(self, deadline: float) -> None:
        """Until the default user can open a channel and the management API answers."""
        while not (self._amqp_answers() and self._management_answers()):
            if self._server.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
                raise RuntimeError(f"RabbitMQ did not start on port {self.port}:\n{tail}")
            time.sleep(0.2)  # polling a deadline, not timing anything

    def _amqp_answers(self) -> bool:
        from kombu import Connection

        conn = Connection(self.url, connect_timeout=1)
        try:
            conn.channel().close()
            return True
        except (OSError, *conn.connection_errors, *conn.channel_errors):
            return False  # not listening yet, or the default user not made yet
        finally:
            conn.release()

    def _management_answers(self) -> bool:
        import requests

        base = f"http://127.0.0.1:{self.management_port}/api/overview"
        try:
            return requests.get(base, auth=(USER, self.password), timeout=1).ok
        except requests.RequestException:
            return False


def _stop(popen: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM, ``grace`` seconds to finish, then the whole process group (the VM's helpers)."""
    if popen is None:
        return
    popen.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # a group already gone has nothing left
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait(timeout=5)
