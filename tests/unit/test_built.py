"""lib.built: once per version, shared; while another session builds, the last value at once."""

from __future__ import annotations

import threading

from lib.built import Built


def building_in_background(built: Built, ask) -> tuple[threading.Event, threading.Thread]:
    """Start ``ask(build)`` in a thread whose build waits until the returned event is set."""
    release, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "new"

    thread = threading.Thread(target=ask, args=(slow,))
    thread.start()
    assert started.wait(10)
    return release, thread


def test_a_value_is_built_once_per_version_and_shared():
    built, calls = Built(kept=2), []
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert built.once("n", 1, build) == built.once("n", 1, build) == 1
    assert built.once("n", 2, build) == 2 and built.builds == 2
    assert built.once_for("k", ("t", 1), build) == built.once_for("k", ("t", 1), build) == 3


def test_while_another_session_builds_the_last_value_comes_at_once():
    built = Built(kept=2)
    built.once("n", 1, lambda: "old")
    built.once_for("k", ("t", 1), lambda: "old range")
    release, thread = building_in_background(built, lambda b: built.once("n", 2, b))
    try:
        assert built.once("n", 2, lambda: "not built: busy") == "old"
        assert built.once_for("k", ("t", 2), lambda: "not built: busy") == "old range"
    finally:
        release.set()
        thread.join(10)
    assert built.once("n", 2, lambda: "again") == "new"  # built once, by the other session


def test_a_value_never_built_waits_for_the_builder_rather_than_showing_nothing():
    built = Built(kept=2)
    release, thread = building_in_background(built, lambda b: built.once("n", 1, b))
    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(built.once("m", 1, lambda: "m")))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not got, "it waits for the lock"
    release.set()
    for t in (thread, waiter):
        t.join(10)
    assert got == ["m"]
