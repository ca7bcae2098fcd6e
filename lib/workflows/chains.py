"""Chains, groups and chords as trees: multi-task workflows, one workflow's tree, its roll-up.

Pure: a tasks frame (``frames.tasks_frame``), ``now`` and the backend's group ids (read by
``lib.workflows.backend``, picked with ``group_candidates``) in, frames out; no I/O.

Definitions and invariants:

* A workflow is the tasks linked by ``root_id``, ``parent_id`` and ``children`` (plus a
  ``group_id`` from the result backend: Flower records none, so without the backend a
  top-level group or chord header shows only the member that started the callback).
* Trees never loop: a retried task is its own parent (that edge is dropped) and any other
  cycle is cut at its earliest task. Ids referenced but absent from Flower become
  ``MISSING`` nodes. A tree stops growing at ``MAX_TREE_NODES``.
* A workflow's and a group's state is rolled up from its tasks'
  (``lifecycle.rollup_state``); a running workflow lasts until ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from lib.workflows.lifecycle import (
    FINAL,
    effective_states,
    finished_at,
    rollup_by,
    rollup_state,
    row_state,
)
from lib.workflows.literals import MAX_META_READS

__all__ = [
    "MAX_TREE_NODES",
    "group_candidates",
    "group_ids_from",
    "unfinished_ids",
    "workflow_summary",
    "workflow_tree_frame",
    "workflows_frame",
]

#: A workflow tree stops growing here: a bigger one is a fan-out nobody reads node by node.
MAX_TREE_NODES = 2000
#: Group members are sent in one burst; roots sent this close (s) may be unlinked siblings.
SIBLING_WINDOW = 5.0
#: Columns of ``workflows_frame``, in order.
WORKFLOW_COLUMNS = ["root_id", "name", "tasks", "missing", "state", "started", "finished"]
WORKFLOW_COLUMNS += ["duration", "failing_step", "failing_task"]


def workflows_frame(
    frame: pd.DataFrame,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    min_size: int = 2,
) -> pd.DataFrame:
    """One row per workflow (tasks sharing a root id) of at least ``min_size`` tasks, newest
    first, active in [start, end] or unfinished.

    Columns: root_id, name (the root task's), tasks, missing (linked ids Flower lacks),
    state (rolled up), started, finished, duration (s; up to ``now`` while unfinished),
    failing_step (name of the first task that failed), failing_task (its id).
    """
    out = _workflow_rows(_workflow_tasks(frame, min_size))
    running = out["state"].isin(["RUNNING", "PENDING"])
    out["finished"] = out["finished"].where(~running)
    out["duration"] = (
        out["finished"].fillna(pd.Timestamp(now)) - out["started"]
    ).dt.total_seconds()
    if start is not None and end is not None:
        out = out[out["last"].between(pd.Timestamp(start), pd.Timestamp(end)) | running]
    out = out.drop(columns="last").rename_axis("root_id").reset_index()[WORKFLOW_COLUMNS]
    return out.sort_values("started", ascending=False).reset_index(drop=True)


def _workflow_tasks(frame: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """The tasks of workflows of at least ``min_size`` tasks, each with its workflow's key
    (root id, else its own id), effective state (eff), begin (sent, else received, else
    started) and end (finished) time."""
    data = frame.assign(
        key=frame["root_id"].fillna(frame["uuid"]),
        eff=effective_states(frame),
        begin=frame["sent"].fillna(frame["received"]).fillna(frame["started"]),
        end=finished_at(frame),
    )
    sizes = data.groupby("key").size()
    return data[data["key"].isin(sizes[sizes >= min_size].index)]


def _workflow_rows(data: pd.DataFrame) -> pd.DataFrame:
    """One row per workflow key of ``_workflow_tasks``: name, tasks, missing, state, started,
    finished, last (latest event), failing_step, failing_task."""
    grouped = data.groupby("key")
    failures = data[data["eff"] == "FAILURE"].sort_values("failed").groupby("key")
    roots = data[data["uuid"] == data["key"]].set_index("key")["name"]
    out = pd.DataFrame(
        {
            "name": roots.reindex(grouped.size().index).fillna(grouped["name"].first()),
            "tasks": grouped.size(),
            "missing": _missing_links(data),
            "state": rollup_by(data["eff"], data["key"]),
            "started": grouped["begin"].min(),
            "finished": grouped["end"].max(),
            "last": grouped["timestamp"].max(),
            "failing_step": failures["name"].first(),
            "failing_task": failures["uuid"].first(),
        }
    )
    out["missing"] = out["missing"].fillna(0).astype(int)
    return out


def _missing_links(data: pd.DataFrame) -> pd.Series:
    """Per workflow key, how many ids its tasks link to (children, parent) Flower lacks."""
    kids = data[["key", "uuid", "children"]].assign(ref=data["children"].str.split(","))
    kids = kids.explode("ref")
    refs = pd.concat(
        [kids[["key", "uuid", "ref"]], data[["key", "uuid"]].assign(ref=data["parent_id"])]
    )
    refs = refs[refs["ref"].notna() & (refs["ref"] != "") & (refs["ref"] != refs["uuid"])]
    absent = refs[~refs["ref"].isin(set(data["uuid"]))].drop_duplicates(["key", "ref"])
    return absent.groupby("key").size()


#: The tasks frame's columns a tree reads.
TREE_FIELDS = ["uuid", "name", "state", "worker", "root_id", "parent_id", "children", "duration"]
TREE_FIELDS += ["retries", "sent", "received", "started", "succeeded", "failed", "revoked"]


def _child_ids(text: object) -> list[str]:
    """Flower's comma-joined ``children`` as a list of ids."""
    return [c for c in text.split(",") if c] if isinstance(text, str) else []


def _members(frame: pd.DataFrame, uuid: str, group_ids: Mapping[str, str]) -> dict[str, dict]:
    """Every id linked to ``uuid`` (breadth first, vectorised per level) → its row, or {}
    when Flower does not hold it. Bounded by ``MAX_TREE_NODES``."""
    rows: dict[str, dict] = {}
    frontier = {uuid}
    while frontier and len(rows) < MAX_TREE_NODES:
        found = frame[frame["uuid"].isin(frontier)][TREE_FIELDS].to_dict("records")
        rows.update({u: {} for u in frontier})
        rows.update({r["uuid"]: r for r in found})
        roots = frontier | {r["root_id"] for r in found if isinstance(r["root_id"], str)}
        kids = {c for r in found for c in _child_ids(r["children"])}
        near = {r["parent_id"] for r in found} | kids
        linked = frame["root_id"].isin(roots) | frame["parent_id"].isin(frontier)
        near |= set(frame.loc[linked.fillna(False).astype(bool), "uuid"]) | roots
        groups = {group_ids[u] for u in frontier if u in group_ids}
        near |= {u for u, g in group_ids.items() if g in groups}
        fresh = {n for n in near if isinstance(n, str) and n and n not in rows}
        frontier = set(sorted(fresh)[: max(0, MAX_TREE_NODES - len(rows))])
    return rows


def group_candidates(
    frame: pd.DataFrame, uuid: str, window: float = SIBLING_WINDOW, limit: int = MAX_META_READS
) -> list[str]:
    """Ids whose backend ``group_id`` to read for ``uuid``'s tree: its workflow's tasks, then
    the top-level tasks sent within ``window`` seconds of them (possible group siblings),
    nearest first, each followed by its children: a chord's callback is the child of
    whichever header finished last, so it is found from any header."""
    members = list(_members(frame, uuid, {}))
    known = frame[frame["uuid"].isin(members)]
    sent = known["sent"].fillna(known["received"]).dropna()
    if sent.empty:
        return members[:limit]
    lo, hi = sent.min() - pd.Timedelta(seconds=window), sent.max() + pd.Timedelta(seconds=window)
    when = frame["sent"].fillna(frame["received"])
    near = frame[frame["parent_id"].isna() & when.between(lo, hi) & ~frame["uuid"].isin(members)]
    near = near.assign(gap=(when[near.index] - sent.min()).abs()).sort_values("gap")
    pairs = zip(near["uuid"], near["children"], strict=True)
    families = [i for u, children in pairs for i in (u, *_child_ids(children))]
    return list(dict.fromkeys([*members, *families]))[:limit]


def group_ids_from(metas: Mapping[str, Mapping]) -> dict[str, str]:
    """``{task id: group id}`` from backend records (only group members have one)."""
    return {
        u: str(m["group_id"])
        for u, m in metas.items()
        if isinstance(m, Mapping) and m.get("group_id")
    }


def workflow_tree_frame(
    frame: pd.DataFrame,
    uuid: str,
    now: datetime,
    group_ids: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The workflow ``uuid`` belongs to, as rows in tree order (parents before children).

    Columns: depth, node (the name indented by depth: safe text), uuid (NA for a group
    node), name, role (root, step, group, group member, chord callback, missing), state
    (a group's is rolled up), worker, runtime (s), elapsed (s, running), started, finished,
    retries, note. Empty when Flower does not hold ``uuid``.
    """
    group_ids = dict(group_ids or {})
    rows = _members(frame, uuid, group_ids)
    if not rows.get(uuid):
        return pd.DataFrame(columns=TREE_COLUMNS[1:])
    parent, role, notes = _edges(rows, group_ids)
    order = _walk(rows, parent, notes)
    tree = pd.DataFrame(
        [_node_row(rows.get(n, {}), n, d, role[n], notes[n], now) for n, d in order],
        columns=TREE_COLUMNS,
    )
    tree["note"] = tree["note"].mask(
        tree["uuid"] == uuid, (tree["note"] + "; ◀ this task").str.strip("; ")
    )
    for node in tree.loc[tree["role"] == "group", "node_id"]:
        inside = tree["uuid"].isin([m for m, g in group_ids.items() if g == node[6:]])
        tree.loc[tree["node_id"] == node, "state"] = rollup_state(tree.loc[inside, "state"])
    return tree.drop(columns="node_id")


#: Columns of a tree while it is built (``node_id`` is dropped at the end).
TREE_COLUMNS = ["node_id", "depth", "node", "uuid", "name", "role", "state", "worker", "runtime"]
TREE_COLUMNS += ["elapsed", "started", "finished", "retries", "note"]


def _edges(rows: dict[str, dict], group_ids: Mapping[str, str]):
    """Tree parent, role and notes per node; adds a ``group:<id>`` node per group of two or
    more members (headers under it; a member whose parent is in the group is the callback)."""
    parent, notes = _links(rows)
    role = {n: "step" if row else "missing" for n, row in rows.items()}
    groups: dict[str, list[str]] = {}
    for node in rows:
        if node in group_ids:
            groups.setdefault(group_ids[node], []).append(node)
    for group, members in ((g, m) for g, m in groups.items() if len(m) > 1):
        key, inside = f"group:{group}", set(members)
        callbacks = {m for m in members if parent.get(m) in inside}
        outer = {parent.get(m) for m in members if m not in callbacks} - {None}
        parent[key] = outer.pop() if len(outer) == 1 else None
        notes[key], role[key] = [f"group {group} ({len(members)} tasks)"], "group"
        for member in members:
            parent[member] = key
            role[member] = "chord callback" if member in callbacks else "group member"
    return parent, role, notes


def _links(rows: dict[str, dict]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Each node's parent from ``parent_id`` and ``children`` (a self-link dropped, a missing
    task placed under its workflow's root), and the notes saying so."""
    parent: dict[str, str | None] = {}
    notes: dict[str, list[str]] = {n: [] for n in rows}
    for node, row in rows.items():
        up = row.get("parent_id")
        if up == node:
            notes[node].append("retried: Celery lists it as its own parent")
        parent.setdefault(node, up if isinstance(up, str) and up != node else None)
        for child in _child_ids(row.get("children")):
            if child != node and child in rows and parent.get(child) is None:
                parent[child] = node
    roots = pd.Series([r.get("root_id") for r in rows.values()], dtype=object).dropna()
    root = roots.mode().iloc[0] if len(roots) else None
    for node, row in rows.items():
        if not row and parent.get(node) is None and root in rows and root != node:
            parent[node] = root  # a missing task sits somewhere under its workflow's root
            notes[node].append("placed under the root: its own parent is unknown")
    return parent, notes


def _walk(rows: dict[str, dict], parent: dict, notes: dict) -> list[tuple[str, int]]:
    """(node, depth) in depth-first order; a cycle is cut at its earliest task."""
    kids: dict[str | None, list[str]] = {}
    for node in notes:
        kids.setdefault(parent.get(node) if parent.get(node) in notes else None, []).append(node)

    def begin(node: str) -> float:
        if node.startswith("group:"):
            return min((begin(k) for k in kids.get(node, [])), default=float("inf"))
        row = rows.get(node, {})
        when = next((row[k] for k in ("sent", "received", "started") if pd.notna(row.get(k))), None)
        return when.timestamp() if when is not None else float("inf")

    for siblings in kids.values():
        siblings.sort(key=lambda n: (begin(n), n))
    done: set[str] = set()
    order: list[tuple[str, int]] = []
    stack = [(n, 0) for n in reversed(kids.get(None, []))]
    while len(done) < len(notes):
        if not stack:  # every node left sits on a cycle: start from its earliest task
            first = min((n for n in notes if n not in done), key=lambda n: (begin(n), n))
            notes[first].append("cycle: its parent link was ignored")
            stack = [(first, 0)]
        node, depth = stack.pop()
        if node not in done:
            done.add(node)
            order.append((node, depth))
            stack += [(k, depth + 1) for k in reversed(kids.get(node, [])) if k not in done]
    return order


def _node_row(row: Mapping, node: str, depth: int, role: str, notes: list[str], now) -> dict:
    group = node.startswith("group:")
    state = "GROUP" if group else row_state(row) if row else "MISSING"
    name = row.get("name") if isinstance(row.get("name"), str) else None
    label = notes[0] if group else name or ("(not in Flower)" if not row else "?")
    started = row.get("started")
    running = bool(row) and state not in FINAL and pd.notna(started)
    extra = ["missing from Flower (evicted, or never sent)"] if state == "MISSING" else []
    finished = (row.get(k) for k in ("succeeded", "failed", "revoked"))
    return {
        "node_id": node,
        "depth": depth,
        "node": "    " * depth + ("└ " if depth else "") + label,
        "uuid": None if group else node,
        "name": name,
        "role": "root" if depth == 0 and role == "step" else role,
        "state": state,
        "worker": row.get("worker"),
        "runtime": row.get("duration"),
        "elapsed": (pd.Timestamp(now) - started).total_seconds() if running else None,
        "started": started,
        "finished": next((t for t in finished if pd.notna(t)), None),
        "retries": row.get("retries"),
        "note": "; ".join(([] if group else notes) + extra),
    }


def workflow_summary(tree: pd.DataFrame) -> dict:
    """state (rolled up), tasks (held by Flower), missing, unfinished (ids) of a tree frame."""
    missing = int((tree["state"] == "MISSING").sum())
    tasks = int(tree["uuid"].notna().sum()) - missing
    return {
        "state": rollup_state(tree["state"]),
        "tasks": tasks,
        "missing": missing,
        "unfinished": unfinished_ids(tree),
    }


def unfinished_ids(tree: pd.DataFrame) -> list[str]:
    """Task ids of a tree that have not finished: what revoking the whole workflow acts on."""
    live = tree["uuid"].notna() & ~tree["state"].isin([*FINAL, "MISSING", "GROUP"])
    return tree.loc[live, "uuid"].tolist()
