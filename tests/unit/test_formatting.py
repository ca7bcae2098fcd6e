"""Markdown escaping of messages: no markup from task data, URLs shown as written."""

from __future__ import annotations

import re

from lib.ui.formatting import md_escape


def test_markup_is_escaped():
    assert md_escape("*bold* [x](y) <b>") == r"\*bold\* \[x\]\(y\) \<b\>"


def test_a_url_is_code_not_an_autolink_full_of_backslashes():
    said = md_escape("Flower cannot be reached (http://127.0.0.1:41973/api/tasks). No answer.")
    assert "`http://127.0.0.1:41973/api/tasks`" in said, said
    assert said.startswith(r"Flower cannot be reached \(`") and said.endswith(r"\)\. No answer\.")
    inside = re.findall(r"`([^`]*)`", said)
    assert inside and all("\\" not in part for part in inside)


def test_a_url_at_the_end_of_a_sentence_keeps_its_full_stop_outside():
    assert md_escape("Open https://flower.example/x.") == r"Open `https://flower.example/x`\."
