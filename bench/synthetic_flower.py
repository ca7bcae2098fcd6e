"""A real Flower 2.2 web server whose task state is filled with synthetic Celery events.

It measures nothing itself: it gives ``bench.sync`` (and anyone who wants a big Flower for a
demo) a Flower that holds 100k realistic tasks, in about a minute, without a broker or workers.

How it works:

- ``flower.app.Flower`` is built the way ``celery flower`` builds it (same URL handlers, same
  tornado settings, same global options), so every HTTP answer comes from Flower's own code.
- ``Flower.start()`` is never called. It would start the ``Events`` thread, which consumes the
  broker's event stream, and an inspect broadcast; neither is wanted, because here the events
  are made up. Without that thread Flower needs no broker at all. The Celery app still gets a
  ``memory://`` broker, so an endpoint that does touch the broker (queue lengths, inspect,
  control) talks to an empty in-process transport instead of retrying a network broker and
  filling the log with reconnect errors.
- The events come from a small discrete-event simulation: each task is sent by a producer,
  received and started by a worker of its queue, then succeeds (with a result repr and a
  runtime) or fails (with an exception repr and a traceback), about 10 % of the time. Every
  event is handed to ``flower.events.EventsState.event``, the method Flower's consumer calls for
  each event it captures, so Flower's own code maintains the task LRU (``--max_tasks``), the
  search index and the Prometheus counters. Events wait in a heap until the simulated clock
  reaches them: tasks whose end lies in the future stay STARTED and finish later.
- Feeding happens on the IOLoop thread only (``EventsState`` is not thread-safe): first before
  the loop starts, then from the control API and from a timer that sends worker heartbeats
  every 2 s and delivers events that have come due.
- A second, tiny tornado app on its own loopback port is the control API:
  ``POST /tasks?n=500`` adds 500 tasks sent since the last batch and answers with their uuids;
  ``GET /status`` reports the task count and the process's memory.
- The API is open (``FLOWER_UNAUTHENTICATED_API=true``) and both servers bind 127.0.0.1 only.
- With ``--exit-on-stdin-eof`` the process stops when its stdin closes, so a parent that dies,
  even by SIGKILL, takes it down.

When it is ready it prints one JSON line on stdout (``flower_url``, ``control_url``, counts).

Alone: ``.venv/bin/python -m bench.synthetic_flower --tasks 20000 --port 5555``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import logging
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import celery
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.netutil import bind_sockets

log = logging.getLogger("synthetic_flower")

#: Worker heartbeat period; Celery's default is 2 s and Flower marks a worker offline after ~4 s.
HEARTBEAT_SECONDS = 2.0
#: Tasks per batch while filling: events are ordered by time within a batch and delivered.
FILL_BATCH = 1000

ArgsMaker = Callable[[random.Random, float], tuple[str, str]]
ResultMaker = Callable[[random.Random], str]

# -- what the simulated cluster runs -------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One way a task kind fails: the repr Flower shows and the frame that raised it."""

    exc_type: str  # qualified name, as the traceback's last line prints it
    message: str
    code: str  # the source line of the raising frame


@dataclass(frozen=True)
class TaskKind:
    """One registered task: its queue, how often it runs, how long it takes, how it fails."""

    name: str
    queue: str
    weight: float
    median_runtime: float
    failure_rate: float
    make_args: ArgsMaker
    make_result: ResultMaker
    failures: tuple[Failure, ...]
    producers: tuple[str, ...] = ("gen1187@web-1", "gen1203@web-2", "gen2044@api-1")


def _day(sent: float) -> str:
    return time.strftime("%Y/%m/%d", time.gmtime(sent))


