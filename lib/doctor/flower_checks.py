"""The doctor's checks of Flower itself: reachable, credentials accepted, API at FLOWER_URL,
workers visible.

Each check takes the run's ``Evidence`` and returns a ``Verdict``. The first three decide
whether Flower can be asked anything more: each that fails blocks the later Flower checks
with its reason. They read raw answers (``FlowerClient.answer``) because the explanation is in
what Flower said: a 401's body tells a Flower without any auth (``FLOWER_UNAUTHENTICATED_API``)
from one with ``--basic_auth``; a 404 whose body is Flower's own web page means Flower runs
with a ``--url_prefix`` that FLOWER_URL lacks (or has one it does not).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lib.doctor.evidence import Evidence
from lib.doctor.findings import Status, Verdict
from lib.errors import FlowerUnreachable
from lib.flower import FlowerClient, RawAnswer

__all__ = ["check_auth", "check_reachable", "check_url_prefix", "check_workers", "no_answer"]

#: Flower 2.x's 401 body when it runs with no auth at all and its API is not opened.
UNAUTHENTICATED_API = "FLOWER_UNAUTHENTICATED_API"
#: Tornado's own 404 page: Flower's server answers it for any path outside its url_prefix.
TORNADO_404 = re.compile(r"<html><title>404: Not Found</title>")
#: An example prefix for the fix's sentence (Flower has none by default).
EXAMPLE_PREFIX = "flower"


def no_answer(exc: FlowerUnreachable, timeout: float) -> str:
    """Why Flower gave no answer, in words: a timeout names FLOWER_TIMEOUT."""
    if "within" in exc.detail or "timed out" in exc.detail:
        return f"Flower did not answer within {timeout:g} s (FLOWER_TIMEOUT) at {exc.url}"
    return f"Nothing answers at {exc.url}: {exc.detail.rstrip('.')}"


def check_reachable(evidence: Evidence) -> Verdict:
    """Flower's web server answers at FLOWER_URL (any HTTP answer counts)."""
    url = evidence.client.display_url
    try:
        answer = evidence.healthcheck()
    except FlowerUnreachable as exc:
        reason = no_answer(exc, evidence.settings.flower_timeout)
        evidence.block("Flower cannot be reached.")
        return Status.FAIL, f"{reason}. Start Flower there, or set FLOWER_URL to its address."
    if answer.status == 200 and answer.text.strip() == "OK":
        return Status.PASS, f"Flower answers at {url}."
    return Status.PASS, (
        f"A web server answers at {url} (its /healthcheck gave HTTP {answer.status}); "
        "the checks below say whether it is Flower's API."
    )


def check_auth(evidence: Evidence) -> Verdict:
    """Flower's API accepts the console's credentials (or needs none)."""
    answer = evidence.api_answer()
    auth = evidence.settings.flower_auth
    if answer.status == 200:
        if auth:
            return Status.PASS, f"Flower accepted FLOWER_BASIC_AUTH (user '{auth[0]}')."
        return Status.PASS, "Flower's API answers without a password (FLOWER_BASIC_AUTH unset)."
    if answer.status == 404:
        return Status.WARN, "Not checked: Flower's API is not at FLOWER_URL (see URL prefix)."
    evidence.block("Flower refused the console's credentials.")
    if answer.status == 401:
        return Status.FAIL, _unauthorized(answer, auth is not None)
    if 300 <= answer.status < 400:
        return Status.FAIL, (
            f"Flower redirected to a login page (HTTP {answer.status}): it uses OAuth (--auth), "
            "which only works in a browser. Add --basic_auth=user:password to Flower and set "
            "FLOWER_BASIC_AUTH to the same pair."
        )
    said = " ".join(answer.text.split())[:200]
    return Status.FAIL, (
        f"Flower's API refused the console (HTTP {answer.status}){': ' + said if said else ''}. "
        "Check FLOWER_URL and FLOWER_BASIC_AUTH."
    )


def _unauthorized(answer: RawAnswer, configured: bool) -> str:
    if UNAUTHENTICATED_API in answer.text:
        also = " FLOWER_BASIC_AUTH is set, but Flower has no --basic_auth." if configured else ""
        return (
            "Flower runs without authentication and so refuses its API (HTTP 401). Give Flower "
            "--basic_auth=user:password and set FLOWER_BASIC_AUTH to the same pair (or start "
            f"Flower with FLOWER_UNAUTHENTICATED_API=true, on a trusted network only).{also}"
        )
    if configured:
        return (
            "Flower refused the user:password in FLOWER_BASIC_AUTH (HTTP 401): the password or "
            "the user is wrong. Set FLOWER_BASIC_AUTH to a pair from Flower's --basic_auth."
        )
    return (
        "Flower asks for a password (HTTP 401) and FLOWER_BASIC_AUTH is not set: set "
        "FLOWER_BASIC_AUTH=user:password to a pair from Flower's --basic_auth."
    )


