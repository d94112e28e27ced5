"""The minimal level: v1's minimal keys (summary, active, failed as ``"<id>: <Type>"``,
next), then pending decisions and each failure's message and reach."""

from __future__ import annotations

from typing import Any

from ..pack import Header, Layout, Section
from .view import View, meta, progress, shorten

_FIRST_NEXT = 5  # ready tasks listed before any detail (v1 listed five)


def minimal(v: View, header: Header) -> Layout:
    facts, limits = v.facts, v.limits
    state = facts.state
    percent, finished, total = progress(facts)
    skeleton = {
        "handoff_id": header.handoff_id,
        "summary": {
            # v1
            "phase": v.text(state.current_phase, limits.id),
            "progress": percent,
            "task": v.id(facts.active[0]) if facts.active else None,
            # added
            "project": shorten(state.project or "(unnamed project)", limits.name),
            "tasks_complete": finished,
            "tasks_total": total,
            "state_age_hours": facts.age_hours,
            "state_age_source": facts.age_source,
        },
        "active": [], "failed": [], "next": [],
        "failures": {}, "pending_decisions": [],
        "meta": meta(header, facts),
    }

    def failed(tid: str) -> str:
        kind, _ = v.error_of(tid)
        return f"{v.id(tid)}: {shorten(kind or 'Error', limits.name)}"

    def failure(tid: str) -> tuple[str, dict[str, Any]]:
        _, message = v.error_of(tid)
        item: dict[str, Any] = {}
        if message:
            item["message"] = shorten(message, limits.error)
        if facts.blocks_count.get(tid):
            item["blocks"] = facts.blocks_count[tid]
        return v.id(tid), item

    details = {tid: failure(tid) for tid in v.failed}
    sections = [
        Section("failed", v.failed, failed, 3),
        Section("active", facts.active, v.id, 3),
        Section("next", facts.ready, v.id, 2, caps={1: _FIRST_NEXT, 2: _FIRST_NEXT}),
        Section("pending_decisions", facts.pending_decisions,
                lambda d: shorten(d.prompt, limits.prompt), 1),
        Section("failures", [t for t in v.failed if details[t][1]], details.__getitem__, 2,
                tier=3, keyed=True),
    ]
    return Layout(skeleton, sections)
