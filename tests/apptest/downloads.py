"""The files a page's download buttons would give, under AppTest.

AppTest keeps no download bytes (streamlit-notes §9), but the console's buttons make their
files on click: Streamlit registers that function with its media file manager
(``add_deferred``). ``Downloads`` records each one as the page registers it, so a test calls
exactly what a click would and reads the file a browser would get.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

__all__ = ["Downloads", "downloads"]

_STAMPED = re.compile(r"^(?P<stem>.+)-\d{8}-\d{6}\.(?P<ext>\w+)$")


class Downloads:
    """Every deferred download registered since the fixture started, by ``<stem>.<ext>``."""

    def __init__(self) -> None:
        self.makers: dict[str, Callable[[], bytes | str]] = {}

    def record(self, file_name: str | None, maker: Callable[[], bytes | str]) -> None:
        match = _STAMPED.match(file_name or "")
        self.makers[f"{match['stem']}.{match['ext']}" if match else str(file_name)] = maker

    def file(self, name: str) -> bytes:
        """The bytes of the latest ``name`` (``audit-log.csv``) a click would download."""
        made = self.makers[name]()
        return made.encode("utf-8") if isinstance(made, str) else made

    def csv_rows(self, stem: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.file(f"{stem}.csv").decode("utf-8"))))

    def json_rows(self, stem: str) -> list[dict]:
        return json.loads(self.file(f"{stem}.json"))


@pytest.fixture
def downloads(monkeypatch) -> Downloads:
    """Record the download functions the pages register (AppTest's own media manager)."""
    seen = Downloads()
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        seen.record(file_name, data_callable)
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return seen
