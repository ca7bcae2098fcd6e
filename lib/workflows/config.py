"""Workflow views as configured in ``workflows.toml``: the model, its loader and task matching.

A file holds one ``[views.<key>]`` table per view (kind ``training``, ``pipeline`` or ``team``).
A view picks its tasks with ``tasks`` / ``queues`` / ``workers`` pattern lists and says where
each task's identifier lives (``model``, ``pipeline``, ``team``: ordered id sources, first hit
wins). ``lib/workflows.toml`` documents every setting and is the default.

Invariants:

* Loading never raises for a file's content. Each view is parsed from its own lines (the
  others blanked, so line numbers stay the file's), and every problem becomes a ``Problem``
  with the line it is on; a broken view is left out, the others load.
* Patterns are globs (``demo.train_*``, whole value, case-sensitive) or, written
  ``re:<regex>``, regular expressions searched in the value. Within a list any pattern may
  match; every non-empty list must match; a view with no lists matches every task. A missing
  value (a task Flower saw mid-flight has no name) matches nothing.
* Id sources are only declared here; ``lib.workflows.literals`` reads them from tasks.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

__all__ = [
    "DEFAULT_FILE",
    "KINDS",
    "Match",
    "Pattern",
    "Problem",
    "Source",
    "View",
    "WorkflowConfig",
    "load_workflows",
    "parse_workflows",
]

DEFAULT_FILE = Path(__file__).parents[1] / "workflows.toml"
KINDS = ("training", "pipeline", "team")
#: Settings every view takes, then those of each kind (anything else is reported, not ignored).
COMMON_KEYS = {"kind", "title", "tasks", "queues", "workers", "detect"}
KIND_KEYS = {
    "training": {"model", "gpu", "progress_key", "loss_key", "accuracy_key", "detect_keys"},
    "pipeline": {"pipeline", "stages", "records_key", "errors_key", "healthy", "degraded"},
    "team": {"team", "members", "unassigned"},
}
ID_KEY = {"training": "model", "pipeline": "pipeline", "team": "team"}
SOURCE_HELP = (
    "arg:N, kwarg:NAME, result:KEY, meta:KEY, worker:REGEX, queue:REGEX, name:REGEX, root or uuid"
)
HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]*?)\s*\]\]?\s*(#.*)?$")
VIEW_NAME = re.compile(r"""^views\s*\.\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))""")
TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file, with the 1-based line it is on (None: the whole file)."""

    line: int | None
    view: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}{f' (view {self.view!r})' if self.view else ''}: {self.message}"


@dataclass(frozen=True)
class Pattern:
    """A glob or ``re:`` regex as written, compiled to one regex used with ``search``."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Raises ``ValueError`` with a readable reason for a bad regex."""
        if text.startswith("re:"):
            try:
                return cls(text, re.compile(text[3:]))
            except re.error as exc:
                raise ValueError(f"bad regular expression {text!r}: {exc}") from exc
        return cls(text, re.compile("^" + fnmatch.translate(text)))

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and self.regex.search(value) is not None


@dataclass(frozen=True)
class Match:
    """Task selection rules: name, queue (routing key) and worker pattern lists."""

    tasks: tuple[Pattern, ...] = ()
    queues: tuple[Pattern, ...] = ()
    workers: tuple[Pattern, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.tasks or self.queues or self.workers)

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """True for each row of a tasks frame these rules select."""
        keep = pd.Series(True, index=frame.index)
        for column, patterns in (
            ("name", self.tasks),
            ("queue", self.queues),
            ("worker", self.workers),
        ):
            if patterns:
                keep &= _hits(frame[column], patterns)
        return keep


@dataclass(frozen=True)
class Source:
    """Where an id lives: ``kind`` (arg, kwarg, result, meta, worker, queue, name, root, uuid)."""

    kind: str
    key: str = ""
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class View:
    """One configured view; kind-specific settings keep their defaults on other kinds."""

    key: str
    kind: str
    title: str
    line: int
    match: Match = Match()
    detect: bool = True
    ids: tuple[Source, ...] = ()
    gpu: tuple[Source, ...] = (Source("meta", "gpu"), Source("result", "gpu"))
    progress_key: str = "progress"
    loss_key: str = "loss"
    accuracy_key: str = "accuracy"
    detect_keys: tuple[str, ...] = ("loss", "accuracy")
    stages: tuple[tuple[str, tuple[Pattern, ...]], ...] = ()
    records_key: str = "records"
    errors_key: str = "errors"
    healthy: float = 95.0
    degraded: float = 80.0
    members: tuple[tuple[str, Match], ...] = ()
    unassigned: str = "(no team)"

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """True for each task the rules take; with no rules, every task (a team view, or
        detect off) or none (detect on: detection alone finds the view's tasks)."""
        if self.match.empty:
            return pd.Series(self.kind == "team" or not self.detect, index=frame.index)
        return self.match.mask(frame)


