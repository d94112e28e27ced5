"""Backlog.md's ``backlog/`` folder (MrLesk/Backlog.md: src/types, src/markdown/parser.ts,
the ``backlog init`` config).

``backlog/config.yml`` names the project (``project_name``) and its statuses, in board
order (``statuses: ["To Do", "In Progress", "Done"]``; ``default_status`` for new
tasks). Each task is ``backlog/tasks/<id> - <title>.md``: YAML front matter (``id``,
``title``, ``status``, ``priority`` high/medium/low, ``dependencies``,
``parent_task_id``, ``created_date``, ``updated_date``, ``ordinal``) and Markdown
sections (description, acceptance criteria, implementation plan and notes: the notes,
else the plan, are the task's details). Drafts,
completed and archived tasks live in other folders and are not read, as ``backlog task
list`` does not list them.

With ``backlog init --config-location root``, the config is ``backlog.config.yml`` at
the project root, beside the tasks' folder (``backlog_directory``, e.g. ``.backlog/``);
it is read from there when the folder holds none. The ``tasks/`` folder itself may be
given as the state (its config is then the one above it).

Statuses: a status whose word is "Blocked" is blocked; otherwise the first of the
project's list is not started, the last is done, those between are in progress; a
status not in the list is kept as not started (the CLI lists it last). A task is
ready, as the CLI's ``isReady`` says, when it is not done
and every task it depends on is done. The CLI lists tasks by priority (high, medium,
low, none), then by id in numeric order (``TASK-2`` before ``TASK-10``, ``TASK-1.1``
after ``TASK-1``); the next tasks are the ready ones not yet started, in that order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from .. import load
from ..digests import short_digest
from ..errors import InputError, Problem
from ..load import FolderDocument, Loaded
from ..model import Source, State, Task
from . import tasklist
from .base import MAYBE, NO, SURE, ReadOptions, inside
from .front_matter import simple_front_matter

name = "backlog"
label = "a Backlog.md folder"
telltale = "tasks/*.md with YAML front matter"  # what detect() is sure by
CONFIG = "config.yml"
DEFAULT_STATUSES = ("To Do", "In Progress", "Done")
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
ROOT_CONFIG = "backlog.config.yml"  # `backlog init --config-location root`: beside the folder
_TASK_FILE = re.compile(r"(?:backlog/)?tasks/[^/]+\.md")
# the tasks/ folder itself given as the state: its files as Backlog.md names them
_OWN_TASK_FILE = re.compile(r"[^/]+-\d+(?:\.\d+)* - [^/]*\.md")
_BLOCKED = "blocked"  # a status of this word is blocked, wherever it is in the list
_NUMBERS = re.compile(r"\d+")
# What is read of each task (only these are scrubbed, and only they reach the State),
# in this order, then its notes.
_READ = (
    "id",
    "title",
    "status",
    "priority",
    "dependencies",
    "parent_task_id",
    "parent",
    "created_date",
    "updated_date",
)
_SECTIONS = tuple(
    (f"<!-- SECTION:{marker}:BEGIN -->", f"<!-- SECTION:{marker}:END -->")
    for marker in ("NOTES", "PLAN")
)
# Kept in FolderDocument.parsed (beside the files parsed, keyed by their paths): read once
# for check() and to_state().
_TASK_FILES = "\0backlog: task files"
_RECORDS = "\0backlog: task records"


class _Project(NamedTuple):
    name: str | None
    statuses: tuple[str, ...]


def detect(document: Any) -> int:
    if not isinstance(document, FolderDocument):
        return NO
    tasks = _task_files(document)
    config = _config_path(document)
    if tasks and any(document.files[p].startswith("---") for p in tasks[:20]):
        return SURE
    return MAYBE if config is not None and tasks else NO


def _task_files(document: FolderDocument) -> list[str]:
    found: list[str] | None = document.parsed.get(_TASK_FILES)
    if found is None:
        found = document.parsed[_TASK_FILES] = _find_task_files(document)
    return found


def _find_task_files(document: FolderDocument) -> list[str]:
    if document.root.name == "tasks":
        own = [path for path in document.files if _OWN_TASK_FILE.fullmatch(path)]
        if own:
            return own
    return [path for path in document.files if _TASK_FILE.fullmatch(path)]


def _records(document: FolderDocument) -> list[tuple[Any, ...] | Problem]:
    """Each task file's fields (``_READ``, then its notes), or the problem that stops it
    being read: each file is parsed once, for check() and to_state() both."""
    found: list[tuple[Any, ...] | Problem] | None = document.parsed.get(_RECORDS)
    if found is None:
        found = document.parsed[_RECORDS] = [
            _record(document, path) for path in _task_files(document)
        ]
    return found


def _record(document: FolderDocument, path: str) -> tuple[Any, ...] | Problem:
    """The front matter Backlog.md writes is read at once; any other, by the YAML parser.
    Only the fields read are kept."""
    text = document.files[path]
    front = simple_front_matter(text)
    if front is None:
        try:
            front = document.front_matter(path)
        except InputError as exc:
            where = f"{document.root / path}"
            return Problem(where, "$", exc.message.removeprefix(where).lstrip(": "))
    if not isinstance(front, dict):
        return Problem(f"{document.root / path}", "$", "no YAML front matter (--- id: ... ---)")
    if not isinstance(front.get("id"), (str, int)) or isinstance(front["id"], bool):
        return Problem(f"{document.root / path}", "$.id", "'id' is a required string")
    if not isinstance(front.get("dependencies") or [], list):
        return Problem(f"{document.root / path}", "$.dependencies", "a list of task ids")
    return (*map(front.get, _READ), _section(text))


def _config_path(document: FolderDocument) -> str | None:
    for path in (CONFIG, f"backlog/{CONFIG}"):
        if path in document.files:
            return path
    return None


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    if not isinstance(document, FolderDocument):
        return [
            Problem(
                source,
                "$",
                "Backlog.md keeps its tasks in a folder: name the backlog/ folder with --state",
            )
        ]
    problems = [record for record in _records(document) if isinstance(record, Problem)]
    if not _task_files(document):
        problems.append(Problem(source, "$", "no tasks/*.md in this folder"))
    return problems


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    outside = outside_config(document, options.root)
    project = _project(document, outside)
    paths = _task_files(document)
    columns = _columns(document, redact)
    statuses, known = project.statuses, dict[str, str]()
    tasks: dict[str, Task] = {}
    warnings: list[str] = []
    for path, fields in zip(paths, zip(*columns, strict=True), strict=True):
        tasklist.add_task(tasks, _task(fields, statuses, known), path, warnings)
    return tasklist.build_state(
        tasklist.Parts(
            tasks,
            next_order=_next_order(tasks),
            project=redact([project.name])[0],
            last_updated=_last_updated(columns),
            warnings=tuple(warnings),
        ),
        _with_config(source, outside),
        name,
    )


def _columns(document: FolderDocument, redact: Callable[[Any], Any]) -> list[list[Any]]:
    """Each field read (``_READ``, then the notes), a list of every task's value, scrubbed:
    only the fields read reach the State, so only they are scrubbed (a field no task has
    is left out of the scrubbing)."""
    records = _records(document)
    columns = [list(column) for column in zip(*records, strict=True)] if records else []
    columns = columns or [[] for _ in range(len(_READ) + 1)]
    redact([column for column in columns if column.count(None) < len(column)])  # in place
    return columns


def _next_order(tasks: dict[str, Task]) -> tuple[str, ...]:
    """The ready tasks not yet started, as the CLI lists them."""
    ready = [
        tid
        for tid, task in tasks.items()
        if task.status == "pending"
        and all(
            tasks.get(dep) is not None and tasks[dep].status == "done" for dep in task.dependencies
        )
    ]
    ready.sort(key=lambda tid: (PRIORITY_RANK.get(tasks[tid].priority or "", 3), _id_key(tid)))
    return tuple(ready)


def _last_updated(columns: list[list[Any]]) -> datetime | None:
    """The newest time a task was updated (else created); each distinct text read once."""
    created, updated = (columns[_READ.index(key)] for key in ("created_date", "updated_date"))
    given = (new or old for new, old in zip(updated, created, strict=True))
    # a list or a map there is no time (nor hashable): unread, as any unreadable time
    times = map(tasklist.parse_time, {v for v in given if isinstance(v, (str, datetime))})
    return max((t for t in times if t is not None), default=None)


def _project(document: FolderDocument, outside: Loaded | None) -> _Project:
    path = _config_path(document)
    config = document.parse(path) if path is not None else outside and outside.document
    config = config if isinstance(config, dict) else {}
    listed = config.get("statuses")
    statuses = (
        tuple(str(s) for s in listed) if isinstance(listed, list) and listed else DEFAULT_STATUSES
    )
    project = config.get("project_name")
    return _Project(project if isinstance(project, str) else None, statuses)


def outside_config(document: FolderDocument, root: Path | None) -> Loaded | None:
    """The config kept outside the folder read, when it holds none: ``backlog.config.yml``
    at the project root (``--config-location root``, tasks in ``.backlog/`` or another
    folder), or the backlog folder's ``config.yml`` when its ``tasks/`` folder is the
    state. Never one outside ``root`` (the web API's state root)."""
    if _config_path(document) is not None:
        return None
    folder = document.root
    candidates = [folder.parent / ROOT_CONFIG]
    if folder.name == "tasks":
        candidates = [folder.parent / CONFIG, folder.parent.parent / ROOT_CONFIG]
    for candidate in candidates:
        if root is not None and not inside(candidate, root):
            continue
        if candidate.is_file():
            return load.load_document(candidate)
    return None


def state_source(document: FolderDocument, source: Source, root: Path | None) -> Source:
    """Where a Backlog.md folder's state came from: the folder's digest, with that of the
    config read from outside it folded in (a change to the config alone is a new state)."""
    return _with_config(source, outside_config(document, root))


def _with_config(source: Source, config: Loaded | None) -> Source:
    if config is None:
        return source
    return source._replace(digest=short_digest(f"{source.digest}\0{config.source.digest}"))


def _section(text: str) -> str | None:
    """The task's implementation notes, else its plan: between Backlog.md's section
    markers (``<!-- SECTION:NOTES:BEGIN -->``), as its CLI writes them."""
    for begin, end in _SECTIONS:
        start = text.find(begin)
        if start < 0:
            continue
        stop = text.find(end, start + len(begin))
        if stop >= 0 and text[start + len(begin) : stop].strip():
            return " ".join(text[start + len(begin) : stop].split())
    return None


def _task(fields: tuple[Any, ...], statuses: tuple[str, ...], known: dict[str, str]) -> Task:
    """A task from its fields; ``known``: our status of each status word met so far."""
    tid, title, word, priority, dependencies, parent_id, parent, _, _, notes = fields
    tid = str(tid)
    word = str(word or statuses[0])
    status = known.get(word)
    if status is None:
        status = known[word] = _status(word, statuses)
    parent = parent_id or parent
    task = tasklist.make_task(
        tid,
        str(title or tid),
        status,
        word,
        dependencies=map(str, dependencies or ()),
        priority=str(priority).lower() if priority else None,
        parent=str(parent) if parent else None,
    )
    return task if notes is None else task._replace(details=notes)


def _status(word: str, statuses: tuple[str, ...]) -> str:
    if word.strip().casefold() == _BLOCKED:
        return "blocked"
    if word == statuses[-1]:
        return "done"
    return "running" if word in statuses[1:-1] else "pending"


def _id_key(tid: str) -> tuple[Any, ...]:
    """``TASK-2`` before ``TASK-10``, ``TASK-1`` before ``TASK-1.1``: by its numbers.
    Digit strings of any length compare by length, then text (never as ``int``)."""
    return tuple((len(part.lstrip("0")), part.lstrip("0")) for part in _NUMBERS.findall(tid))