KINDS: tuple[TaskKind, ...] = (
    TaskKind(
        "search.tasks.reindex_document",
        "default",
        30,
        0.08,
        0.04,
        lambda r, t: (
            f"({r.choice(['product', 'order', 'customer'])!r}, {r.randint(1, 500000)})",
            f"{{'priority': {r.choice(['low', 'normal'])!r}}}",
        ),
        lambda r: f"{{'indexed': True, 'version': {r.randint(1, 40)}}}",
        (
            Failure(
                "elasticsearch.exceptions.ConnectionTimeout",
                "ConnectionTimeout caused by - ReadTimeoutError(HTTPConnectionPool"
                "(host='search-1', port=9200): Read timed out. (read timeout=10))",
                "self.es.index(index=index, id=doc_id, document=body)",
            ),
        ),
    ),
    TaskKind(
        "emails.tasks.send_email",
        "emails",
        22,
        0.35,
        0.08,
        lambda r, t: (
            f"('user{r.randint(1000, 99999)}@example.com', "
            f"{r.choice(['welcome', 'password_reset', 'receipt', 'digest'])!r})",
            f"{{'locale': {r.choice(['en', 'de', 'fr'])!r}, 'context': {{'first_name': 'Sam'}}}}",
        ),
        lambda r: f"'<{r.getrandbits(64):016x}@mail.example.com>'",
        (
            Failure(
                "smtplib.SMTPServerDisconnected",
                "Connection unexpectedly closed",
                "smtp.send_message(message)",
            ),
            Failure(
                "smtplib.SMTPRecipientsRefused",
                "{'bounce@example.com': (550, b'5.1.1 mailbox unavailable')}",
                "smtp.send_message(message)",
            ),
        ),
    ),
    TaskKind(
        "billing.tasks.charge_invoice",
        "billing",
        12,
        0.6,
        0.14,
        lambda r, t: (
            f"({r.randint(100000, 999999)},)",
            f"{{'currency': 'EUR', 'idempotency_key': 'inv-{r.getrandbits(32):08x}'}}",
        ),
        lambda r: f"{{'status': 'paid', 'amount_cents': {r.randint(500, 250000)}}}",
        (
            Failure(
                "billing.errors.CardDeclined", "insufficient_funds", "raise CardDeclined(code)"
            ),
            Failure(
                "TimeoutError",
                "payment gateway did not answer within 30 s",
                "response = gateway.charge(invoice, timeout=30)",
            ),
        ),
    ),
    TaskKind(
        "webhooks.tasks.deliver",
        "webhooks",
        10,
        0.5,
        0.30,
        lambda r, t: (
            f"('https://hooks.partner-{r.randint(1, 60)}.example.net/celery', "
            f"{r.choice(['order.paid', 'order.shipped', 'refund.created'])!r}, "
            f"{r.randint(1, 10**6)})",
            f"{{'attempt': {r.randint(1, 3)}, 'timeout': 10}}",
        ),
        lambda r: f"{{'status_code': {r.choice([200, 200, 202, 204])}}}",
        (
            Failure(
                "requests.exceptions.ConnectionError",
                "HTTPSConnectionPool(host='hooks.partner-17.example.net', port=443): Max "
                "retries exceeded with url: /celery (Caused by NameResolutionError)",
                "response = session.post(url, json=payload, timeout=timeout)",
            ),
            Failure(
                "webhooks.errors.DeliveryRejected",
                "partner answered 410 Gone",
                "raise DeliveryRejected(f'partner answered {response.status_code} "
                "{response.reason}')",
            ),
        ),
    ),
    TaskKind(
        "notifications.tasks.push",
        "default",
        10,
        0.15,
        0.06,
        lambda r, t: (
            f"({r.randint(1, 500000)}, "
            f"{r.choice(['Your order has shipped', 'Payment received', 'New message'])!r})",
            f"{{'badge': {r.randint(0, 9)}}}",
        ),
        lambda r: "None",
        (Failure("firebase_admin.exceptions.UnavailableError", "503", "messaging.send(msg)"),),
    ),
    TaskKind(
        "media.tasks.make_thumbnail",
        "media",
        8,
        0.9,
        0.08,
        lambda r, t: (
            f"('uploads/{r.getrandbits(8):02x}/{r.getrandbits(8):02x}/"
            f"{r.getrandbits(48):012x}.jpg', [(64, 64), (256, 256), (1024, 1024)])",
            "{}",
        ),
        lambda r: f"['thumbs/{r.getrandbits(48):012x}_64.jpg', 'thumbs/…_256.jpg', '…_1024.jpg']",
        (
            Failure(
                "PIL.UnidentifiedImageError",
                "cannot identify image file <_io.BytesIO object at 0x7f3a2c1e5f30>",
                "image = Image.open(io.BytesIO(blob))",
            ),
        ),
    ),
    TaskKind(
        "etl.tasks.import_csv",
        "etl",
        4,
        12.0,
        0.20,
        lambda r, t: (
            f"('s3://ingest/{_day(t)}/orders-{r.randint(0, 400):05d}.csv',)",
            f"{{'dry_run': False, 'batch_size': {r.choice([500, 1000, 5000])}}}",
        ),
        lambda r: f"{{'rows': {r.randint(100, 200000)}, 'rejected': {r.randint(0, 40)}}}",
        (
            Failure("KeyError", "'customer_id'", "customer = row['customer_id']"),
            Failure(
                "psycopg2.errors.UniqueViolation",
                'duplicate key value violates unique constraint "orders_pkey"',
                "cursor.executemany(INSERT_ORDERS, batch)",
            ),
        ),
    ),
    TaskKind(
        "reports.tasks.render_pdf",
        "reports",
        3,
        4.0,
        0.10,
        lambda r, t: (
            f"({r.choice(['monthly-sales', 'inventory', 'payouts'])!r}, "
            f"{time.strftime('%Y-%m', time.gmtime(t))!r})",
            f"{{'paper': 'A4', 'locale': {r.choice(['en_GB', 'de_DE'])!r}}}",
        ),
        lambda r: f"'s3://reports/{r.getrandbits(40):010x}.pdf'",
        (
            Failure(
                "weasyprint.errors.FontError",
                "no font found for 'Inter'",
                "document = HTML(string=html).render()",
            ),
        ),
    ),
    TaskKind(
        "etl.tasks.refresh_view",
        "etl",
        0.6,
        30.0,
        0.05,
        lambda r, t: (f"({r.choice(['daily_revenue', 'active_users', 'stock_levels'])!r},)", "{}"),
        lambda r: "None",
        (
            Failure(
                "psycopg2.errors.QueryCanceled",
                "canceling statement due to statement timeout",
                "cursor.execute(f'REFRESH MATERIALIZED VIEW CONCURRENTLY {view}')",
            ),
        ),
        producers=("beat@scheduler-1",),
    ),
    TaskKind(
        "maintenance.tasks.purge_sessions",
        "default",
        0.4,
        2.5,
        0.0,
        lambda r, t: ("()", "{'older_than_days': 30}"),
        lambda r: f"{r.randint(0, 5000)}",
        (),
        producers=("beat@scheduler-1",),
    ),
)

