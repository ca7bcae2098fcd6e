"""The Setup check page: the doctor's findings with badges, run on open and on Run checks."""

from __future__ import annotations

from tests.apptest.conftest import open_page, plain, texts

LINES = 12  # one per check


def badge_lines(at) -> list[str]:
    return [plain(m.value) for m in at.markdown if "-badge[" in m.value]


def test_findings_are_shown_with_badges_and_the_count(recorded_flower):
    at = open_page("Setup check")
    assert not at.exception, [e.value for e in at.exception]
    lines = badge_lines(at)
    assert len(lines) == LINES
    assert lines[0].startswith(":green-badge[PASS] **Flower reachable**: Flower answers at")
    # Recorded heartbeats are days old: clock skew fails, so the count line is an error.
    assert any(":red-badge[FAIL] **Clock skew**" in line for line in lines)
    assert any(
        ":orange-badge[WARN] **Broker**: CELERY_BROKER_URL is not set" in line for line in lines
    )
    assert at.error[0].value.startswith(f"{LINES} checks: ")
    labels = [b.label for b in at.get("download_button")]
    assert "Download CSV" in labels and "Download JSON" in labels


def test_checks_rerun_only_on_run_checks(recorded_flower):
    at = open_page("Setup check")
    recorded_flower.fault = (401, "", {})  # Flower now refuses the credentials
    at.run()
    assert "**Flower auth**: Flower's API answers" in texts(at), "a rerun keeps the findings"
    at.button[0].click().run()
    assert at.button[0].label == "Run checks"
    assert "FAIL] **Flower auth**: Flower asks for a password (HTTP 401)" in texts(at)


def test_a_broken_flower_is_a_fail_line_never_a_traceback(monkeypatch, closed_port):
    monkeypatch.setenv("FLOWER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:hunter2-Pa55")
    monkeypatch.setenv("OPS_AUTH", "off")
    at = open_page("Setup check")
    assert not at.exception
    lines = badge_lines(at)
    assert lines[0].startswith(":red-badge[FAIL] **Flower reachable**: Nothing answers at")
    assert "hunter2-Pa55" not in texts(at)
