"""Task Master's ``.taskmaster/tasks/tasks.json`` (npm ``task-master-ai``).

Two layouts: ``{"tasks": [...], "metadata": {...}}``, and one such object per tag,
``{"master": {...}, "feature-x": {...}}``. The tag read: ``--tag``, else ``currentTag``
in ``.taskmaster/state.json`` beside the file, else ``master`` (the first tag when
there is no ``master``, as Task Master does).

Ids are whole numbers (``1.0`` is ``1``, as in JavaScript) or strings of digits of
any length (ordered as the CLI orders them, as JavaScript numbers); a
subtask's id is ``<parent>.<its id>``, whatever its id is: the CLI reads a subtask
``"7.1"`` of task 7 as ``7.7.1``. In a
subtask's dependencies a bare number means a sibling and a dotted string a full id.
Statuses map onto ours (the original word is kept in ``Task.source_status``):
pending; in-progress and review are running; done and completed are done; deferred
is skipped; cancelled; blocked. There is no failed status and no error field.

The tasks to start next are Task Master's own choice (``task-master next``): subtasks
of in-progress parents first, then top-level tasks; see :func:`next_order`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from .. import validate
from ..errors import InputError, Problem
from ..model import Source, State, Task
from ..times import check_calendar, parse_time
from .base import MAYBE, NO, SURE, ReadOptions, inside

name = "taskmaster"
label = "a Task Master tasks.json"

DEFAULT_TAG = "master"
STATUS_MAP = {
    "pending": "pending",
    "in-progress": "running",
    "review": "running",  # built, waiting for review: still open work
    "done": "done",
    "completed": "done",
    "deferred": "skipped",  # put off: not to be started now
    "cancelled": "cancelled",
    "blocked": "blocked",
}
# `task-master next`: an unknown or missing priority ranks as medium.
PRIORITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
_NOT_TAGS = frozenset({"tasks", "metadata"})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Selection(NamedTuple):
    tag: str
    data: Any  # {"tasks": [...], "metadata": {...}}: what the schema checks
    json_path: str  # where ``data`` is in the file
    tags: tuple[str, ...]  # every tag in the file


telltale = "its tasks a list, or in tags"  # what detect() is sure by


def detect(document: Any) -> int:
    if not isinstance(document, dict):
        return NO
    if isinstance(document.get("tasks"), list) or _tag_names(document):
        return SURE
    holders = [v for k, v in document.items() if k not in _NOT_TAGS and isinstance(v, dict)]
    return MAYBE if holders and all("tasks" in v for v in holders) else NO


def _tag_names(document: dict[str, Any]) -> list[str]:
    return [
        key
        for key, value in document.items()
        if key not in _NOT_TAGS and isinstance(value, dict) and isinstance(value.get("tasks"), list)
    ]


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    if not isinstance(document, dict):
        return validate.find_problems(document, name, source)
    chosen = _select(document, source, options)
    problems = validate.find_problems(chosen.data, name, source)
    return [p._replace(path=chosen.json_path + p.path[1:]) for p in problems]


def _select(document: dict[str, Any], source: str, options: ReadOptions) -> _Selection:
    tags = _tag_names(document)
    if not tags and not _looks_tagged(document):
        if options.tag not in (None, DEFAULT_TAG):
            raise InputError(
                f"--tag {options.tag}: {source} has no tags (all its tasks are in {DEFAULT_TAG!r})"
            )
        return _Selection(DEFAULT_TAG, document, "$", (DEFAULT_TAG,))
    wanted, origin = _wanted_tag(options)
    if wanted in document and wanted not in _NOT_TAGS:
        tag = wanted
    elif origin == "default" and tags:
        tag = tags[0]  # no master: Task Master reads the first tag
    else:
        listed = ", ".join(map(repr, tags)) or "none"
        raise InputError(f"{source}: no tag {wanted!r} ({origin}); the tags in it: {listed}")
    return _Selection(tag, document[tag], _json_path(tag), tuple(tags or [tag]))


def _looks_tagged(document: dict[str, Any]) -> bool:
    """Tags whose tasks are not a list: read as tags, so problems name the tag."""
    return "tasks" not in document and any(
        isinstance(value, dict) and "tasks" in value
        for key, value in document.items()
        if key not in _NOT_TAGS
    )


def _json_path(key: str) -> str:
    return f"$.{key}" if _PLAIN_KEY.fullmatch(key) else f"$[{json.dumps(key)}]"


def _wanted_tag(options: ReadOptions) -> tuple[str, str]:
    if options.tag:
        return options.tag, "--tag"
    state_file = _state_file(options.path, options.root)
    if state_file is not None:
        try:
            current = json.loads(state_file.read_text(encoding="utf-8")).get("currentTag")
        except (OSError, ValueError, AttributeError):
            current = None  # unreadable: Task Master itself falls back to master
        if isinstance(current, str) and current:
            return current, f"currentTag in {state_file}"
    return DEFAULT_TAG, "default"


def _state_file(path: Path | None, root: Path | None = None) -> Path | None:
    """``.taskmaster/state.json`` for ``.taskmaster/tasks/tasks.json``; else a state.json
    beside the file. With a ``root`` (the web API's state root), none outside it."""
    if path is None:
        return None
    folder = path.parent
    candidates = [folder.parent / "state.json"] if folder.name == "tasks" else []
    candidates.append(folder / "state.json")
    if root is not None:
        candidates = [c for c in candidates if inside(c, root)]
    return next((c for c in candidates if c.is_file()), None)


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    chosen = _select(document, source.name, options)
    data = redact(chosen.data)
    tags = tuple(redact(list(chosen.tags)))  # names, not fields: only patterns apply
    warnings: list[str] = []
    tasks = _tasks(data["tasks"], warnings)
    meta = data.get("metadata") or {}
    return State(
        source=source,
        project=_text(meta.get("projectName")) or _text(meta.get("project_name")),
        last_updated=_time(meta.get("updated") or meta.get("lastModified"), warnings, source.name),
        current_phase=None,
        context_active=tuple(t.id for t in tasks.values() if t.source_status == "in-progress"),
        context_completed=(),
        context_failed=(),
        tasks=tasks,
        phases=(),
        errors=(),
        decisions=(),
        files=(),
        disk=None,
        environment=None,
        redactions={},
        warnings=tuple(warnings),
        format=name,
        tag=redact([chosen.tag])[0],
        tags=tags,
        next_order=next_order(data["tasks"]),
    )


def _tasks(raw_tasks: list[dict[str, Any]], warnings: list[str]) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for index, raw in enumerate(raw_tasks):
        tid = _id(raw["id"])
        _add(tasks, _task(raw, tid), f"tasks[{index}]", warnings)
        for sub_index, sub in enumerate(raw.get("subtasks") or ()):
            _add(tasks, _subtask(sub, raw, tid), f"tasks[{index}].subtasks[{sub_index}]", warnings)
    return tasks


def _add(tasks: dict[str, Task], task: Task, where: str, warnings: list[str]) -> None:
    if task.id in tasks:
        warnings.append(f"{where}: id {task.id} again; the first one is kept")
    else:
        tasks[task.id] = task


def _task(raw: dict[str, Any], tid: str) -> Task:
    subtask_ids = tuple(f"{tid}.{_id(sub['id'])}" for sub in raw.get("subtasks") or ())
    return Task(
        id=tid,
        name=raw.get("title") or raw.get("description") or f"Task {tid}",
        status=STATUS_MAP[raw["status"]],
        # A parent is finished with its subtasks: they come before it on the critical path.
        dependencies=tuple(dict.fromkeys([*map(_id, raw.get("dependencies") or ()), *subtask_ids])),
        dependents=(),
        error_type=None,
        error_message=None,
        started_at=None,
        completed_at=None,
        failed_at=None,
        priority=raw.get("priority"),
        source_status=raw["status"],
    )


def _subtask(sub: dict[str, Any], parent: dict[str, Any], parent_id: str) -> Task:
    sid = f"{parent_id}.{_id(sub['id'])}"
    status = sub.get("status") or "pending"
    return Task(
        id=sid,
        name=sub.get("title") or sub.get("description") or f"Subtask {sid}",
        status=STATUS_MAP[status],
        dependencies=tuple(
            dict.fromkeys(
                _subtask_dependency(parent_id, dep) for dep in sub.get("dependencies") or ()
            )
        ),
        dependents=(),
        error_type=None,
        error_message=None,
        started_at=None,
        completed_at=None,
        failed_at=None,
        priority=sub.get("priority") or parent.get("priority"),
        source_status=status,
        parent=parent_id,
    )


def _id(value: float | str) -> str:
    """An id as Task Master's CLI writes it: ``1.0`` is ``1`` (JavaScript has one kind
    of number), a string stays as it is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number_key(value: float | str) -> float:
    """An id as the number Task Master's CLI compares (JavaScript's ``Number``): a
    double, never ``int()``; ids past 1e308 are all infinite, so equal, and keep the
    file's order between them, as they do in the CLI."""
    try:
        return float(_id(value))
    except ValueError:  # not a number at all: after every number
        return math.inf


