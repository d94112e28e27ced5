"""beads' ``.beads/issues.jsonl`` (steveyegge/beads: internal/types/types.go, the ready
query in internal/storage).

One issue a line: ``id``, ``title``, ``status`` (open, in_progress, blocked, deferred,
closed; also pinned, hooked, tombstone), ``priority`` 0 (highest) to 4, ``issue_type``,
``dependencies`` (each ``{"issue_id", "depends_on_id", "type"}``; ``blocks`` and
``parent-child`` order the work, ``related`` and ``discovered-from`` only link),
``notes``, ``close_reason``, ``defer_until``, ``created_at`` / ``updated_at``.

Ready, as ``bd ready`` defines it: open or in progress, not pinned or ephemeral, not
deferred to a later time (nor a child of such a parent), and not blocked: an issue is
blocked when one of its ``blocks`` dependencies is not closed, and so is every issue
under a blocked one through ``parent-child`` links (a dependency on an issue not in
the file blocks nothing). ``bd ready``'s default order is
"hybrid": issues created within 48 hours of now first, by priority; older ones oldest
first; then by id. Now, for a file, is its newest ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .. import validate
from ..errors import Problem
from ..model import Source, State, Task
from . import tasklist
from .base import MAYBE, NO, SURE, ReadOptions

name = "beads"
label = "a beads issues.jsonl"
telltale = "one issue a line with beads' fields"  # what detect() is sure by
STATUS_MAP = {
    "open": "pending",
    "in_progress": "running",
    "blocked": "blocked",
    "deferred": "skipped",
    "closed": "done",
    "pinned": "pending",
    "hooked": "running",
    "tombstone": "cancelled",
}
RECENT = timedelta(hours=48)
_FIELDS = frozenset(
    {"issue_type", "priority", "created_at", "dependencies", "close_reason", "acceptance_criteria"}
)


def detect(document: Any) -> int:
    if not isinstance(document, list) or not document:
        return NO
    sample = [line for line in document[:50] if isinstance(line, dict)]
    if not sample or len(sample) < min(len(document), 50):
        return NO
    if all("id" in issue and "status" in issue for issue in sample):
        return SURE if any(_FIELDS & issue.keys() for issue in sample) else MAYBE
    return NO


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    """Checked against schemas/beads.schema.json (``context-handoff schema beads``)."""
    return validate.find_problems(document, name, source)


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    issues = redact(document)
    tasks: dict[str, Task] = {}
    warnings: list[str] = []
    for index, issue in enumerate(issues):
        tasklist.add_task(tasks, _task(issue), f"line {index + 1}", warnings)
    for task in list(tasks.values()):  # an epic is finished with its children
        if task.parent in tasks:
            parent = tasks[task.parent]
            tasks[parent.id] = parent._replace(dependencies=(*parent.dependencies, task.id))
    times = [tasklist.parse_time(i.get("updated_at") or i.get("created_at")) for i in issues]
    now = max((t for t in times if t is not None), default=None)
    return tasklist.build_state(
        tasklist.Parts(
            tasks, next_order=ready_order(issues, now), last_updated=now, warnings=tuple(warnings)
        ),
        source,
        name,
    )


def _task(issue: dict[str, Any]) -> Task:
    word = issue.get("status", "open")
    links = issue.get("dependencies") or ()
    deps = [d["depends_on_id"] for d in links if d.get("type", "blocks") == "blocks"]
    parent = next((d["depends_on_id"] for d in links if d.get("type") == "parent-child"), None)
    priority = issue.get("priority")
    reason = issue.get("close_reason")
    details = issue.get("notes") or (f"closed: {reason}" if reason else None)
    return tasklist.make_task(
        issue["id"],
        issue.get("title") or issue["id"],
        STATUS_MAP[word],
        word,
        dependencies=deps,
        parent=parent,
        priority=f"P{priority}" if isinstance(priority, int) else None,
    )._replace(details=details if isinstance(details, str) else None)


def ready_order(issues: list[dict[str, Any]], now: datetime | None) -> tuple[str, ...]:
    """``bd ready``: the unblocked open and in-progress issues, in its hybrid order."""
    by_id = {issue["id"]: issue for issue in issues}
    blocked = _blocked(issues, by_id, now)
    ready = [
        issue
        for issue in issues
        if issue.get("status", "open") in ("open", "in_progress")
        and issue["id"] not in blocked
        and not issue.get("pinned")
        and not issue.get("ephemeral")
        and not _deferred(issue, now)
    ]
    return tuple(issue["id"] for issue in sorted(ready, key=lambda i: _rank(i, now)))


def _blocked(issues: list[dict[str, Any]], by_id: dict[str, Any], now: datetime | None) -> set[str]:
    children: dict[str, list[str]] = {}
    blocked: set[str] = set()
    for issue in issues:
        for dep in issue.get("dependencies") or ():
            kind, target = dep.get("type", "blocks"), dep["depends_on_id"]
            if kind == "parent-child":
                children.setdefault(target, []).append(issue["id"])
                if _deferred(by_id.get(target) or {}, now):
                    blocked.add(issue["id"])  # a deferred parent holds its children
            elif (
                kind == "blocks"
                and target in by_id
                and by_id[target].get("status", "open") not in ("closed", "tombstone")
            ):
                blocked.add(issue["id"])
    stack = list(blocked)
    while stack:  # a blocked parent blocks everything under it
        for kid in children.get(stack.pop(), ()):
            if kid not in blocked:
                blocked.add(kid)
                stack.append(kid)
    return blocked


def _deferred(issue: dict[str, Any], now: datetime | None) -> bool:
    until = tasklist.parse_time(issue.get("defer_until"))
    return until is not None and (now is None or until > now)


def _rank(issue: dict[str, Any], now: datetime | None) -> tuple[Any, ...]:
    created = tasklist.parse_time(issue.get("created_at"))
    stamp = created.timestamp() if created else 0.0
    priority = issue.get("priority") if isinstance(issue.get("priority"), int) else 2
    recent = created is not None and now is not None and created >= now - RECENT
    if recent:
        return (0, priority, stamp, issue["id"])
    return (1, 0, stamp, issue["id"])
