"""Load generator: a realistic random mix of `demo.tasks` work sent at a steady rate.

Models day-to-day traffic: mostly successful e-mails, reports and ETL pipeline runs, some
model training jobs, and roughly 11 % of tasks that fail in the ways production code fails
(timeouts, refused connections, out of memory, invalid input, missing records).

    python -m demo.loadgen --rate 2 [--duration 60] [--seed 1]

Broker and backend come from ``CELERY_BROKER_URL`` / ``CELERY_RESULT_BACKEND``. One "send"
is one unit of work: an ETL send publishes a 3-task chain, a fan-out send a chord.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from celery.result import AsyncResult

from demo import tasks

log = logging.getLogger("demo.loadgen")

FIRST_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan")
DOMAINS = ("example.com", "example.org", "shop.example.net")
TEMPLATES = ("welcome", "password_reset", "invoice", "weekly_digest", "order_shipped")
MODELS = ("resnet50", "bert-base", "xgb-churn", "lstm-forecast", "vit-small")
SOURCES = ("s3://raw/events.csv", "s3://raw/orders.parquet", "postgres://crm/customers")
TARGETS = ("warehouse.events", "warehouse.orders", "warehouse.customers")
BAD_ADDRESSES = ("bob@", "carol@localhost", "@example.com", "dave.example.com")


@dataclass
class SentTask:
    """One send: its kind, the failure it should end in (None = success) and its result.

    For a chain ``result`` is the last step (earlier steps via ``.parent``); for a chord it
    is the callback (header via ``.parent``). `ids` lists every task id of the send.
    """

    kind: str
    result: AsyncResult
    expect_failure: str | None = None
    ids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.result.id)


def _all_ids(result: AsyncResult) -> list[str]:
    """Ids of a result and its parents (chain steps, chord headers), first step first."""
    ids: list[str] = []
    node: object = result
    while node is not None:
        children = getattr(node, "results", None)  # a GroupResult (chord header)
        if children:
            ids[:0] = [str(r.id) for r in children]
        else:
            ids.insert(0, str(node.id))  # type: ignore[attr-defined]
        node = getattr(node, "parent", None)
    return ids


def _email_address(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)}.{rng.randrange(100, 999)}@{rng.choice(DOMAINS)}"


def _send_email(rng: random.Random) -> tuple[AsyncResult, str | None]:
    if rng.random() < 0.08:
        to, expect = rng.choice(BAD_ADDRESSES), "validation"
    else:
        to, expect = _email_address(rng), None
    template = rng.choice(TEMPLATES)
    subject = template.replace("_", " ").capitalize()
    seconds = round(rng.uniform(0.05, 0.3), 2)
    return tasks.send_email.delay(to, subject, template=template, seconds=seconds), expect


def _report(rng: random.Random) -> tuple[AsyncResult, str | None]:
    report_id = rng.randrange(1000, 9999)
    if rng.random() < 0.06:
        report_id -= report_id % 97  # ids divisible by 97 are missing records
    expect = "missing" if report_id % 97 == 0 else None
    fmt = rng.choice(("pdf", "pdf", "xlsx", "csv"))
    seconds = round(rng.uniform(0.2, 1.5), 2)
    return tasks.generate_report.delay(report_id, fmt=fmt, seconds=seconds), expect


def _training(rng: random.Random) -> tuple[AsyncResult, str | None]:
    epochs = rng.randrange(3, 8)
    fail_at = rng.randrange(2, epochs + 1) if rng.random() < 0.12 else None
    return (
        tasks.train_model.delay(
            rng.choice(MODELS),
            epochs=epochs,
            step_seconds=round(rng.uniform(0.15, 0.4), 2),
            fail_at=fail_at,
        ),
        "oom" if fail_at else None,
    )


def _etl(rng: random.Random) -> tuple[AsyncResult, str | None]:
    pipeline_id = f"pl-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}"
    fail_stage = rng.choice(("extract", "transform", "load")) if rng.random() < 0.1 else None
    expect = {"extract": "connection", "transform": "validation", "load": "timeout"}.get(
        fail_stage or ""
    )
    sig = tasks.etl_pipeline(
        pipeline_id, rng.choice(SOURCES), fail_stage=fail_stage, target=rng.choice(TARGETS)
    )
    return sig.apply_async(), expect


def _fanout(rng: random.Random) -> tuple[AsyncResult, str | None]:
    n = rng.randrange(2, 5)
    first = rng.randrange(1000, 9000)
    # Keep missing-record ids out of the header: a failed header member fails the callback
    # with a ChordError, which is a different story than "a report fan-out".
    while any((first + i) % 97 == 0 for i in range(n)):
        first += n
    return tasks.report_fanout(n, first_id=first).apply_async(), None


def _flaky(rng: random.Random) -> tuple[AsyncResult, str | None]:
    kind = rng.choice(tasks.FAILURE_KINDS)
    expect = {"soft_timeout": "timeout", "key": "missing", "oom_killed": "oom"}.get(kind, kind)
    return tasks.flaky.delay(
        kind, seconds=round(rng.uniform(0.05, 0.3), 2), ref=rng.randrange(10_000)
    ), expect


def _retry(rng: random.Random) -> tuple[AsyncResult, str | None]:
    host, port = rng.choice(tasks.DB_HOSTS)
    return tasks.retry_once.delay(host=host, port=port), "connection"


def _utility(rng: random.Random) -> tuple[AsyncResult, str | None]:
    if rng.random() < 0.5:
        return tasks.add.delay(rng.randrange(100), rng.randrange(100)), None
    return tasks.echo.delay(rng.choice(FIRST_NAMES), n=rng.randrange(10)), None


Sender = Callable[[random.Random], tuple[AsyncResult, str | None]]

# (kind, weight, sender). The senders' own small failure rates plus the explicit `flaky` and
# `retry` kinds make ~14 % of sends fail; as chains and chords carry several tasks, that
# is ~11 % of tasks.
MIX: tuple[tuple[str, float, Sender], ...] = (
    ("email", 30, _send_email),
    ("report", 18, _report),
    ("etl", 16, _etl),
    ("training", 10, _training),
    ("utility", 12, _utility),
    ("fanout", 3, _fanout),
    ("flaky", 5, _flaky),
    ("retry", 2, _retry),
)


def send_one(rng: random.Random) -> SentTask:
    """Pick one kind of work by weight and send it."""
    kinds, weights, senders = zip(*MIX, strict=True)
    i = rng.choices(range(len(MIX)), weights=weights)[0]
    result, expect = senders[i](rng)
    return SentTask(kind=kinds[i], result=result, expect_failure=expect, ids=_all_ids(result))


def send_mix(n: int, seed: int = 1) -> list[SentTask]:
    """Send ``n`` units of work right away (no pacing); deterministic for a given seed."""
    rng = random.Random(seed)
    return [send_one(rng) for _ in range(n)]


def run(rate: float, duration: float | None, seed: int | None) -> int:
    """Send at ``rate`` units per second until ``duration`` elapses (None = until stopped)."""
    rng = random.Random(seed)
    interval = 1.0 / rate
    start = time.monotonic()
    next_at = start
    sent = failures = 0
    while duration is None or time.monotonic() - start < duration:
        item = send_one(rng)
        sent += 1
        failures += item.expect_failure is not None
        if sent % 50 == 0:
            log.info("sent %d (%d expected to fail)", sent, failures)
        # Schedule from the planned time, not from now, so the rate does not drift.
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at = time.monotonic()  # fell behind (slow broker): don't burst to catch up
    log.info("done: sent %d (%d expected to fail)", sent, failures)
    return sent


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2.0, help="sends per second")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    log.info("sending to %s at %.2f/s", tasks.app.conf.broker_url, args.rate)
    try:
        run(args.rate, args.duration, args.seed)
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        # Results still referenced at exit would unsubscribe from Redis during interpreter
        # shutdown and print tracebacks.
        tasks.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
