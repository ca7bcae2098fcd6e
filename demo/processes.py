"""The cluster's processes: finding (or installing) redis-server, free loopback ports, and
children started in their own process group with their output in a log file (``_Proc``).

Split out of ``demo.cluster`` (which starts redis, the workers and Flower with these) by
concern; ``demo.cluster`` re-exports the public names, so imports from it keep working.

Invariants: every child runs in its own session (its own process group), so stopping it can
signal a worker's pool children too and a Ctrl-C in the launcher's terminal does not reach it;
``_Proc.stop`` always ends with the whole group killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

__all__ = ["REDIS_INSTALL_CMD", "REPO_ROOT", "find_redis_server", "free_port", "spawn_logged"]

REPO_ROOT = Path(__file__).resolve().parent.parent
REDIS_INSTALL_CMD = "apt-get install -y redis-server"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the OS picks it for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_redis_server() -> str:
    """Path of redis-server, installing the Debian package when we can (root + apt-get)."""
    path = shutil.which("redis-server")
    if path:
        return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = REDIS_INSTALL_CMD.split()
        if subprocess.run(cmd, env=env, check=False).returncode != 0:
            # A fresh container often has no package lists yet.
            subprocess.run(["apt-get", "update"], env=env, check=True)
            subprocess.run(cmd, env=env, check=True)
        path = shutil.which("redis-server")
        if path:
            return path
    raise RuntimeError(f"redis-server not found on PATH; install it with: sudo {REDIS_INSTALL_CMD}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def spawn_logged(
    args: list[str], env: dict[str, str], log_path: Path | None, cwd: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """A child in its own session (so its own process group), output appended to ``log_path``.

    Own process group: stopping it can signal a worker's pool children too, and a Ctrl-C in
    the launcher's terminal does not reach it directly. ``log_path=None`` keeps the output on
    this terminal. The child has its own copy of the log descriptor; ours is closed at once.
    """
    if log_path is None:
        return subprocess.Popen(args, cwd=cwd, env=env, start_new_session=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class _Proc:
    """A child process in its own process group, logging to a file."""

    def __init__(self, label: str, args: list[str], log_path: Path, env: dict[str, str]):
        self.label = label
        self.log_path = log_path
        self.popen = spawn_logged(args, env, log_path)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive:
            raise RuntimeError(
                f"{self.label} exited with code {self.popen.returncode}; "
                f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
            )

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            # The group is already gone; nothing left to signal.
            return

    def terminate(self) -> None:
        """Ask the leader to shut down (Celery: warm shutdown) without waiting."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)

    def stop(self, grace: float, signalled: bool = False) -> None:
        """SIGTERM the leader, give it ``grace`` seconds, then kill the whole group."""
        if self.alive:
            if not signalled:
                self.terminate()
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                # Celery: SIGQUIT = cold shutdown (abandon running tasks), before the hard kill.
                self.popen.send_signal(signal.SIGQUIT)
                try:
                    self.popen.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.popen.wait(timeout=5)
        # Pool children of a worker that died hard may still be around in the group.
        self._signal_group(signal.SIGKILL)
