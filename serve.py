"""The console's server: Streamlit's own, with the console started at once, not at a first visit.

``python -m serve run app.py [streamlit options]`` (what ``./ops start`` runs) is ``streamlit
run`` plus one thread that, once Streamlit's runtime exists, reads the settings as the pages do
and builds the shared console (``lib.ui.wiring.start``): the embedded collector then watches the
cluster with no browser open, and the pages' first readings are built before anyone asks.
The console's modules are imported before the server listens and before any thread starts (as
a preloading server does): CPython 3.11 fills ``sysconfig``'s variables without a lock, and a
page importing ``zoneinfo`` while another thread did so once found no time zone path at all —
every ``ZoneInfo("UTC")`` of that server failed.
A configuration the console cannot use is left to the first page, which says what is wrong;
here it is only logged.
"""

from __future__ import annotations

import logging
import os
import sys
import sysconfig
import threading
import time
import zoneinfo

from streamlit import delta_generator
from streamlit.runtime import Runtime
from streamlit.web import cli

from lib import charts  # noqa: F401  (what the pages import beyond lib.ui: Altair)
from lib.errors import ConsoleError
from lib.settings import load_settings
from lib.ui import wiring

__all__ = ["main"]

sysconfig.get_config_vars()  # here, in the one thread there is (see the module docstring)
zoneinfo.ZoneInfo("UTC")

log = logging.getLogger("serve")

#: How long the start waits for Streamlit's runtime (its config read, its server starting).
RUNTIME_WAIT = 60.0


def _start_console() -> None:
    deadline = time.monotonic() + RUNTIME_WAIT
    while not Runtime.exists():  # the command line's options are applied by then
        if time.monotonic() > deadline:
            log.warning("Streamlit's runtime did not start; the console starts at a first visit")
            return
        time.sleep(0.05)
    # Streamlit checks once per process, at the first element any page draws, whether it runs
    # in a REPL, by ``inspect.stack()`` over that page's deep stack (0.2-0.5 s of the first
    # visit). Done here, on a shallow stack, it costs nothing and the flag is set.
    delta_generator._maybe_print_use_warning()

    try:
        wiring.start(load_settings(os.environ, wiring.file_secrets()))
    except ConsoleError as exc:  # the first page says it, in the page's words
        log.warning("the console is not started ahead of a first visit: %s", exc)


def main() -> None:
    """Streamlit's command line (``run app.py …``), the console started beside it."""
    threading.Thread(target=_start_console, name="console-start", daemon=True).start()
    sys.argv = ["streamlit", *sys.argv[1:]]
    try:
        cli.main()
    finally:  # asked, not waited for: a poll hung on Flower must not delay the exit
        wiring.stop_collectors(wait=False)


if __name__ == "__main__":
    main()
