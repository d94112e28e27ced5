"""``critical_context.errors`` of the standard and full levels: each failure's error,
then the other recent error records."""

from __future__ import annotations

from typing import Any

from ..model import ErrorRecord
from .view import Limits, View, error_type, iso, opt, shorten


def error_entries(v: View, full: bool) -> list[dict[str, Any]]:
    """Each failed task's error, in failed_tasks order (a message shared with an earlier
    failure is written once), then the other recent error records (of tasks that
    recovered or never failed outright)."""
    entries = _failure_entries(v, full)
    failed = set(v.failed)
    for record in v.facts.recent_errors:
        if record.task_id in failed:
            continue
        entry = {
            "task_id": opt(record.task_id, v.limits.id),
            "type": opt(error_type(record.error_type), v.limits.name),
            "message": shorten(record.message or "", v.limits.error),
        }
        if full:
            _add_record_details(entry, record, v.limits)
        entries.append(entry)
    return entries


def _failure_entries(v: View, full: bool) -> list[dict[str, Any]]:
    limits = v.limits
    entries: list[dict[str, Any]] = []
    first_with: dict[tuple[str | None, str | None], str] = {}
    for index, tid in enumerate(v.failed):
        kind, message = v.error_of(tid)
        if kind is None and message is None:
            continue
        # the first failures carry their whole message (to the level's limit), later
        # ones a shorter one, and a message already written points back to it
        limit = limits.error if index < limits.detailed_failures else limits.error // 2
        first = first_with.setdefault((kind, message), tid)
        text = f"(same as {v.id(first)})" if first != tid else shorten(message or "", limit)
        entry: dict[str, Any] = {
            "task_id": v.id(tid),
            "type": opt(kind, limits.name),
            "message": text,
        }
        record = v.latest_error.get(tid)
        if full and record is not None and first == tid:
            _add_record_details(entry, record, limits)
        entries.append(entry)
    return entries


def _add_record_details(entry: dict[str, Any], record: ErrorRecord, limits: Limits) -> None:
    if record.timestamp is not None:
        entry["at"] = iso(record.timestamp)
    if record.stack_trace:
        entry["trace"] = shorten(_trace_tail(record.stack_trace), limits.detail)


def _trace_tail(trace: str) -> str:
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])
