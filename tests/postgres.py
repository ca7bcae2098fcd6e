"""A throwaway PostgreSQL server for tests: Debian's binaries, run as ``postgres``, on loopback.

``initdb`` and ``postgres`` refuse to run as root, so the data directory is a fresh temporary
directory owned by the ``postgres`` user and both run through ``runuser``; when the tests do
not run as root, they run as the current user. The server listens on a free loopback port and
its own socket directory, trusts local connections (no password), and is tuned for throwaway
data (no fsync). Its collation is ICU's English, as production databases usually sort text,
so a query that leaves the order of text to the database shows up in tests.

Invariants: ``stop`` stops exactly the server ``start`` started (``pg_ctl`` on its directory,
then its process by pid) and removes its directory; each ``database()`` is new and empty.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from demo.cluster import free_port
from tests.services import Throwaway

__all__ = ["PostgresServer", "find_postgres_bin"]

#: Where Debian's postgresql package puts its binaries (the newest version wins).
BIN_GLOB = "/usr/lib/postgresql/*/bin"
USER = "postgres"


def find_postgres_bin() -> Path | None:
    """The folder with ``initdb``/``postgres``/``pg_ctl``, or None (package not installed)."""
    found = [Path(p) for p in glob.glob(BIN_GLOB) if (Path(p) / "postgres").is_file()]
    return max(found, key=lambda p: int(p.parent.name), default=None)


class PostgresServer(Throwaway):
    """One PostgreSQL instance in its own temporary directory; ``database()`` hands out URLs."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ops-postgres-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        self._popen: subprocess.Popen | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self._user}@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> None:
        if self._as_root:
            shutil.chown(self.dir, USER)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", self._user, "-E", "UTF8",
                  "--locale-provider=icu", "--icu-locale=en", "--locale=C.UTF-8")  # fmt: skip
        args = [
            *self._prefix(),
            self.bin / "postgres",
            *("-D", self.data, "-k", self.dir, "-p", str(self.port)),
            *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
            *("-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
        ]
        with open(self.log, "ab") as log:
            self._popen = subprocess.Popen(
                [str(a) for a in args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready(timeout)

    def database(self) -> str:
        """A new empty database's URL (as users write it: no driver named)."""
        name = f"t{next(self._names)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return f"postgresql://{self._user}@127.0.0.1:{self.port}/{name}"

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` (connections still open to it are ended)."""
        self.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction, as the server's superuser."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._run("pg_ctl", "-D", self.data, "stop", "-m", "fast", check=False)
            try:
                self._popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def _user(self) -> str:
        return USER if self._as_root else (os.environ.get("USER") or "postgres")

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", USER, "--"] if self._as_root else []

    def _run(self, program: str, *args, check: bool = True) -> None:
        command = [str(a) for a in (*self._prefix(), self.bin / program, *args)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")

    def _wait_ready(self, timeout: float) -> None:
        ready = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        deadline = time.monotonic() + timeout
        while subprocess.run(ready, check=False).returncode != 0:
            if self._popen.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{tail}")
            time.sleep(0.05)  # polling a deadline, not timing anything
