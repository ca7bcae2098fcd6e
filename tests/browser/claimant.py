"""One console replica's process performing one action: ``python -m tests.browser.claimant``.

Builds the console's objects from the environment exactly as a console server does
(``lib.ui.wiring.build_console``: with ``OPS_COLLECTOR=external`` it reads the store and runs
no collector), prints ``ready``, waits until the file ``go`` exists (so two processes act together), revokes
``task`` with operation id ``op``, and prints one JSON line: the outcome, the audit row, and how
many revoke requests this process sent to Flower.

    python -m tests.browser.claimant OP TASK GO
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from lib.auth import Actor
from lib.settings import load_settings
from lib.ui.wiring import build_console

#: How long a claimant waits for its go file before giving up (the test starts both at once).
GO_TIMEOUT = 60.0


def main(op: str, task: str, go: Path) -> dict:
    console = build_console(load_settings(os.environ, {}))
    sent: list[str] = []
    revoke = console.client.revoke

    def counted(task_id: str, **kw) -> str:
        sent.append(task_id)
        return revoke(task_id, **kw)

    console.client.revoke = counted  # type: ignore[method-assign]  # count this process's sends
    print("ready", flush=True)
    deadline = time.monotonic() + GO_TIMEOUT
    while not go.exists():  # both processes are built and waiting: act together
        if time.monotonic() > deadline:
            raise SystemExit(f"no go file {go} after {GO_TIMEOUT:g} s")
        time.sleep(0.01)
    result = console.desk.perform(Actor("replica", "operator"), "revoke", [task], {}, op)
    return {
        "outcome": result.outcome,
        "row": result.audit_id,
        "sent": len(sent),
        "pid": os.getpid(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))), flush=True)