def check_url_prefix(evidence: Evidence) -> Verdict:
    """FLOWER_URL includes Flower's ``--url_prefix`` (and no path Flower does not serve)."""
    answer = evidence.api_answer()
    url = evidence.client.display_url
    prefix = urlsplit(url).path.strip("/")
    if answer.status != 404:
        where = f"with its url_prefix '/{prefix}'" if prefix else "with no url_prefix"
        return Status.PASS, f"Flower's API is at {url} ({where})."
    evidence.block("Flower's API is not at FLOWER_URL.")
    if not _is_flower_page(answer.text):
        return Status.FAIL, (
            f"Something other than Flower answers at {url} (HTTP 404 for /api/workers): set "
            "FLOWER_URL to Flower's address, with its url_prefix if it has one."
        )
    if not prefix:
        return Status.FAIL, _missing_prefix(evidence, url)
    return Status.FAIL, _wrong_prefix(evidence, url, prefix)


def _missing_prefix(evidence: Evidence, url: str) -> str:
    said = f"Flower answers at {url} but its API is not there (HTTP 404 from Flower's server)"
    example = f"{url}/{EXAMPLE_PREFIX}"
    if _flower_at(evidence, example):
        return (
            f"{said}: Flower runs with --url_prefix={EXAMPLE_PREFIX}; add the url_prefix to "
            f"FLOWER_URL, FLOWER_URL={example}."
        )
    return (
        f"{said}: Flower runs with --url_prefix; add the url_prefix to FLOWER_URL, e.g. "
        f"FLOWER_URL={example}."
    )


def _wrong_prefix(evidence: Evidence, url: str, prefix: str) -> str:
    root = url[: -len(prefix)].rstrip("/")
    if _flower_at(evidence, root):
        return (
            f"Flower runs without a url_prefix, but FLOWER_URL ends in '/{prefix}': remove "
            f"it, FLOWER_URL={root}."
        )
    return (
        f"'/{prefix}' in FLOWER_URL is not Flower's url_prefix (HTTP 404 from Flower's server): "
        f"set FLOWER_URL to {root}/<the --url_prefix Flower runs with>."
    )


def _flower_at(evidence: Evidence, base_url: str) -> bool:
    """Whether Flower's /healthcheck answers OK at ``base_url`` (another guess at its prefix)."""
    settings = evidence.settings
    client = FlowerClient(base_url, settings.flower_auth, settings.flower_timeout)
    try:
        answer = client.answer("/healthcheck")
    except FlowerUnreachable:
        return False
    return answer.status == 200 and answer.text.strip() == "OK"


def _is_flower_page(text: str) -> bool:
    """Flower's own 404 page, or Tornado's bare one (what Flower's server answers outside
    its url_prefix)."""
    body = text.lstrip()
    return body[:1] == "<" and ("flower" in body.lower() or TORNADO_404.match(body) is not None)


def check_workers(evidence: Evidence) -> Verdict:
    """Flower hears workers' heartbeats, and the online ones answer its inspect."""
    status = evidence.worker_status()
    online = evidence.online()
    if not status:
        return Status.FAIL, (
            "Flower sees no workers: start one (celery -A <your app> worker -E) on the broker "
            "Flower reads, or give Flower and the workers the same broker URL."
        )
    if not online:
        return Status.FAIL, (
            f"Flower knows {_names(sorted(status))} but none is online (no recent heartbeat): "
            "start them, or check the broker between them and Flower."
        )
    info = evidence.workers()
    silent = [host for host in online if "stats" not in (info.get(host) or {})]
    offline = sorted(set(status) - set(online))
    if silent:
        return Status.WARN, (
            f"{_names(silent)} send heartbeats but did not answer Flower's inspect: actions on "
            "them fail with 'Unknown worker' until they do. Check their logs: a worker whose main "
            "process is blocked answers late or never."
        )
    if offline:
        return Status.WARN, (
            f"{len(online)} of {len(status)} workers online; offline: {_names(offline)}. Start "
            "them, or ignore this if they were retired (Flower forgets them when it restarts)."
        )
    return Status.PASS, f"{len(online)} online: {_names(online)}."


def _names(hosts: list[str], most: int = 5) -> str:
    shown = ", ".join(hosts[:most])
    more = len(hosts) - most
    return f"{shown} and {more} more" if more > 0 else shown
