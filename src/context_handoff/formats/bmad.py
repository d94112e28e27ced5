"""BMAD's ``sprint-status.yaml`` (bmad-code-org/BMAD-METHOD: the sprint-planning
workflow of the bmm module, its sprint-status template).

``development_status:`` maps keys to statuses, in the sprint's order: ``epic-1`` (an
epic), ``1-2-account-settings`` (story 2 of epic 1) and ``epic-1-retrospective``.
Stories go backlog, drafted, ready-for-dev, in-progress, review, done; epics backlog
(or contexted), in-progress, done; retrospectives optional or done (completed).
Real files add blocked, deferred, cancelled and archived. The keys are the ids.

BMAD's agents take stories in the file's order: the developer the first story that is
ready-for-dev, the scrum master the first in drafted, then in backlog, to prepare. The
next stories are those, in that order; epics and retrospectives are not started by
hand, they follow their stories.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .. import validate
from ..errors import Problem
from ..model import Phase, Source, State, Task
from . import tasklist
from .base import NO, SURE, ReadOptions

name = "bmad"
label = "a BMAD sprint-status.yaml"
telltale = "a development_status mapping"  # what detect() is sure by
STATUS_MAP = {
    "backlog": "pending",
    "drafted": "pending",
    "ready-for-dev": "pending",
    "contexted": "pending",
    "in-progress": "running",
    "review": "running",
    "done": "done",
    "completed": "done",
    "optional": "skipped",
    "deferred": "skipped",
    "blocked": "blocked",
    "cancelled": "cancelled",
    "archived": "cancelled",
}
# The order BMAD's agents pick stories in: ready ones first, then those to prepare.
NEXT_WORDS = ("ready-for-dev", "drafted", "backlog")
_EPIC = re.compile(r"epic-(\w+)")
_RETRO = re.compile(r"epic-(\w+)-retrospective")
_STORY = re.compile(r"(\w+)-(\w+)(?:-.*)?")


def detect(document: Any) -> int:
    if not isinstance(document, dict):
        return NO
    status = document.get("development_status")
    return SURE if isinstance(status, dict) else NO


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    """Checked against schemas/bmad.schema.json (``context-handoff schema bmad``)."""
    return validate.find_problems(document, name, source)


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    keys = list(document["development_status"].items())
    clean = redact([key for key, _ in keys])
    tasks: dict[str, Task] = {}
    epics: dict[str, list[str]] = {}
    warnings: list[str] = []
    for key, (_, word) in zip(clean, keys, strict=True):
        task = _task(key, word)
        tasklist.add_task(tasks, task, f"development_status.{key}", warnings)
        if task.parent is not None:
            epics.setdefault(task.parent, []).append(task.id)
    for tid, task in tasks.items():
        if task.parent is not None and task.parent not in tasks:
            tasks[tid] = task._replace(parent=None)  # its epic has no line of its own
    for epic, stories in epics.items():
        if epic in tasks:
            tasks[epic] = tasks[epic]._replace(
                dependencies=tuple(s for s in stories if not _RETRO.fullmatch(s))
            )
    order = tuple(
        tid
        for word in NEXT_WORDS
        for tid, task in tasks.items()
        if task.source_status == word and task.parent is not None and not _RETRO.fullmatch(tid)
    )
    phases = tuple(Phase(epic, epic, (epic, *stories), None) for epic, stories in epics.items())
    project = document.get("project")
    return tasklist.build_state(
        tasklist.Parts(
            tasks,
            phases,
            order,
            project=redact([project])[0] if isinstance(project, str) else None,
            last_updated=tasklist.parse_time(document.get("generated")),
            warnings=tuple(warnings),
        ),
        source,
        name,
    )


def _task(key: str, word: str) -> Task:
    retro = _RETRO.fullmatch(key)
    if retro:
        epic = f"epic-{retro.group(1)}"
        return tasklist.make_task(
            key,
            f"Retrospective of {epic}",
            STATUS_MAP[word],
            word,
            dependencies=(epic,),
            parent=epic,
        )
    if _EPIC.fullmatch(key):
        return tasklist.make_task(key, key, STATUS_MAP[word], word)
    story = _STORY.fullmatch(key)
    parent = f"epic-{story.group(1)}" if story and "-" in key else None
    return tasklist.make_task(key, key, STATUS_MAP[word], word, parent=parent)
