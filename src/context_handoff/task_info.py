"""Everything a state says about one task, as JSON: what the MCP server's ``task`` answers.

The facts are the pipeline's (redacted as the payload is); long texts are shortened to
a generous limit, so one answer stays small whatever the state holds.
"""

from __future__ import annotations

from typing import Any

from .errors import InputError
from .layouts import shorten
from .model import ErrorRecord, Facts, Task

_TEXT = 2000  # characters of an error message, a name, an attempt
_LIST = 200  # ids in a list of dependencies or dependents


def describe_task(facts: Facts, task_id: str) -> dict[str, Any]:
    """The task ``task_id``: status (and the source's own word, where its format keeps
    one), name, dependencies and dependents, its error, what was tried, what blocks it;
    InputError for an unknown id."""
    task = facts.state.tasks.get(task_id)
    if task is None:
        shown = shorten(task_id, 120)
        raise InputError(f"no task {shown!r} in {facts.state.source.name}")
    records = [r for r in facts.recent_errors if r.task_id == task_id]  # newest first
    blocked_by = next((b.blocked_by or None for b in facts.blocked if b.task_id == task_id), None)
    info: dict[str, Any] = {
        "id": task.id,
        "name": shorten(task.name, _TEXT),
        "status": task.status,
        "priority": task.priority,
        "parent": task.parent,
        "dependencies": list(task.dependencies[:_LIST]),
        "dependents": _dependents(facts, task)[:_LIST],
        "active": task_id in facts.active,
        "ready": task_id in facts.ready,
        "blocked": any(b.task_id == task_id for b in facts.blocked),
        "blocked_by": blocked_by,
        "blocks": facts.blocks_count.get(task_id, 0),
        "times": {
            key: value.isoformat().replace("+00:00", "Z") if value else None
            for key, value in (
                ("started_at", task.started_at),
                ("completed_at", task.completed_at),
                ("failed_at", task.failed_at),
            )
        },
        "error": _error(task, records),
        "tried": [shorten(fix, _TEXT) for r in reversed(records) for fix in r.attempted_fixes],
    }
    if task.source_status is not None:  # only where the format keeps its own word
        info["source_status"] = task.source_status
    return info


def _dependents(facts: Facts, task: Task) -> list[str]:
    """Declared dependents, and every task that names this one among its dependencies."""
    found = dict.fromkeys(task.dependents)
    for other in facts.state.tasks.values():
        if task.id in other.dependencies:
            found[other.id] = None
    return list(found)


def _error(task: Task, records: list[ErrorRecord]) -> dict[str, Any] | None:
    latest = records[0] if records else None
    kind = task.error_type or (latest.error_type if latest else None)
    message = task.error_message or (latest.message if latest else None)
    if kind is None and message is None:
        return None
    error: dict[str, Any] = {"type": kind, "message": shorten(message or "", _TEXT)}
    if latest is not None and latest.stack_trace:
        error["trace"] = shorten(latest.stack_trace, _TEXT)
    return error