def _subtask_dependency(parent_id: str, dep: float | str) -> str:
    """A bare number is a sibling; a dotted string is a full id."""
    if isinstance(dep, str) and "." in dep:
        return dep
    return f"{parent_id}.{_id(dep)}"


def next_order(raw_tasks: list[dict[str, Any]]) -> tuple[str, ...]:
    """The tasks to start next, best first; the first is what ``task-master next`` picks.

    Only pending, in-progress and done tasks take part, and only ``done`` counts as
    done. First the subtasks of in-progress parents whose own status is pending or
    in-progress and whose dependencies are done (the parent's are not consulted);
    then top-level pending or in-progress tasks whose dependencies are all done (a
    subtask dependency counts when that subtask is done). Each group is ordered by
    priority (critical, high, medium or unknown, low), then fewer dependencies, then id.
    """
    listed = [raw for raw in raw_tasks if raw["status"] in ("pending", "in-progress", "done")]
    done = _done_ids(listed)
    subtasks: list[tuple[tuple[Any, ...], str]] = []
    for parent in listed:
        if parent["status"] != "in-progress":
            continue
        pid = _id(parent["id"])
        for sub in parent.get("subtasks") or ():
            if (sub.get("status") or "pending") not in ("pending", "in-progress"):
                continue
            deps = [_subtask_dependency(pid, dep) for dep in sub.get("dependencies") or ()]
            if all(dep in done for dep in deps):
                priority = sub.get("priority") or parent.get("priority") or "medium"
                key = (-_rank(priority), len(deps), _number_key(pid), _number_key(sub["id"]))
                subtasks.append((key, f"{pid}.{_id(sub['id'])}"))
    tops: list[tuple[tuple[Any, ...], str]] = []
    for raw in listed:
        deps = [_id(dep) for dep in raw.get("dependencies") or ()]
        if raw["status"] != "done" and all(dep in done for dep in deps):
            rank = (-_rank(raw.get("priority")), len(deps), _number_key(raw["id"]))
            tops.append((rank, _id(raw["id"])))
    return tuple(tid for _, tid in _stable_sorted(subtasks)) + tuple(
        tid for _, tid in _stable_sorted(tops)
    )


def _stable_sorted(items: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    return sorted(items, key=lambda item: item[0])  # ties keep the file's order


def _done_ids(listed: list[dict[str, Any]]) -> set[str]:
    done = set()
    for raw in listed:
        tid = _id(raw["id"])
        if raw["status"] == "done":
            done.add(tid)
        done.update(
            f"{tid}.{_id(sub['id'])}"
            for sub in raw.get("subtasks") or ()
            if sub.get("status") == "done"
        )
    return done


def _rank(priority: Any) -> int:
    return PRIORITY_RANK.get(priority, 2) if isinstance(priority, str) else 2


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any, warnings: list[str], name: str) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_time(value)
    except ValueError:
        warnings.append(f"metadata.updated: unreadable time {value[:40]!r}, treated as unknown")
        return None
    return check_calendar(parsed, f"{name}::$.metadata.updated")