#: Which hosts consume which queues; each host's prefork children send events with their pid.
WORKERS: dict[str, tuple[str, ...]] = {
    "celery@general-1": ("default", "emails", "webhooks"),
    "celery@general-2": ("default", "emails", "webhooks"),
    "celery@general-3": ("default", "emails"),
    "celery@billing-1": ("billing",),
    "celery@billing-2": ("billing",),
    "celery@media-1": ("media", "reports"),
    "celery@etl-1": ("etl",),
}
#: A child's parent, when it has one: reindexing follows an import, a push follows a payment.
PARENT_KIND = {
    "search.tasks.reindex_document": "etl.tasks.import_csv",
    "notifications.tasks.push": "billing.tasks.charge_invoice",
}
TRACE_FRAMES = (
    ("/usr/local/lib/python3.11/site-packages/celery/app/trace.py", 453, "trace_task"),
    ("/usr/local/lib/python3.11/site-packages/celery/app/trace.py", 736, "__protected_call__"),
)


def traceback_text(kind: TaskKind, failure: Failure, rng: random.Random) -> str:
    """A plausible ``traceback.format_exc()`` for a failure raised inside the task body."""
    module, func = kind.name.rsplit(".", 1)
    lines = ["Traceback (most recent call last):"]
    calls = ("R = retval = fun(*args, **kwargs)", "return self.run(*args, **kwargs)")
    for (path, line, name), call in zip(TRACE_FRAMES, calls, strict=True):
        lines += [f'  File "{path}", line {line}, in {name}', f"    {call}"]
    app_path = f"/srv/app/{module.replace('.', '/')}.py"
    lines += [
        f'  File "{app_path}", line {rng.randint(20, 400)}, in {func}',
        f"    {failure.code}",
        f"{failure.exc_type}: {failure.message}",
    ]
    return "\n".join(lines) + "\n"


