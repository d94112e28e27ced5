"""A second, independent set of resume probes: computed from the raw state document (not
from context-handoff's derived facts) and answered by reading the payload's JSON structure
(not by nearness in its text), so a form that carries a fact without repeating strings is
credited, and a string that merely sits nearby is not.

- phase: ``context.current_phase``, held as a string;
- active: every ``running`` task and ``context.active_tasks``, each id held;
- failed: every ``failed`` task, its id held (alone or as ``"<id>: <Type>"``);
- error type: each failed task's ``error.type`` tied to its id: an object with both
  as ``task_id`` and ``type``, the string ``"<id>: <Type>"``, a map from the type to
  a list holding the id, or ``failed_tasks`` with ``failure_types`` counting its
  groups in order;
- decision: each runtime decision without ``decided_at``, its prompt's first 60
  characters held;
- next k: pending tasks whose dependencies all succeeded, k of them held, k = 1..5;
- path head: one first task of a longest chain of unfinished tasks held;
- missing dependency: each name in ``environment_config.dependencies``, held alone
  or in a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any, NamedTuple

NEXT_PROBES = 5
_DONE = "success"


class Probes(NamedTuple):
    single: list[tuple[str, str]]  # (kind, string that must be held)
    typed: list[tuple[str, str]]  # (failed id, its error type)
    ready: list[str]
    heads: list[str]  # first tasks of the longest unfinished chains


class Answered(NamedTuple):
    share: float
    answered: int
    total: int
    missing_by_kind: dict[str, int]


def probes_of(doc: dict[str, Any]) -> Probes:
    tasks: dict[str, Any] = doc.get("tasks") or {}
    ctx = doc.get("context") or {}
    single = [("phase", ctx["current_phase"])] if ctx.get("current_phase") else []
    active = dict.fromkeys(
        [
            *(ctx.get("active_tasks") or []),
            *(t for t, v in tasks.items() if v.get("status") == "running"),
        ]
    )
    single += [("active", t) for t in active]
    failed = [t for t, v in tasks.items() if v.get("status") == "failed"]
    single += [("failed", t) for t in failed]
    typed = [
        (t, tasks[t]["error"]["type"]) for t in failed if (tasks[t].get("error") or {}).get("type")
    ]
    decisions = (doc.get("user_customizations") or {}).get("runtime_decisions") or []
    single += [
        ("decision", d["prompt"][:60])
        for d in decisions
        if not (d.get("decision") or {}).get("decided_at")
    ]
    env = doc.get("environment_config") or {}
    single += [
        ("missing dependency", n)
        for n in (env.get("dependencies") or {}).get("missing_dependencies") or []
    ]
    ready = [
        t
        for t, v in tasks.items()
        if v.get("status") == "pending"
        and all((tasks.get(d) or {}).get("status") == _DONE for d in v.get("dependencies") or [])
    ]
    return Probes(single, typed, ready, _longest_chain_heads(tasks))


def _longest_chain_heads(tasks: dict[str, Any]) -> list[str]:
    unfinished = {t for t, v in tasks.items() if v.get("status") != _DONE}
    after: dict[str, list[str]] = {t: [] for t in unfinished}
    for t in unfinished:
        for d in tasks[t].get("dependencies") or []:
            if d in unfinished:
                after[d].append(t)

    @cache
    def height(t: str) -> int:
        return 1 + max((height(n) for n in after[t]), default=0)

    heights = {t: height(t) for t in unfinished}
    best = max(heights.values(), default=0)
    return [t for t, h in heights.items() if h == best and best > 0]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _pairs(node: Any) -> Iterator[tuple[str, str]]:
    """Every (id, type) tie the payload states, in any of the forms the table names."""
    if isinstance(node, str):
        tid, sep, kind = node.rpartition(": ")
        if sep:
            yield tid, kind
    elif isinstance(node, dict):
        if isinstance(node.get("task_id"), str) and isinstance(node.get("type"), str):
            yield node["task_id"], node["type"]
        yield from _grouped(node)
        for key, value in node.items():
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                yield from ((v, key) for v in value)  # {"Type": ["id", ...]}
            yield from _pairs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _pairs(value)


def _grouped(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    ids, groups = node.get("failed_tasks"), node.get("failure_types")
    if isinstance(ids, list) and isinstance(groups, list):
        kinds = [
            run[0]
            for run in groups
            if isinstance(run, list) and len(run) == 2 and isinstance(run[1], int)
            for _ in range(run[1])
        ]
        yield from zip(ids, kinds, strict=False)


def answer(text: str, probes: Probes) -> Answered:
    data = json.loads(text)
    strings = set(_strings(data))
    prefixes = {s.rpartition(": ")[0] for s in strings if ": " in s}
    pairs = set(_pairs(data))
    missing: dict[str, int] = {}
    answered = 0

    def tick(kind: str, ok: bool) -> None:
        nonlocal answered
        answered += ok
        if not ok:
            missing[kind] = missing.get(kind, 0) + 1

    for kind, wanted in probes.single:
        held = wanted in strings or wanted in prefixes
        if kind in ("decision", "missing dependency"):  # a prompt or name inside a sentence
            held = any(wanted in s for s in strings)
        tick(kind, held)
    for pair in probes.typed:
        tick("error type", pair in pairs)
    named = sum(t in strings for t in probes.ready)
    for k in range(1, min(NEXT_PROBES, len(probes.ready)) + 1):
        tick("next", named >= k)
    if probes.heads:
        tick("path head", any(t in strings for t in probes.heads))
    total = answered + sum(missing.values())
    return Answered(answered / total if total else 1.0, answered, total, missing)
