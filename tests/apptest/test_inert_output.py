"""Task data is shown as text: HTML, markdown and secrets in arguments stay inert or masked."""

from __future__ import annotations

from lib.export import csv_bytes
from tests.apptest.conftest import open_page

HOSTILE = {
    "uuid": "hostile-1",
    "name": "demo.echo",
    "state": "FAILURE",
    "timestamp": 1795313000.0,
    "failed": 1795313000.0,
    "routing_key": "default",
    "args": "('<img src=x onerror=alert(1)>', '**bold** [link](http://evil.example)')",
    "kwargs": "{'password': 'hunter2', 'note': '=HYPERLINK(\"http://evil.example\")'}",
    "result": None,
    "exception": "ValueError('<script>alert(2)</script>')",
    "traceback": "Traceback (most recent call last):\n<b>not bold</b>",
}


def test_hostile_task_renders_as_characters_and_secrets_are_masked(recorded_flower):
    recorded_flower.extra_tasks["hostile-1"] = HOSTILE
    at = open_page("Tasks", query={"task": "hostile-1"})
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any("<img src=x onerror=alert(1)>" in c for c in codes), "shown as the characters"
    assert any("<script>alert(2)</script>" in c for c in codes)
    assert any("'password': '***'" in c for c in codes)
    assert not any("hunter2" in c for c in codes)
    for kind in ("markdown", "caption", "info", "warning", "error", "subheader", "title"):
        for el in getattr(at, kind):
            assert "<img" not in el.value and "<script>" not in el.value, kind
    assert not at.get("html"), "no raw HTML element on the page"


def test_hostile_task_in_the_table_and_its_csv(recorded_flower):
    # A producer's custom argsrepr can be any text, a spreadsheet formula included.
    formula = {**HOSTILE, "uuid": "hostile-2", "args": "=cmd|'/C calc'!A0"}
    recorded_flower.extra_tasks.update({"hostile-1": HOSTILE, "hostile-2": formula})
    at = open_page("Tasks", query={"state": "FAILURE"})
    shown = at.dataframe[0].value  # the rows the page's Download CSV exports
    table = shown.set_index("uuid")
    assert "hunter2" not in table.loc["hostile-1", "kwargs"]
    assert table.loc["hostile-2", "args"] == "=cmd|'/C calc'!A0", "the table shows the text"
    text = csv_bytes(shown).decode()
    assert "hunter2" not in text
    assert "'=cmd|'/C calc'!A0" in text and ",=cmd" not in text


def test_admin_reveal_shows_one_tasks_values_and_is_audited(recorded_flower, tmp_path):
    from lib.audit import AuditLog

    recorded_flower.extra_tasks["hostile-1"] = HOSTILE
    at = open_page("Tasks", query={"task": "hostile-1"})  # OPS_AUTH=off: the local admin
    assert not any("hunter2" in c.value for c in at.code)
    at.button(key="one_reveal").click().run()
    at.button(key="dialog_confirm").click().run()
    assert not at.exception
    assert any("'password': 'hunter2'" in c.value for c in at.code)
    rows = AuditLog(tmp_path / "ops-data" / "store.sqlite3").rows()
    assert [(r.action, r.targets, r.outcome) for r in rows] == [("reveal", ["hostile-1"], "sent")]
    assert recorded_flower.posts == [], "revealing sends nothing to Flower"
