"""Recorded real Flower 2.2 payloads (see tests/fixtures/flower/README.md for how they were made)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "flower"


def recorded(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def recorded_tasks() -> list[dict]:
    """``/api/tasks`` as the client returns it: Flower's order, each with its uuid."""
    return [{**task, "uuid": uuid} for uuid, task in recorded("tasks").items()]


def special(case: str) -> str:
    """The uuid of a named special case (specials.json, written by demo/record_fixtures.py)."""
    return recorded("specials")[case]


def retried_own_parent() -> str:
    """A task Celery retried: Flower lists it as its own parent (reference §6)."""
    return next(t["uuid"] for t in recorded_tasks() if t.get("parent_id") == t["uuid"])


def truncated_args() -> str:
    """A task whose args repr Celery cut at 1024 characters with ``...``."""
    return next(t["uuid"] for t in recorded_tasks() if len(t.get("args") or "") > 1024)


ROUTES = {
    "/api/workers?status=1": "workers_status",
    "/api/workers": "workers",
    "/workers?json=1": "workers_ui",
    "/api/queues/length": "queues_length",
    "/api/task/types": "task_types",
}


class RecordedFlower:
    """Serves the recorded payloads (or ``tasks`` in place of the recorded tasks) over HTTP,
    until ``fault`` is set; records the POSTs it gets. ``answers`` replaces single endpoints'
    answers, by the names in ``ROUTES`` (or ``"tasks"``): for odd payloads."""

    def __init__(self, tasks: dict[str, dict] | None = None):
        self.fault: tuple | None = None
        self.posts: list[str] = []
        self.extra_tasks: dict[str, dict] = {}  # served on top of the tasks
        self.answers: dict[str, tuple] = {}
        # The recorded list plus a task Flower saw only mid-flight (name, args... null).
        self.tasks = (
            tasks
            if tasks is not None
            else {
                **recorded("tasks"),
                **recorded("tasks_name_none"),
            }
        )

    def __call__(self, method: str, path: str):
        if self.fault:
            return self.fault
        if method == "POST":
            return self._post(path)
        if path.startswith("/healthcheck"):
            return 200, "OK", {"Content-Type": "text/html"}
        held = {**self.tasks, **self.extra_tasks}
        if path.startswith("/tasks/datatable"):
            return 200, json.dumps({"recordsTotal": len(held)}), {}
        if path.startswith("/api/tasks"):
            return self.answers.get("tasks") or (200, json.dumps(held), {})
        if path.startswith("/api/task/info/"):
            uuid = path.rsplit("/", 1)[-1]
            return (200, json.dumps(held[uuid]), {}) if uuid in held else (404, "", {})
        for prefix, name in ROUTES.items():
            if path.startswith(prefix):
                return self.answers.get(name) or (200, json.dumps(recorded(name)), {})
        return 404, "not found", {}

    def _post(self, path: str):
        self.posts.append(path)
        if "send-task" in path:
            task_id = f"new-{len(self.posts)}"
            return 200, json.dumps({"task-id": task_id, "state": "PENDING"}), {}
        return 200, json.dumps({"message": f"OK {path}"}), {}
