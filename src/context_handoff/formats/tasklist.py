"""What the task-list formats share: a State from a list of tasks, stable ids, and the
checks on a Markdown checklist.

These formats (spec-kit, Kiro, beads, Backlog.md, BMAD, Ralph, Conductor) keep tasks,
statuses and sometimes dependencies; they keep no errors, decisions, files or
environment, so those parts of the State stay empty, and no task is ever "failed".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from .. import times
from ..errors import Problem
from ..load import FolderDocument
from ..markdown import Item, MarkdownDocument
from ..model import Phase, Source, State, Task
from ..times import as_utc

TASKS_FILE = "tasks.md"  # spec-kit's and Kiro's file, also in a spec folder


class Parts(NamedTuple):
    """What a reader found, before it becomes a State."""

    tasks: dict[str, Task]
    phases: tuple[Phase, ...] = ()
    next_order: tuple[str, ...] | None = None  # the format's own order of what to start
    project: str | None = None
    last_updated: datetime | None = None
    warnings: tuple[str, ...] = ()


def build_state(parts: Parts, source: Source, format_name: str) -> State:
    """The State of a task-list format."""
    return State(
        source=source,
        project=parts.project,
        last_updated=parts.last_updated,
        current_phase=_current_phase(parts),
        context_active=(),
        context_completed=(),
        context_failed=(),
        tasks=parts.tasks,
        phases=parts.phases,
        errors=(),
        decisions=(),
        files=(),
        disk=None,
        environment=None,
        redactions={},
        warnings=parts.warnings,
        format=format_name,
        next_order=parts.next_order,
    )


def _current_phase(parts: Parts) -> str | None:
    """The id of the first phase with unfinished work: where the work stands."""
    for phase in parts.phases:
        if any(
            parts.tasks[tid].status not in ("done", "skipped", "cancelled")
            for tid in phase.tasks
            if tid in parts.tasks
        ):
            return phase.id
    return None


def make_task(
    tid: str,
    name: str,
    status: str,
    word: str,
    *,
    dependencies: Iterable[str] = (),
    priority: str | None = None,
    parent: str | None = None,
    details: str | None = None,
) -> Task:
    return Task(
        id=tid,
        name=name or tid,
        status=status,
        dependencies=tuple(dict.fromkeys(dependencies)),
        dependents=(),
        error_type=None,
        error_message=None,
        started_at=None,
        completed_at=None,
        failed_at=None,
        priority=priority,
        source_status=word,
        parent=parent,
        details=details,
    )


def text_id(prefix: str, parent: str | None, text: str, seen: dict[str, int]) -> str:
    """An id for a task the file gives none: six hex digits of its text and its parent's
    id, after ``prefix``; the same on every run and wherever the task moves, so inserting
    or moving another task changes no other id. Only identical texts under one parent
    are told apart by their order (``-2``, ``-3``); ``seen`` counts them."""
    within = (parent or "").removeprefix(prefix)  # the same wherever the prefix differs
    digest = hashlib.sha256(f"{within}\0{text}".encode("utf-8", "surrogatepass"))
    base = f"{prefix}{digest.hexdigest()[:6]}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def add_task(tasks: dict[str, Task], task: Task, where: str, warnings: list[str]) -> None:
    if task.id in tasks:
        warnings.append(f"{where}: id {task.id} again; the first one is kept")
    else:
        tasks[task.id] = task


def no_checklist(source: str, document: MarkdownDocument, looked_for: str) -> list[Problem]:
    """The verdict on a Markdown file without the checklist a format needs."""
    found = len(document.checkboxes)
    what = (
        f"{found} checkbox item{'s' if found != 1 else ''} but none {looked_for}"
        if found
        else "no checklist items (`- [ ] ...`)"
    )
    return [Problem(source, "$", f"this Markdown file is no task list: {what}")]


def first_open(order: Sequence[str], tasks: dict[str, Task]) -> tuple[str, ...]:
    """The pending tasks of ``order``, in that order."""
    return tuple(tid for tid in order if tasks[tid].status == "pending")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (a date alone is midnight UTC; ``2025-03-01 10:00`` as Backlog.md
    writes it), or None when there is none or it is unreadable."""
    if not isinstance(value, (str, datetime)) or not str(value).strip():
        return None
    try:
        if isinstance(value, datetime):
            return as_utc(value)
        text = value.strip()
        parsed = times.parse_time(text.replace(" ", "T", 1) if " " in text else text)
        as_utc(parsed)  # one whose offset takes it past year 1 or 9999 is unreadable too
        return parsed
    except (ValueError, OverflowError):
        return None


