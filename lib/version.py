"""The console's version: one source, ``pyproject.toml``'s ``[project] version``.

Read once at import from the file beside ``lib/`` (the console runs from its checkout; it is
not installed as a package). A checkout without the file says ``"unknown"`` rather than fail:
the version labels exports, nothing depends on it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = ["VERSION", "read_version"]

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def read_version(path: Path = PYPROJECT) -> str:
    """``[project] version`` of the pyproject file at ``path``; ``"unknown"`` without one."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    return str(data.get("project", {}).get("version") or "unknown")


#: The console's version, as exports and the snapshot say it.
VERSION = read_version()
