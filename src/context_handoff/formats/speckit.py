"""spec-kit's ``specs/<feature>/tasks.md`` (GitHub's spec-kit, templates/tasks-template.md).

Checklist lines ``- [ ] T001 [P] [US1] description`` under phase headings (``## Phase 1:
Setup``, ``## Phase 3: User Story 1 ...``): the task id, an optional ``[P]`` (may run
in parallel: other files, no dependency on unfinished tasks), an optional story label,
then the description. ``[x]`` or ``[X]`` is done, ``[ ]`` open.

The next task is spec-kit's own order (its implement command): phase by phase, each
phase finished before the next; within a phase, a task without ``[P]`` waits for every
task above it, a ``[P]`` task only for the last task above it without ``[P]``. The
dependencies carry exactly that, so the tasks to start next are those open tasks whose
dependencies are done, in the file's order.
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

name = "speckit"
label = "a spec-kit tasks.md"
telltale = "checklist lines with task ids such as `- [ ] T001`"  # what detect() is sure by
FILE = tasklist.TASKS_FILE
_TASK = re.compile(r"(T\d+)\b[ \t]*((?:\[[^\]\s]*\][ \t]*)*)(.*)", re.DOTALL)
_LABEL = re.compile(r"\[([^\]\s]*)\]")


def detect(document: Any) -> int:
    found = tasklist.markdown_in(document, FILE)
    if found is None:
        return NO
    boxes = found.checkboxes
    if any(_TASK.match(item.text) for item in boxes[:200]):
        return SURE
    return MAYBE if boxes and any("phase" in h.text.lower() for h in found.headings) else NO


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    return tasklist.check_checklist(
        document, source, "specs/<feature>", _TASK, "with a task id (`- [ ] T001 ...`)"
    )


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    return tasklist.build_state(_read(tasklist.checklist_of(document), redact), source, name)


def _read(found: MarkdownDocument, redact: Callable[[Any], Any]) -> tasklist.Parts:
    tasks: dict[str, Task] = {}
    warnings: list[str] = []
    phases: dict[str, list[str]] = {}
    gate = _Gate()
    current: str | None = None
    for item in tasklist.redact_items(found.checkboxes, redact):
        match = _TASK.match(item.text)
        if match is None:
            continue
        phase = _phase_of(item)
        if phase != current:
            gate.new_phase()
            current = phase
        task = _task(item, match, gate)
        before = len(tasks)
        tasklist.add_task(tasks, task, f"line {item.line}", warnings)
        if len(tasks) > before:
            phases.setdefault(phase, []).append(task.id)
    records = tuple(Phase(title, title, tuple(ids), None) for title, ids in phases.items())
    order = tuple(
        tid
        for tid, task in tasks.items()
        if task.status == "pending"
        and all(tasks[dep].status == "done" for dep in task.dependencies)
    )
    return tasklist.Parts(tasks, records, order, warnings=tuple(warnings))


def _phase_of(item: Item) -> str:
    """The heading a task is under: the phase (level 2) rather than its subsection."""
    return (
        item.headings[1]
        if len(item.headings) > 1
        else (item.headings[0] if item.headings else "Tasks")
    )


class _Gate:
    """spec-kit's order as dependencies: which tasks the next one waits for."""

    def __init__(self) -> None:
        self.barrier: tuple[str, ...] = ()  # what a [P] task waits for
        self.frontier: list[str] = []  # what a task without [P] waits for

    def new_phase(self) -> None:
        self.barrier = tuple(self.frontier)

    def place(self, tid: str, parallel: bool) -> tuple[str, ...]:
        if parallel:
            self.frontier.append(tid)
            return self.barrier
        waits = tuple(self.frontier)
        self.barrier, self.frontier = (tid,), [tid]
        return waits


def _task(item: Item, match: re.Match[str], gate: _Gate) -> Task:
    """A task: its id, its name (the description, after any story label) and the
    tasks it waits for."""
    tid = match.group(1)
    labels = _LABEL.findall(match.group(2))
    story = next((lab for lab in labels if lab != "P"), None)
    status, word = tasklist.box_status(item)
    text = match.group(3).strip()
    waits = gate.place(tid, "P" in labels)
    named = f"[{story}] {text}" if story else text
    return tasklist.make_task(tid, named or tid, status, word, dependencies=waits)
