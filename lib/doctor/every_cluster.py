"""The doctor over several clusters (``OPS_CLUSTERS_FILE``): the file checked first, then every
check for each cluster, each line naming its cluster.

The ``Clusters file`` line is FAIL when the file cannot be used (what ``lib.clusters`` says is
wrong with it, in its words), WARN when single-cluster variables are set beside it (the book's
notice: they are not used), PASS naming the clusters otherwise. Each cluster's checks are the
usual ones (``runner.CHECKS``, its own Flower, FLOWER_TIMEOUT, broker, backend and store
namespace), their names followed by ``[<cluster>]`` (e.g. ``Flower reachable [staging]``): the
line keeps its ``PASS|WARN|FAIL <check>: <sentence>`` form. Without the file nothing changes:
the one cluster's checks, named as ever.

Invariants: the findings come one at a time, as each check ends; every sentence is scrubbed of
every cluster's secrets; the exit code over them all is the worst (``findings.exit_code``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from lib.clusters import ClusterBook, load_clusters
from lib.doctor.findings import Finding, Status
from lib.doctor.runner import each_finding
from lib.errors import SettingsError
from lib.redact import protect, scrub
from lib.settings import Settings

__all__ = ["CLUSTERS_FILE", "book_finding", "every_cluster_finding"]

#: The check's name on its line.
CLUSTERS_FILE = "Clusters file"


def every_cluster_finding(
    settings: Settings, environ: Mapping[str, str], secrets: Mapping[str, Any]
) -> Iterator[Finding]:
    """Every finding of the run: the one cluster's, or the file's then each cluster's."""
    if settings.clusters_file is None:
        yield from each_finding(settings)
        return
    try:
        book = load_clusters(settings, environ, secrets)
    except SettingsError as exc:  # its text is scrubbed of the values it read
        yield Finding(Status.FAIL, CLUSTERS_FILE, f"{exc} Fix the file; no cluster was checked.")
        return
    protect(book.secrets)
    yield book_finding(book)
    hidden = book.secrets
    for cluster in book.clusters:
        for finding in each_finding(cluster):
            named = f"{finding.check} [{cluster.cluster}]"
            yield replace(finding, check=named, sentence=scrub(finding.sentence, hidden))


def book_finding(book: ClusterBook) -> Finding:
    """The file's own line: the notice as a WARN, else a PASS naming the clusters."""
    path = book.first.clusters_file
    if book.notice:
        return Finding(
            Status.WARN,
            CLUSTERS_FILE,
            f"{book.notice} Unset what the file replaces to silence this.",
        )
    count = len(book.clusters)
    names = ", ".join(book.names)
    return Finding(
        Status.PASS,
        CLUSTERS_FILE,
        f"{path} names {count} cluster{'' if count == 1 else 's'}: {names}.",
    )
