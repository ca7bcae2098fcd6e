"""``./ops doctor``: check the configured cluster(s) and print what to fix, one line per check.

Reads the same configuration as the console and ``./ops collect`` (the environment, then
``.streamlit/secrets.toml``'s top-level keys). Prints ``PASS|WARN|FAIL <check>: <sentence>``
for each check as it ends, then the count. Exit codes: 0 all pass, 1 warnings only, 2 any
failure; a configuration that cannot be used is one FAIL line naming the variable, exit 2.
With ``OPS_CLUSTERS_FILE``: a ``Clusters file`` line, then every check per cluster, each named
``<check> [<cluster>]`` (``lib.doctor.every_cluster``); the exit code is the worst of them all.
Never prints a secret.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib

from lib.doctor.every_cluster import every_cluster_finding
from lib.doctor.findings import Finding, Status, count_line, exit_code, finding_line
from lib.errors import ConsoleError
from lib.redact import SCRUBBER, protect
from lib.settings import load_settings, secrets_toml

__all__ = ["main"]

#: The line's name when the configuration itself is unusable.
CONFIGURATION = "Configuration"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./ops doctor", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    try:
        secrets = secrets_toml()
        settings = load_settings(os.environ, secrets)
    except (ConsoleError, OSError, tomllib.TOMLDecodeError) as exc:
        print(finding_line(Finding(Status.FAIL, CONFIGURATION, str(SCRUBBER(str(exc))))))
        return 2
    protect(settings.secrets)
    findings = []
    for finding in every_cluster_finding(settings, os.environ, secrets):
        findings.append(finding)
        print(str(SCRUBBER(finding_line(finding))), flush=True)
    print(count_line(findings))
    return exit_code(findings)


def _quiet_logs() -> None:
    """Only errors reach the terminal: each finding already says what failed, in words."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    _quiet_logs()
    sys.exit(main())
