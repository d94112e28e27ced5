"""Ralph's ``prd.json`` (snarktank/ralph: prd.json.example and prompt.md), with the
``progress.txt`` the loop appends to beside it.

``{"project", "branchName", "description", "userStories": [...]}``; each story has
``id`` (``US-001``), ``title``, ``description``, ``acceptanceCriteria``, ``priority``
(1 is first), ``passes`` (true once done) and ``notes``; some files add ``dependsOn``.
A story is done when it passes and open otherwise: Ralph has no other status. Its
``notes``, else the last section of ``progress.txt`` (beside the file) that names it,
are its details.

Each iteration Ralph takes the story of highest priority (lowest number) whose
``passes`` is false; here also only once the stories it depends on pass. Ties keep the
file's order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import Problem
from ..model import Source, State, Task
from . import tasklist
from .base import MAYBE, NO, SURE, ReadOptions

name = "ralph"
label = "a Ralph prd.json"
PROGRESS = "progress.txt"  # beside prd.json: what each iteration did
PROGRESS_CHARS = 1_000_000  # read at most this much of it
telltale = "userStories with passes"  # what detect() is sure by


def detect(document: Any) -> int:
    if not isinstance(document, dict) or not isinstance(document.get("userStories"), list):
        return NO
    stories = [s for s in document["userStories"][:50] if isinstance(s, dict)]
    return SURE if not stories or any("passes" in s for s in stories) else MAYBE


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    """Checked against schemas/ralph.schema.json (``context-handoff schema ralph``)."""
    return validate.find_problems(document, name, source)


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    data = redact(
        {
            "project": document.get("project"),
            "progress": _progress(options.path),
            "stories": [
                {key: story.get(key) for key in ("id", "title", "dependsOn", "notes")}
                for story in document["userStories"]
            ],
        }
    )
    tasks: dict[str, Task] = {}
    warnings: list[str] = []
    pairs = zip(data["stories"], document["userStories"], strict=True)
    for index, (story, raw) in enumerate(pairs):
        tid = str(story["id"])
        word = "passes" if raw.get("passes") else "open"
        tasklist.add_task(
            tasks,
            tasklist.make_task(
                tid,
                story.get("title") or tid,
                "done" if raw.get("passes") else "pending",
                word,
                dependencies=story.get("dependsOn") or (),
                priority=None if raw.get("priority") is None else str(raw["priority"]),
            )._replace(details=_details(story, data["progress"])),
            f"userStories[{index}]",
            warnings,
        )
    project = data["project"]
    return tasklist.build_state(
        tasklist.Parts(
            tasks,
            next_order=_order(
                document["userStories"], [str(s["id"]) for s in data["stories"]], tasks
            ),
            project=project if isinstance(project, str) else None,
            warnings=tuple(warnings),
        ),
        source,
        name,
    )


def _progress(path: Path | None) -> str:
    """The progress.txt beside the prd.json (Ralph appends a section a story), or ""."""
    if path is None:
        return ""
    try:
        with open(path.parent / PROGRESS, encoding="utf-8", errors="replace") as handle:
            return handle.read(PROGRESS_CHARS)
    except OSError:  # none yet: Ralph writes it after its first story
        return ""


def _details(story: dict[str, Any], progress: str) -> str | None:
    """The story's notes, else the last progress.txt section that names it."""
    notes = story.get("notes")
    if isinstance(notes, str) and notes.strip():
        return " ".join(notes.split())
    tid = str(story["id"])
    sections = [
        part
        for part in re.split(r"\n(?=## )", progress)
        if part.startswith("## ") and tid in part.split("\n", 1)[0]
    ]
    return " ".join(sections[-1].split()) if sections else None


def _order(
    stories: list[dict[str, Any]], ids: list[str], tasks: dict[str, Task]
) -> tuple[str, ...]:
    """Open stories whose dependencies pass, highest priority (lowest number) first."""
    ranked = []
    for index, (story, tid) in enumerate(zip(stories, ids, strict=True)):
        task = tasks[tid]
        if task.status != "pending":
            continue
        if all(dep in tasks and tasks[dep].status == "done" for dep in task.dependencies):
            priority = story.get("priority")
            ranked.append(((priority is None, priority if priority is not None else 0, index), tid))
    return tuple(dict.fromkeys(tid for _, tid in sorted(ranked)))
