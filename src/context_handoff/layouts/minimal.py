"""The minimal level: v1's minimal keys (summary, active, failed as ``"<id>: <Type>"``,
next), then pending decisions, the names of the active and next tasks where the id does
not say them (Task Master's ``2.2``, hashes), the missing dependencies, and each
failure's message and reach."""

from __future__ import annotations

from typing import Any

from ..pack import Header, Layout, Section
from .view import View, dropped, meta, named_first, progress, restates, shorten

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
            **dropped(facts),
            "state_age_hours": facts.age_hours,
            "state_age_source": facts.age_source,
            **_phase_name(v),
        },
        "active": [],
        "failed": [],
        "next": [],
        "failures": {},
        "pending_decisions": [],
        "names": {},
        "missing_dependencies": [],
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
    env = state.environment
    named = [t for t in named_first(facts, _FIRST_NEXT) if _opaque_name(v, t)]
    sections = [
        Section("failed", v.failed, failed, 3, head=3),
        Section("active", facts.active, v.id, 3, head=3),
        Section("next", facts.ready, v.id, 2, caps={1: _FIRST_NEXT, 2: _FIRST_NEXT}, head=3),
        Section(
            "pending_decisions",
            facts.pending_decisions,
            lambda d: shorten(d.prompt, limits.prompt),
            1,
        ),
        Section("names", named, lambda t: (v.id(t), _opaque_name(v, t)), 2, keyed=True, head=3),
        Section(
            "missing_dependencies",
            env.missing_dependencies if env else (),
            lambda n: shorten(n, limits.detail),
            1,
        ),
        Section(
            "failures",
            [t for t in v.failed if details[t][1]],
            details.__getitem__,
            2,
            tier=3,
            keyed=True,
            head=1,
        ),
    ]
    return Layout(skeleton, sections)


def _opaque_name(v: View, tid: str) -> str | None:
    """The task's name when its id does not already say it (``2.2``, ``bd-a1b2``)."""
    name = v.tasks[tid].name
    if not name or restates(name, tid):
        return None
    return shorten(name, v.limits.name)


def _phase_name(v: View) -> dict[str, str]:
    """The current phase's name, when it says more than the phase id."""
    phase = next((p for p in v.facts.phases if p.id == v.facts.state.current_phase), None)
    if phase is None or not phase.name or restates(phase.name, phase.id):
        return {}
    return {"phase_name": shorten(phase.name, v.limits.name)}
