"""The Overview's ``Download snapshot`` button: the whole current state as one JSON document.

The document is made on click, in Streamlit's download thread (``lib.snapshot_export``: pure
document, parts from the monitor and the store, never Flower), so an Overview that nobody
downloads from costs nothing more. The KPIs are the ones the page shows, passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from lib.redact import redact_url
from lib.snapshot_export import gather_parts, snapshot_bytes
from lib.ui.tables import download_file
from lib.ui.wiring import Console

__all__ = ["snapshot_download"]


def snapshot_download(
    console: Console, kpis: Mapping[str, object], window: tuple[datetime, datetime]
) -> None:
    """``Download snapshot`` (file ``snapshot-<cluster>-<time>.json``) for ``console``'s
    cluster: the page's ``kpis`` over ``window``, the rest read on click."""
    monitor, settings = console.monitor, console.settings
    cluster = monitor.health.cluster
    public_url = redact_url(settings.public_url)

    def make() -> bytes:
        now = datetime.now(UTC)
        parts = gather_parts(monitor, kpis, window, now, public_url, settings.error_rules_file)
        return snapshot_bytes(parts)

    download_file(
        "Download snapshot",
        make,
        f"snapshot-{cluster}.json",
        "application/json",
        key="overview_snapshot",
        icon=":material/photo_camera:",
    )