def notes_by_item(document: MarkdownDocument) -> dict[int, list[str]]:
    """The plain (non-checkbox) items nested directly under each item: its notes."""
    notes: dict[int, list[str]] = {}
    for item in document.items:
        if item.mark is None and item.parent is not None:
            notes.setdefault(item.parent, []).append(item.text)
    return notes


def box_status(item: Item) -> tuple[str, str]:
    """Our status and the file's own word (the box as written) for a checkbox item."""
    mark = item.mark or " "
    word = f"[{mark}]" + ("*" if item.optional else "")
    return BOX_STATUS.get(mark, "pending"), word


# The boxes task files use: `[x]` done (GitHub's task lists), `[-]` in progress (Kiro),
# `[~]` in progress (Conductor), `[/]` in progress (a common extension).
BOX_STATUS = {
    " ": "pending",
    "x": "done",
    "X": "done",
    "-": "running",
    "~": "running",
    "/": "running",
}


def markdown_in(document: Any, name: str) -> MarkdownDocument | None:
    """The Markdown document itself, or a folder's file ``name`` (a spec folder's
    ``tasks.md``), parsed; None when there is none."""
    if isinstance(document, MarkdownDocument):
        return document
    if isinstance(document, FolderDocument) and name in document.files:
        parsed = document.parse(name)
        return parsed if isinstance(parsed, MarkdownDocument) else None
    return None


def redact_items(items: Sequence[Item], redact: Callable[[Any], Any]) -> list[Item]:
    """The items with their text and headings scrubbed: two calls, whatever their number."""
    texts = redact([item.text for item in items])
    paths = list(dict.fromkeys(item.headings for item in items))
    heads = list(dict.fromkeys(h for path in paths for h in path))
    clean = dict(zip(heads, redact(list(heads)), strict=True))
    cleaned = {path: tuple(clean[h] for h in path) for path in paths}
    return [
        item
        if text == item.text and cleaned[item.headings] == item.headings
        else Item(
            item.line,
            item.depth,
            item.mark,
            item.optional,
            text,
            cleaned[item.headings],
            item.parent,
        )
        for item, text in zip(items, texts, strict=True)
    ]


def in_sequence(
    tasks: dict[str, Task],
    children: dict[str, list[str]],
    left_out: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[str, ...]:
    """Tasks done one after another, in the file's order, sub-tasks before their parent:
    each task without sub-tasks waits for the one before it (``left_out`` ones, such as
    optional tasks, wait for nothing and hold nothing up), each parent for its sub-tasks.
    Sets the dependencies in ``tasks``; returns the open tasks that may start now."""
    previous: str | None = None
    for tid, task in tasks.items():
        kids = children.get(tid, [])
        waits = list(kids)
        if not kids and tid not in left_out:
            if previous is not None:
                waits.append(previous)
            previous = tid
        tasks[tid] = task._replace(dependencies=tuple(waits))
    return tuple(
        tid
        for tid, task in tasks.items()
        if task.status == "pending"
        and tid not in left_out
        and not children.get(tid)
        and all(tasks[dep].status in ("done", "skipped") for dep in task.dependencies)
    )


def descendants(tid: str, children: dict[str, list[str]]) -> list[str]:
    """Every task under ``tid``, depth first, in the file's order."""
    found: list[str] = []
    stack = list(reversed(children.get(tid, [])))
    while stack:
        kid = stack.pop()
        found.append(kid)
        stack.extend(reversed(children.get(kid, [])))
    return found


def check_checklist(
    document: Any, source: str, home: str, task: re.Pattern[str], looked_for: str
) -> list[Problem]:
    """The problems of a tasks.md checklist format: no tasks.md (``home`` says where the
    tool keeps it), or no checkbox item whose text ``task`` matches."""
    found = markdown_in(document, TASKS_FILE)
    if found is None:
        return [
            Problem(
                source,
                "$",
                f"no {TASKS_FILE} here: the tool keeps its tasks in {home}/{TASKS_FILE}",
            )
        ]
    if not any(task.match(item.text) for item in found.checkboxes):
        return no_checklist(source, found, looked_for)
    return []


def checklist_of(document: Any) -> MarkdownDocument:
    """The tasks.md of a checked document."""
    found = markdown_in(document, TASKS_FILE)
    if found is None:
        raise AssertionError("check() found a tasks.md")
    return found
