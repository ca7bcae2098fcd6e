"""The doctor: checks a console's configuration against the cluster and says what to fix.

``./ops doctor`` (``python -m lib.doctor``) and the ``Setup check`` page run the same checks
(``runner.CHECKS``) and show one line each, ``PASS|WARN|FAIL <check>: <sentence with the
fix>``; the exit code is 0 when all pass, 1 with warnings only, 2 with a failure.

- ``findings``: ``Finding``, ``Status``, the line, the count line and the exit code;
- ``evidence``: the run's reads of Flower, each once, and why Flower can't be asked further;
- ``flower_checks``: Flower reachable, auth, URL prefix, workers visible;
- ``cluster_checks``: task events, task-sent events, result_extended, clock skew, history;
- ``service_checks``: broker, result backend, the console's store;
- ``runner``: the checks in order, each bounded by FLOWER_TIMEOUT, sentences scrubbed;
- ``every_cluster``: with OPS_CLUSTERS_FILE, the file's line then every cluster's checks.
"""

from lib.doctor.every_cluster import every_cluster_finding
from lib.doctor.findings import (
    Finding,
    Status,
    count_line,
    exit_code,
    finding_line,
    findings_frame,
)
from lib.doctor.runner import CHECKS, Check, each_finding, run_checks

__all__ = [
    "CHECKS",
    "Check",
    "Finding",
    "Status",
    "count_line",
    "each_finding",
    "every_cluster_finding",
    "exit_code",
    "finding_line",
    "findings_frame",
    "run_checks",
]
