"""One-command sandbox: a local Celery cluster with live traffic, and the console on top.

    python -m demo.launch [--rate 1] [--port 8501]

Starts a `demo.cluster.Cluster` (redis, two workers, Flower with basic auth) with its data
and logs in ``.ops-data/sandbox/``, a `demo.loadgen` child process sending work at
``--rate`` units per second, and the console (``serve``: ``streamlit run app.py`` with the
console started at once) configured for that cluster
with login on: demo users ``viewer``, ``operator`` and ``admin`` get fresh passwords, printed
at start (``OPS_AUTH=off`` or your own ``OPS_USERS_FILE`` are respected). Ctrl-C or SIGTERM
stops all of it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from demo.cluster import REPO_ROOT, Cluster, spawn_logged

DEFAULT_WORKDIR = REPO_ROOT / ".ops-data" / "sandbox"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _terminate(proc: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _write_env_file(path: Path, env: dict[str, str]) -> None:
    """`source`-able copy of the cluster settings, for running tests or scripts against it."""
    lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # holds the Flower password


DEMO_ROLES = {"viewer": "viewer", "operator": "operator", "admin": "admin"}


def _console_auth(env: dict[str, str], workdir: Path) -> tuple[dict[str, str], list[str]]:
    """Login for the sandbox console: demo users with fresh passwords, unless told otherwise.

    OPS_AUTH=off or an OPS_USERS_FILE of your own is respected; otherwise a users file with one
    user per role is written (mode 600) and the passwords are printed on this terminal.
    """
    if env.get("OPS_AUTH", "").lower() in ("off", "false", "0", "no") or env.get("OPS_USERS_FILE"):
        return env, []
    from lib.auth import hash_password

    passwords = {name: secrets.token_urlsafe(9) for name in DEMO_ROLES}
    lines = [
        f'[users.{name}]\npassword_hash = "{hash_password(pw)}"\nrole = "{DEMO_ROLES[name]}"\n'
        for name, pw in passwords.items()
    ]
    path = workdir / "users.toml"
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    shown = [f"  Login   : {name} / {pw}  ({DEMO_ROLES[name]})" for name, pw in passwords.items()]
    return {**env, "OPS_AUTH": "on", "OPS_USERS_FILE": str(path)}, shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1.0, help="load: sends/s (0 = no load)")
    parser.add_argument("--port", type=int, default=8501, help="console (streamlit) port")
    parser.add_argument("--seed", type=int, default=None, help="load generator seed")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--flower-auth", default="admin:", help="user:password for Flower (default: random pw)"
    )
    args = parser.parse_args(argv)

    app_py = REPO_ROOT / "app.py"
    if not app_py.exists():
        print(f"error: {app_py} not found", file=sys.stderr)
        return 2
    if not _port_free(args.port):
        print(f"error: port {args.port} on 127.0.0.1 is in use (try --port)", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)

    cluster = Cluster(args.workdir, flower_auth=args.flower_auth)
    loadgen: subprocess.Popen[bytes] | None = None
    console: subprocess.Popen[bytes] | None = None
    try:
        print(f"starting cluster in {args.workdir} ...", flush=True)
        cluster.start()
        child_env = {**os.environ, **cluster.env(), "PYTHONUNBUFFERED": "1"}
        _write_env_file(args.workdir / "env.sh", cluster.env())
        if args.rate > 0:
            cmd = [sys.executable, "-m", "demo.loadgen", "--rate", str(args.rate)]
            if args.seed is not None:
                cmd += ["--seed", str(args.seed)]
            loadgen = spawn_logged(cmd, child_env, args.workdir / "loadgen.log")
        console_env, logins = _console_auth(child_env, args.workdir)
        streamlit = [
            sys.executable, "-m", "serve", "run", str(app_py),
            "--server.port", str(args.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        # No log file: the console's own output stays on this terminal.
        console = spawn_logged(streamlit, console_env, None)
        user, _, password = (cluster.flower_auth or ":").partition(":")
        print(
            "\n".join(
                [
                    "",
                    f"  Console : http://127.0.0.1:{args.port}",
                    f"  Flower  : {cluster.flower_url}  (user {user!r}, password {password!r})",
                    f"  Broker  : {cluster.broker_url}   backend: {cluster.backend_url}",
                    f"  Workers : {', '.join(cluster.worker_names)}",
                    *logins,
                    f"  Load    : {args.rate}/s" + (" (off)" if args.rate <= 0 else ""),
                    f"  Logs    : {args.workdir}/  (env for scripts: source {args.workdir}/env.sh)",
                    "  Ctrl-C stops everything.",
                    "",
                ]
            ),
            flush=True,
        )
        while not stop.wait(0.5):
            if console.poll() is not None:
                print(f"console exited with code {console.returncode}", file=sys.stderr)
                break
            if loadgen is not None and loadgen.poll() is not None:
                print(f"load generator exited ({loadgen.returncode}); see loadgen.log")
                loadgen = None
    except KeyboardInterrupt:
        pass  # Ctrl-C: fall through to the orderly shutdown
    finally:
        # Ignore a second Ctrl-C while shutting down, so children are not left behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("stopping ...", flush=True)
        _terminate(console)
        _terminate(loadgen)
        cluster.stop()
        print("stopped.", flush=True)
    return 0 if console is None or console.returncode in (0, None, -signal.SIGTERM) else 1


if __name__ == "__main__":
    sys.exit(main())
