"""Kiro's ``.kiro/specs/<feature>/tasks.md`` (Kiro's spec workflow: requirements.md,
design.md, tasks.md).

An implementation plan of numbered checklist items, ``- [ ] 1. title`` with sub-tasks
nested under them (``- [ ] 1.1 title``); plain bullets under a task are its details,
``_Requirements: 1.1, 2.3_`` among them. ``[x]`` is done, ``[-]`` in progress, ``[ ]``
not started; ``[ ]*`` marks an optional task (Kiro leaves it out unless asked).

Kiro works through the plan in order, sub-tasks before their parent: the next task is
the first open, non-optional task without open sub-tasks, in the file's order. Each
such task here waits for the one before it, and a parent for its sub-tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import Problem
from ..markdown import Item, MarkdownDocument
from ..model import Phase, Source, State, Task
from . import tasklist
from .base import MAYBE, NO, SURE, ReadOptions

name = "kiro"
label = "a Kiro tasks.md"
# what detect() is sure by
telltale = "a numbered checklist with Kiro's `[-]`, `[ ]*` or `_Requirements:_`"
FILE = tasklist.TASKS_FILE
_NUMBERED = re.compile(r"(\d+(?:\.\d+)*)\.?(?:[ \t]+|$)(.*)", re.DOTALL)
_REQUIREMENTS = re.compile(r"_Requirements?:", re.IGNORECASE)


def detect(document: Any) -> int:
    found = tasklist.markdown_in(document, FILE)
    if found is None:
        return NO
    boxes = found.checkboxes[:200]
    numbered = sum(1 for item in boxes if _NUMBERED.match(item.text))
    if not numbered:
        return NO
    kiro_marks = any(item.mark == "-" or item.optional for item in boxes)
    requirements = _REQUIREMENTS.search(found.text[:200_000]) is not None
    return SURE if kiro_marks or requirements else MAYBE


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    return tasklist.check_checklist(
        document, source, ".kiro/specs/<feature>", _NUMBERED, "numbered (`- [ ] 1. ...`)"
    )


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    return tasklist.build_state(_read(tasklist.checklist_of(document), redact), source, name)


def _read(found: MarkdownDocument, redact: Callable[[Any], Any]) -> tasklist.Parts:
    items = tasklist.redact_items(found.items, redact)
    notes = tasklist.notes_by_item(found._replace(items=tuple(items)))
    ids: dict[int, str] = {}  # item index -> task id
    tasks: dict[str, Task] = {}
    children: dict[str, list[str]] = {}
    warnings: list[str] = []
    optional: set[str] = set()
    for index, item in enumerate(items):
        match = _NUMBERED.match(item.text) if item.mark is not None else None
        if match is None:
            continue
        tid = match.group(1)
        parent = _parent(item, items, ids, tid, tasks)
        status, word = tasklist.box_status(item)
        if item.optional and status == "pending":
            status = "skipped"  # optional: not started unless someone asks for it
        if tid in tasks:
            warnings.append(f"line {item.line}: id {tid} again; the first one is kept")
            continue
        ids[index] = tid
        tasks[tid] = tasklist.make_task(
            tid,
            match.group(2).strip() or tid,
            status,
            word,
            parent=parent,
            details="; ".join(notes.get(index, ())) or None,
        )
        if item.optional:
            optional.add(tid)
        if parent is not None:
            children.setdefault(parent, []).append(tid)
    return _ordered(tasks, children, optional, warnings)


def _parent(
    item: Item, items: list[Item], ids: dict[int, str], tid: str, tasks: dict[str, Task]
) -> str | None:
    """The enclosing numbered task, else the number's prefix (``2`` for ``2.1``) when
    that task is listed flat above it."""
    up = item.parent
    while up is not None:
        if up in ids:
            return ids[up]
        up = items[up].parent
    prefix = tid.rpartition(".")[0]
    return prefix if prefix and prefix in tasks else None


def _ordered(
    tasks: dict[str, Task], children: dict[str, list[str]], optional: set[str], warnings: list[str]
) -> tasklist.Parts:
    """Kiro's order as dependencies; the top-level tasks are the phases."""
    order = tasklist.in_sequence(tasks, children, optional)
    phases = tuple(
        Phase(tid, task.name, (tid, *tasklist.descendants(tid, children)), None)
        for tid, task in tasks.items()
        if task.parent is None
    )
    return tasklist.Parts(tasks, phases, order, warnings=tuple(warnings))
