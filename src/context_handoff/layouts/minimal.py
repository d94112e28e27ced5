"""The minimal level: v1's minimal keys (summary, active, failed as ``"<id>: <Type>"``,
next; in the grouped form, chosen only when it carries strictly more failures and no
fewer items at the budget, the failures after the first five in ``more_failed``,
grouped by error type:
``{"<Type>": [id, ...]}``), then pending decisions, the names of the
active and next tasks where the id does not say them (Task Master's ``2.2``, hashes),
the missing dependencies, and each failure's message and reach. The summary's added
keys are packed items too, after the v1 ones: they yield to the id lists when room is
short."""

from __future__ import annotations

from typing import Any

from ..pack import Header, Layout, Section
from .view import (
    UNTYPED,
    View,
    dropped,
    meta,
    named_first,
    progress,
    restates,
    short_id,
    shorten,
)

_FIRST_NEXT = 5  # ready tasks listed before any detail (v1 listed five)
_ADDED = ("more_failed", "failures", "pending_decisions", "names", "missing_dependencies")
_FIRST_FAILED = 5  # the grouped form: failures written as "<id>: <Type>"; the rest grouped


def minimal(v: View, header: Header) -> Layout:
    facts, limits = v.facts, v.limits
    state = facts.state
    percent, finished, total = progress(facts)
    # the grouped form writes the first failures as v1 did and the rest grouped by error
    # type, each type once: a failure's id and type for ~7 tokens instead of ~10
    first = _FIRST_FAILED if limits.grouped else len(v.failed)
    summary = {
        # v1: pinned (always kept, part of the skeleton)
        "phase": v.text(state.current_phase, limits.id),
        "progress": percent,
        "task": v.id(facts.active[0]) if facts.active else None,
        # added: packed like any section's items, in this order
        **_phase_name(v),
        "state_age_hours": facts.age_hours,
        "tasks_complete": finished,
        **dropped(facts),
        "tasks_total": total,  # kept only with the counts before it: "n of total" is whole
        "project": shorten(state.project or "(unnamed project)", limits.name),
        "state_age_source": facts.age_source,
    }
    skeleton = {
        "handoff_id": header.handoff_id,
        "summary": {},
        "active": [],
        "failed": [],
        "next": [],
        "more_failed": {},
        "failures": {},
        "pending_decisions": [],
        "names": {},
        "missing_dependencies": [],
        "meta": meta(header, facts),
    }

    def failed(tid: str) -> str:
        kind, _ = v.error_of(tid)
        return f"{v.id(tid)}: {short_id(kind or UNTYPED, limits.name)}"

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
        Section("failed", v.failed[:first], failed, 3, head=3),
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
            "more_failed",
            v.failed[first:],
            lambda t: (short_id(v.kind_of(t), limits.name), v.id(t)),
            3,
            grouped=True,
            head=0,
            follows="failed",  # no failure kept while one blocking more is cut
        ),
        # the current phase's name and the state's age among the heads, the rest by turns
        Section("summary", list(summary.items()), _same, 0.5, keyed=True, head=2, pinned=3),
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
    # an added list or map with nothing in it is left out (none to hold, or all of it
    # cut): the key costs tokens and says nothing; the v1 keys stay even when empty
    sections = [s._replace(optional=True) if s.path in _ADDED else s for s in sections]
    for path in _ADDED:
        if not next(s for s in sections if s.path == path).candidates:
            del skeleton[path]
    return Layout(skeleton, sections)


def _same(item: tuple[str, Any]) -> tuple[str, Any]:
    return item


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