@dataclass(frozen=True)
class WorkflowConfig:
    """The views that loaded, in file order, and every problem found."""

    source: str
    views: tuple[View, ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)


def load_workflows(path: Path | None = None) -> WorkflowConfig:
    """The views of ``path`` (``OPS_WORKFLOWS_FILE``), or of the shipped default when None."""
    path = Path(path) if path is not None else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return WorkflowConfig(str(path), (), (Problem(None, "", f"cannot read {path}: {reason}"),))
    return parse_workflows(text, str(path))


def parse_workflows(text: str, source: str = "workflows.toml") -> WorkflowConfig:
    """Every view of a workflows file's text; see the module docstring for the guarantees."""
    lines = text.splitlines()
    owners, problems = _split(lines)
    views: list[View] = []
    for key, numbers in owners.items():
        own = "\n".join(line if i + 1 in numbers else "" for i, line in enumerate(lines))
        try:
            table = tomllib.loads(own)["views"][key]
        except tomllib.TOMLDecodeError as exc:
            found = TOML_LINE.search(str(exc))
            problems.append(Problem(int(found.group(1)) if found else None, key, str(exc)))
            continue
        try:
            views.append(_view(key, table, min(numbers)))
        except _Bad as bad:
            problems.append(Problem(_locate(lines, numbers, bad.key, bad.needle), key, bad.message))
    if not views and not problems:
        problems.append(Problem(None, "", "no [views.<name>] tables"))
    return WorkflowConfig(source, tuple(views), tuple(sorted(problems, key=lambda p: p.line or 0)))


def _split(lines: list[str]) -> tuple[dict[str, set[int]], list[Problem]]:
    """Line numbers owned by each view key; lines outside any view must be comments."""
    owners: dict[str, set[int]] = {}
    problems: list[Problem] = []
    current: str | None = None
    for number, line in enumerate(lines, 1):
        header = HEADER.match(line)
        if header:
            name = VIEW_NAME.match(header.group(2))
            current = next((g for g in name.groups() if g is not None), None) if name else None
            if header.group(1) == "[[" or current is None:
                problems.append(
                    Problem(number, "", f"unknown table {line.strip()} (write [views.<name>])")
                )
                current = None
                continue
        if current is not None:
            owners.setdefault(current, set()).add(number)
        elif line.strip() and not line.strip().startswith("#") and not header:
            problems.append(Problem(number, "", "settings belong inside a [views.<name>] table"))
    return owners, problems


class _Bad(Exception):
    """A view setting that cannot be used: its key (and text) find the line to show."""

    def __init__(self, key: str, message: str, needle: str = ""):
        super().__init__(message)
        self.key, self.message, self.needle = key, message, needle


