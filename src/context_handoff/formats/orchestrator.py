"""The orchestrator's own state (``.orchestrator_state.json``): tasks keyed by id.

Checked against the packaged state schema (schemas/state.schema.json), then
normalized into a State: nulls and missing sections become empty values, status
synonyms become canonical statuses, times become aware datetimes. Only documents that
passed the schema are normalized, so types are known; oddities that are not errors
become warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import validate
from ..errors import Problem
from ..model import (
    STATUS_SYNONYMS,
    Decision,
    DiskUsage,
    Environment,
    ErrorRecord,
    FileRecord,
    Package,
    Phase,
    Source,
    State,
    Task,
)
from ..times import check_calendar, parse_time
from .base import MAYBE, NO, SURE, ReadOptions

name = "orchestrator"
label = "an orchestrator state"
telltale = "its tasks an object keyed by task id"  # what detect() is sure by

# Sections only an orchestrator state has: with these but no task map, it is one gone wrong.
_SECTIONS = frozenset(
    {
        "context",
        "dag",
        "error_tracking",
        "user_customizations",
        "filesystem_state",
        "environment_config",
    }
)


def detect(document: Any) -> int:
    if not isinstance(document, dict):
        return NO
    if isinstance(document.get("tasks"), dict):
        return SURE
    return MAYBE if _SECTIONS & document.keys() else NO


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    return validate.find_problems(document, "state", source)


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    return normalize_state(redact(document), source, {})


# Byte counts beyond this (8 EiB) are not real: treated as unknown, with a warning, so
# that no later arithmetic meets a number it cannot turn into a float.
MAX_COUNT = 2**63 - 1


def normalize_state(doc: dict[str, Any], source: Source, redactions: dict[str, int]) -> State:
    """Build the State record from a document that passed the state schema."""
    warnings: list[str] = []
    times = _TimeReader(warnings, source.name)
    meta = doc.get("metadata") or {}
    ctx = doc.get("context") or {}
    return State(
        source=source,
        project=meta.get("project_name"),
        last_updated=times.read(meta.get("last_updated"), "metadata.last_updated"),
        current_phase=ctx.get("current_phase"),
        context_active=_ids(ctx.get("active_tasks")),
        context_completed=_ids(ctx.get("completed_tasks")),
        context_failed=_ids(ctx.get("failed_tasks")),
        tasks={tid: _task(tid, raw, times) for tid, raw in doc["tasks"].items()},
        phases=tuple(
            Phase(pid, raw.get("name") or pid, _ids(raw.get("tasks")), raw.get("status"))
            for pid, raw in ((doc.get("dag") or {}).get("phases") or {}).items()
        ),
        errors=tuple(
            _error(raw, i, times)
            for i, raw in enumerate((doc.get("error_tracking") or {}).get("errors") or ())
        ),
        decisions=tuple(
            _decision(raw, i, times)
            for i, raw in enumerate(
                (doc.get("user_customizations") or {}).get("runtime_decisions") or ()
            )
        ),
        files=_files(doc.get("filesystem_state") or {}, warnings),
        disk=_disk(doc.get("filesystem_state") or {}, warnings),
        environment=_environment(doc.get("environment_config")),
        redactions=redactions,
        warnings=tuple(warnings),
    )


class _TimeReader:
    """Parses ISO 8601 times; an unreadable one becomes None and a warning, one outside
    the calendar in UTC an error."""

    def __init__(self, warnings: list[str], name: str) -> None:
        self._warnings = warnings
        self._name = name

    def read(self, value: str | None, where: str) -> datetime | None:
        if not value:
            return None
        try:
            parsed = parse_time(value)
        except ValueError:
            self._warnings.append(f"{where}: unreadable time {value[:40]!r}, treated as unknown")
            return None
        if 1 < parsed.year < 9999:  # no offset takes it out of the calendar: nothing to check
            return parsed
        return check_calendar(parsed, f"{self._name}::$.{where}")


def _ids(value: list[str] | None) -> tuple[str, ...]:
    """The ids listed, each once: called twice a task, so the short lists most are
    skip building a set to find no repeat."""
    if not value:
        return ()
    if len(value) == 1 or (len(value) == 2 and value[0] != value[1]):
        return tuple(value)
    return tuple(dict.fromkeys(value))


def _task(tid: str, raw: dict[str, Any], times: _TimeReader) -> Task:
    # called once a task: a hundred thousand times for a large state, so positional
    # fields, and no time read (nor its message) for the times a task does not have
    get = raw.get
    error = get("error")
    if isinstance(error, str):
        error = {"message": error}
    started, completed, failed = get("started_at"), get("completed_at"), get("failed_at")
    return Task(
        tid,
        get("name") or tid,
        STATUS_SYNONYMS[raw["status"]],
        _ids(get("dependencies")),
        _ids(get("dependents")),
        error.get("type") if error else None,
        error.get("message") if error else None,
        times.read(started, f"tasks.{tid}.started_at") if started else None,
        times.read(completed, f"tasks.{tid}.completed_at") if completed else None,
        times.read(failed, f"tasks.{tid}.failed_at") if failed else None,
    )


def _error(raw: dict[str, Any], index: int, times: _TimeReader) -> ErrorRecord:
    return ErrorRecord(
        task_id=raw.get("task_id"),
        error_type=raw.get("error_type"),
        message=raw.get("message"),
        timestamp=times.read(raw.get("timestamp"), f"error_tracking.errors[{index}].timestamp"),
        stack_trace=raw.get("stack_trace"),
        attempted_fixes=tuple(raw.get("attempted_fixes") or ()),
    )


def _decision(raw: dict[str, Any], index: int, times: _TimeReader) -> Decision:
    decision = raw.get("decision")
    if isinstance(decision, str):
        decision = {"choice": decision}
    decision = decision or {}
    where = f"user_customizations.runtime_decisions[{index}].decision.decided_at"
    return Decision(
        prompt=raw.get("prompt") or f"(decision {index + 1}, no prompt recorded)",
        choice=decision.get("choice") or "pending",
        decided_at=times.read(decision.get("decided_at"), where),
        rationale=raw.get("rationale"),
    )


def _files(fs: dict[str, Any], warnings: list[str]) -> tuple[FileRecord, ...]:
    return tuple(
        FileRecord(
            path=path,
            exists=raw.get("exists"),
            required_by=_ids(raw.get("required_by")),
            produced_by=raw.get("produced_by"),
            size_bytes=_count(
                raw.get("size_bytes"), f"filesystem_state.files[{path!r}].size_bytes", warnings
            ),
        )
        for path, raw in (fs.get("files") or {}).items()
    )


def _disk(fs: dict[str, Any], warnings: list[str]) -> DiskUsage | None:
    raw = fs.get("disk_usage")
    if not raw:
        return None
    return DiskUsage(
        *(
            _count(raw.get(key), f"filesystem_state.disk_usage.{key}", warnings)
            for key in ("total_bytes", "used_bytes", "available_bytes")
        )
    )


def _count(value: int | None, where: str, warnings: list[str]) -> int | None:
    if value is not None and value > MAX_COUNT:
        warnings.append(f"{where}: {len(str(value))}-digit byte count, treated as unknown")
        return None
    return value


def _environment(raw: dict[str, Any] | None) -> Environment | None:
    if not raw:
        return None
    system = raw.get("system_info") or {}
    os_info = system.get("os") or {}
    python = (raw.get("runtime_environment") or {}).get("python") or {}
    deps = raw.get("dependencies") or {}
    os_name = " ".join(str(v) for v in (os_info.get("type"), os_info.get("version")) if v)
    return Environment(
        os=os_name or None,
        architecture=system.get("architecture"),
        python_version=_text(python.get("version")),
        packages=tuple(
            Package(p["name"], _text(p.get("version")), bool(p.get("required", True)))
            for p in deps.get("python_packages") or ()
        ),
        missing_dependencies=_ids(deps.get("missing_dependencies")),
    )


def _text(value: str | float | None) -> str | None:
    return None if value is None else str(value)