# -- the simulation --------------------------------------------------------------------------------


class Simulation:
    """Turns task arrivals into Celery events and feeds them to Flower's state in time order."""

    def __init__(self, state: Any, seed: int) -> None:
        self.state = state
        self.rng = random.Random(seed)
        self.clock = 0  # the Lamport clock every Celery event carries
        self.last_sent = 0.0
        self._seq = 0  # breaks timestamp ties in the heap so dicts are never compared
        self._pending: list[tuple[float, int, dict]] = []
        self._weights = [k.weight for k in KINDS]
        self._by_queue: dict[str, list[str]] = {}
        for host, queues in WORKERS.items():
            for queue in queues:
                self._by_queue.setdefault(queue, []).append(host)
        self._pids = {host: [1000 + 37 * i + j for j in range(4)] for i, host in enumerate(WORKERS)}
        self._last_of_kind: dict[str, tuple[str, str]] = {}  # kind -> (uuid, root_id)
        self._processed: Counter[str] = Counter()

    # -- arrivals ----------------------------------------------------------------------------

    def add_span(self, count: int, start: float, end: float, progress: bool = False) -> list[str]:
        """Send ``count`` tasks at random times in ``(start, end]``; deliver events up to end."""
        times = sorted(self.rng.uniform(start, end) for _ in range(count))
        uuids: list[str] = []
        began = time.monotonic()
        for i, sent in enumerate(times, 1):
            uuids.append(self._schedule(sent))
            if i % FILL_BATCH == 0:
                # Events of older tasks are due: deliver them to keep the heap small.
                self.deliver_until(sent)
                if progress and i % (count // 10 or 1) < FILL_BATCH:
                    log.info("%d/%d tasks fed (%.1f s)", i, count, time.monotonic() - began)
        self.last_sent = max(self.last_sent, end)
        self.deliver_until(end)
        return uuids

    def add_recent(self, count: int) -> dict[str, Any]:
        """The control API's verb: ``count`` tasks sent between the last batch and now."""
        now = time.time()
        before = self.in_flight()
        uuids = self.add_span(count, self.last_sent, now)
        return {
            "added": len(uuids),
            "uuids": uuids,
            "in_flight_before": before,
            "in_flight": self.in_flight(),
            "tasks_held": len(self.state.tasks),
        }

    def in_flight(self) -> int:
        return sum(1 for _, _, e in self._pending if e["type"] in ("task-succeeded", "task-failed"))

    def _schedule(self, sent: float) -> str:
        rng = self.rng
        kind = rng.choices(KINDS, self._weights)[0]
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        root_id, parent_id = task_id, None
        parent_kind = PARENT_KIND.get(kind.name)
        if parent_kind in self._last_of_kind and rng.random() < 0.3:
            parent_id, root_id = self._last_of_kind[parent_kind]
        self._last_of_kind[kind.name] = (task_id, root_id)

        worker = rng.choice(self._by_queue[kind.queue])
        pid = rng.choice(self._pids[worker])
        args, kwargs = kind.make_args(rng, sent)
        # Mostly a few ms in the queue; now and then a backlog of up to a minute.
        received = (
            sent + rng.expovariate(1 / 0.03) + (rng.uniform(1, 60) if rng.random() < 0.03 else 0)
        )
        started = received + rng.expovariate(1 / 0.005)
        runtime = rng.lognormvariate(math.log(kind.median_runtime), 0.6)
        common = {"uuid": task_id, "utcoffset": 0}
        header = {
            "name": kind.name,
            "args": args,
            "kwargs": kwargs,
            "root_id": root_id,
            "parent_id": parent_id,
            "retries": 0,
            "eta": None,
            "expires": None,
        }
        self._push(
            sent,
            {
                **common,
                **header,
                "type": "task-sent",
                "hostname": rng.choice(kind.producers),
                "pid": 7,
                "queue": kind.queue,
                "exchange": kind.queue,
                "routing_key": kind.queue,
            },
        )
        worker_fields = {**common, "hostname": worker, "pid": pid}
        self._push(received, {**worker_fields, **header, "type": "task-received"})
        self._push(started, {**worker_fields, "type": "task-started"})
        if kind.failures and rng.random() < kind.failure_rate:
            failure = rng.choice(kind.failures)
            short = failure.exc_type.rsplit(".", 1)[-1]
            end = {
                **worker_fields,
                "type": "task-failed",
                "exception": f"{short}({failure.message!r})",
                "traceback": traceback_text(kind, failure, rng),
            }
            self._push(started + runtime * rng.uniform(0.05, 1.0), end)
        else:
            end = {
                **worker_fields,
                "type": "task-succeeded",
                "result": kind.make_result(rng),
                "runtime": runtime,
            }
            self._push(started + runtime, end)
        return task_id

    def _push(self, at: float, event: dict) -> None:
        self._seq += 1
        event["timestamp"] = at
        heapq.heappush(self._pending, (at, self._seq, event))

    # -- delivery ----------------------------------------------------------------------------

    def deliver_until(self, now: float) -> int:
        """Feed Flower every pending event dated up to ``now``, oldest first."""
        fed = 0
        feed = self.state.event
        pending, rng = self._pending, self.rng
        while pending and pending[0][0] <= now:
            at, _, event = heapq.heappop(pending)
            self.clock += 1
            event["clock"] = self.clock
            # Flower's consumer stamps when it got the event: 1-50 ms after it was sent.
            event["local_received"] = at + rng.uniform(0.001, 0.05)
            if event["type"] in ("task-succeeded", "task-failed"):
                self._processed[event["hostname"]] += 1
            feed(event)
            fed += 1
        return fed

    def heartbeat(self, online: bool = False) -> None:
        """One heartbeat per worker (or ``worker-online`` at start), and deliver due events."""
        now = time.time()
        self.deliver_until(now)
        for host in WORKERS:
            self.clock += 1
            self.state.event(
                {
                    "type": "worker-online" if online else "worker-heartbeat",
                    "hostname": host,
                    "timestamp": now,
                    "local_received": now + 0.002,
                    "utcoffset": 0,
                    "pid": self._pids[host][0] - 1,
                    "clock": self.clock,
                    "freq": HEARTBEAT_SECONDS,
                    "sw_ident": "py-celery",
                    "sw_ver": celery.__version__,
                    "sw_sys": "Linux",
                    "active": 0 if online else self.rng.randint(0, 4),
                    "processed": self._processed[host],
                    "loadavg": [round(self.rng.uniform(0.2, 3.0), 2) for _ in range(3)],
                }
            )


# -- the control API -----------------------------------------------------------------------------


class AddTasksHandler(tornado.web.RequestHandler):
    """``POST /tasks?n=500``: add tasks sent since the last batch; answers with their uuids."""

    def initialize(self, sim: Simulation) -> None:
        self.sim = sim

    def post(self) -> None:
        try:
            count = int(self.get_argument("n", "500"))
        except ValueError:
            raise tornado.web.HTTPError(400, "n must be an integer") from None
        if not 0 <= count <= 1_000_000:
            raise tornado.web.HTTPError(400, "n must be between 0 and 1000000")
        started = time.monotonic()
        body = self.sim.add_recent(count)
        body["seconds"] = round(time.monotonic() - started, 3)
        self.write(body)


class StatusHandler(tornado.web.RequestHandler):
    """``GET /status``: what Flower holds and what the process costs in memory."""

    def initialize(self, sim: Simulation) -> None:
        self.sim = sim

    def get(self) -> None:
        self.write(
            {
                "tasks_held": len(self.sim.state.tasks),
                "events": self.sim.clock,
                "in_flight": self.sim.in_flight(),
                **memory_mb(),
            }
        )


def memory_mb() -> dict[str, float]:
    """Resident and peak resident memory of this process, from /proc (Linux)."""
    found: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = (
                        int(value.split()[0]) / 1024
                    )
    except OSError:
        pass
    return found


# -- the process ---------------------------------------------------------------------------------


def build_flower(port: int, max_tasks: int) -> Any:
    """A ``flower.app.Flower`` set up as ``celery flower`` would, listening on 127.0.0.1."""
    # Flower reads these at import and per request; set them before importing its modules.
    os.environ.setdefault("FLOWER_UNAUTHENTICATED_API", "true")
    from flower.app import Flower
    from flower.options import options
    from flower.urls import settings

    options.address = "127.0.0.1"
    options.port = port
    options.max_tasks = max_tasks
    options.persistent = False
    options.enable_events = False  # only read by Events.start(), which never runs here
    capp = celery.Celery("synthetic", broker="memory://")
    flower = Flower(capp=capp, options=options, io_loop=IOLoop.current(), **settings)
    seed_inspect(flower.inspector.workers)
    return flower


def seed_inspect(cache: dict) -> None:
    """What an inspect broadcast would have told Flower of each worker (its queues and pool),
    in Flower's inspect cache: no worker answers a broadcast here, and an unanswered one keeps
    the cache as it is."""
    for host, queues in WORKERS.items():
        cache[host]["active_queues"] = [
            {"name": q, "routing_key": q, "exchange": {"name": q, "type": "direct"}} for q in queues
        ]
        cache[host]["stats"] = {"pool": {"max-concurrency": 4, "processes": [1, 2, 3, 4]}}
        cache[host]["timestamp"] = time.time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks to fill in at start")
    parser.add_argument("--max-tasks", type=int, default=110_000, help="Flower's --max_tasks")
    parser.add_argument("--hours", type=float, default=6.0, help="how far back tasks go")
    parser.add_argument("--seed", type=int, default=20241122)
    parser.add_argument("--port", type=int, default=0, help="Flower's port (0: any free one)")
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="log fill progress")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="synthetic_flower: %(message)s",
        stream=sys.stderr,
    )
    # As ``celery flower`` does: no line per request (the benchmark makes hundreds).
    logging.getLogger("tornado.access").propagate = False
    asyncio.set_event_loop(asyncio.new_event_loop())
    io_loop = IOLoop.current()
    app = build_flower(args.port, args.max_tasks)
    flower_port = app.start_http_server()

    sim = Simulation(app.events.state, args.seed)
    control = tornado.web.Application(
        [(r"/tasks", AddTasksHandler, {"sim": sim}), (r"/status", StatusHandler, {"sim": sim})]
    )
    control_sockets = bind_sockets(args.control_port, address="127.0.0.1")
    control_server = HTTPServer(control)
    control_server.add_sockets(control_sockets)

    began = time.monotonic()
    now = time.time()
    sim.heartbeat(online=True)
    sim.add_span(args.tasks, now - args.hours * 3600, now, progress=args.verbose)
    sim.heartbeat()
    fill_seconds = time.monotonic() - began
    states = Counter(task.state for task in app.events.state.tasks.values())

    beats = PeriodicCallback(sim.heartbeat, HEARTBEAT_SECONDS * 1000)
    beats.start()
    if args.exit_on_stdin_eof:
        stdin = sys.stdin.fileno()

        def on_stdin(fd: int, _events: int) -> None:
            if not os.read(fd, 4096):  # EOF: the parent closed the pipe or died
                io_loop.remove_handler(fd)
                io_loop.stop()

        io_loop.add_handler(stdin, on_stdin, IOLoop.READ)

    ready = {
        "flower_url": f"http://127.0.0.1:{flower_port}",
        "control_url": f"http://127.0.0.1:{control_sockets[0].getsockname()[1]}",
        "pid": os.getpid(),
        "tasks_held": len(app.events.state.tasks),
        "events": sim.clock,
        "fill_seconds": round(fill_seconds, 1),
        "states": dict(states.most_common()),
        "in_flight": sim.in_flight(),
        **memory_mb(),
    }
    print(json.dumps(ready), flush=True)
    try:
        io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        beats.stop()
        control_server.stop()
        app.executor.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