def _locate(lines: list[str], numbers: set[int], key: str, needle: str) -> int:
    keyed = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""") if key else None
    start = next((n for n in sorted(numbers) if keyed and keyed.match(lines[n - 1])), min(numbers))
    if needle:
        variants = (needle, needle.replace("\\", "\\\\"))
        for n in sorted(x for x in numbers if x >= start):
            if any(v in lines[n - 1] for v in variants):
                return n
    return start


def _view(key: str, table: Mapping, line: int) -> View:
    kind = table.get("kind")
    if kind not in KINDS:
        raise _Bad("kind", f"unknown kind {kind!r} (expected training, pipeline or team)")
    unknown = sorted(set(table) - COMMON_KEYS - KIND_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(COMMON_KEYS | KIND_KEYS[kind]))
        raise _Bad(
            unknown[0], f"unknown setting {unknown[0]!r} for a {kind} view (allowed: {allowed})"
        )
    title = table.get("title", key)
    if not isinstance(title, str) or not title.strip():
        raise _Bad("title", "title must be a non-empty string")
    view = View(key, kind, title.strip(), line, _match(table), _flag(table, "detect"))
    ids = _sources(table, ID_KEY[kind]) if ID_KEY[kind] in table else None
    view = replace(view, ids=ids or _default_ids(kind))
    return {"training": _training, "pipeline": _pipeline, "team": _team}[kind](view, table)


def _training(view: View, table: Mapping) -> View:
    keys = {k: _text(table, k) for k in ("progress_key", "loss_key", "accuracy_key") if k in table}
    if "gpu" in table:
        keys["gpu"] = _sources(table, "gpu")
    if "detect_keys" in table:
        keys["detect_keys"] = tuple(_strings(table, "detect_keys"))
    return replace(view, **keys)


def _pipeline(view: View, table: Mapping) -> View:
    stages = table.get("stages", {})
    if not isinstance(stages, Mapping):
        raise _Bad("stages", "stages must be a table: stage name = [patterns]")
    parsed = tuple((name, _patterns(stages, name)) for name in stages)
    keys = {k: _text(table, k) for k in ("records_key", "errors_key") if k in table}
    healthy, degraded = _percent(table, "healthy", 95.0), _percent(table, "degraded", 80.0)
    if degraded > healthy:
        raise _Bad("degraded", f"degraded ({degraded:g}) must not be above healthy ({healthy:g})")
    return replace(view, stages=parsed, healthy=healthy, degraded=degraded, **keys)


def _team(view: View, table: Mapping) -> View:
    members = table.get("members", {})
    if not isinstance(members, Mapping) or not all(
        isinstance(m, Mapping) for m in members.values()
    ):
        raise _Bad("members", "members must hold one table per team: [views.<key>.members.<team>]")
    for team, rules in members.items():
        extra = sorted(set(rules) - {"tasks", "queues", "workers"})
        if extra:
            raise _Bad(
                extra[0], f"team {team!r}: unknown setting {extra[0]!r} (tasks, queues, workers)"
            )
    teams = tuple((team, _match(rules)) for team, rules in members.items())
    unassigned = table.get("unassigned", view.unassigned)
    if not isinstance(unassigned, str):
        raise _Bad("unassigned", "unassigned must be a string (empty: leave such tasks out)")
    return replace(view, members=teams, unassigned=unassigned)


def _default_ids(kind: str) -> tuple[Source, ...]:
    specs = {
        "training": (
            "kwarg:model_name",
            "kwarg:model",
            "result:model",
            "meta:model",
            "arg:0",
            "name",
        ),
        "pipeline": ("kwarg:pipeline_id", "result:pipeline_id", "root"),
        "team": ("worker:team-([A-Za-z0-9_]+)", "queue:team_([A-Za-z0-9_]+)"),
    }[kind]
    return tuple(_source(spec, ID_KEY[kind]) for spec in specs)


def _match(table: Mapping) -> Match:
    return Match(*(_patterns(table, k) for k in ("tasks", "queues", "workers")))


def _patterns(table: Mapping, key: str) -> tuple[Pattern, ...]:
    out = []
    for text in _strings(table, key):
        try:
            out.append(Pattern.parse(text))
        except ValueError as exc:
            raise _Bad(key, str(exc), text) from exc
    return tuple(out)


def _strings(table: Mapping, key: str) -> list[str]:
    value = table.get(key, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Bad(key, f"{key} must be a list of non-empty strings")
    return value


def _text(table: Mapping, key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(key, f"{key} must be a non-empty string")
    return value


def _flag(table: Mapping, key: str) -> bool:
    value = table.get(key, True)
    if not isinstance(value, bool):
        raise _Bad(key, f"{key} must be true or false")
    return value


def _percent(table: Mapping, key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise _Bad(key, f"{key} must be a percent between 0 and 100")
    return float(value)


def _sources(table: Mapping, key: str) -> tuple[Source, ...]:
    return tuple(_source(spec, key) for spec in _strings(table, key))


def _source(spec: str, key: str) -> Source:
    kind, _, rest = spec.partition(":")
    if spec in ("root", "uuid", "name"):
        return Source(spec)
    if kind == "arg" and rest.isdigit():
        return Source("arg", rest)
    if kind in ("kwarg", "result", "meta") and rest:
        return Source(kind, rest)
    if kind in ("worker", "queue", "name") and rest:
        try:
            return Source(kind, rest, re.compile(rest))
        except re.error as exc:
            raise _Bad(key, f"bad regular expression in {spec!r}: {exc}", spec) from exc
    raise _Bad(key, f"unknown id source {spec!r} (use {SOURCE_HELP})", spec)


def _hits(values: pd.Series, patterns: Iterable[Pattern]) -> pd.Series:
    """Pattern hits on the distinct values only: a frame repeats few names many times."""
    patterns = tuple(patterns)
    hit = {v for v in values.dropna().unique() if any(p.matches(v) for p in patterns)}
    return values.isin(hit).fillna(False).astype(bool)
