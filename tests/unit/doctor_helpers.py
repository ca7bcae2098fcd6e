"""Shared pieces of the doctor's unit tests: settings for a scripted Flower, and a run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from lib.doctor import Finding, Status, run_checks
from lib.settings import Settings

#: The checks that ask Flower (the rest: broker, result backend, store).
FLOWER_CHECKS = (
    "Flower reachable",
    "Flower auth",
    "URL prefix",
    "Workers visible",
    "Task events",
    "task_send_sent_event",
    "result_extended",
    "Clock skew",
    "Flower history",
)
FLOWER_PAGE = "<!DOCTYPE html><html><head><title>Flower</title></head><body>Error, page not found</body></html>"


def settings_for(url: str, tmp_path: Path, **more) -> Settings:
    """Settings for a Flower at ``url``: a 1 s timeout, a store in ``tmp_path``."""
    fields = {"flower_url": url, "flower_timeout": 1.0, "data_dir": tmp_path / "ops-data"}
    return Settings(**{**fields, **more})


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def run(url: str, tmp_path: Path, **more) -> dict[str, Finding]:
    return by_check(run_checks(settings_for(url, tmp_path, **more)))


def routes(table: dict[str, object]):
    """A ScriptedServer script: the answer of the longest path prefix in ``table`` (``"hang"``
    or (status, body, headers)); any other path: 404 in plain text."""

    def respond(_method: str, path: str):
        for prefix in sorted(table, key=len, reverse=True):
            if path.startswith(prefix):
                return table[prefix]
        return 404, "Unknown path", {"Content-Type": "text/plain"}

    return respond


def ok(body) -> tuple[int, str, dict]:
    return 200, body if isinstance(body, str) else json.dumps(body), {}


def statuses(found: dict[str, Finding], *names: str) -> list[Status]:
    return [found[name].status for name in names]


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
