"""The standard level: every v1 key of the standard payload, then what context-handoff
adds (failure details, names, the phase table, who blocks whom)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import CompressionLevel, Facts
from ..pack import Header, Layout, Section
from .errors import error_entries
from .view import View, blocked_ids, dropped, iso, meta, named_first, progress, shorten

# The payload format's version (the "version" key of standard and full payloads):
# v1.0.0's keys and types, plus the keys context-handoff adds.
PAYLOAD_VERSION = "1.1.0"
_FIXES_SHOWN = 2  # the latest attempts; the item counts the earlier ones
_FIRST_NEXT = 5  # ready tasks listed before any detail (v1 listed five)
_FIRST_BLOCKED = 5
_PATH_HEAD = 3  # critical-path ids listed before any detail


def standard(v: View, header: Header) -> Layout:
    skeleton = _skeleton(v, header)
    named = named_first(v.facts, _FIRST_NEXT)
    blocked = blocked_ids(v.facts, v.failed)
    full = header.level is CompressionLevel.FULL
    sections = [
        *_id_lists(v, blocked, full),
        *_detail_lists(v, full),
        *_details(v, named, blocked, skeleton["execution_state"]),
    ]
    return Layout(skeleton, sections)


def _summary(v: View, header: Header) -> dict[str, Any]:
    facts, limits = v.facts, v.limits
    state = facts.state
    percent, finished, total = progress(facts)
    summary: dict[str, Any] = {
        # v1
        "project": shorten(state.project or "(unnamed project)", limits.name),
        "current_phase": v.text(state.current_phase, limits.id),
        "progress": percent,
        "tasks_complete": finished,
        "tasks_total": total,
        **dropped(facts),
        "generated_at": header.generated_at,
        # added (how many of each kind: a list's length plus its count in "omitted")
        "state_age_hours": facts.age_hours,
        "state_age_source": facts.age_source,
    }
    if header.level is CompressionLevel.FULL:
        summary["last_updated"] = iso(state.last_updated)
    phase = _current_phase(facts)
    if phase is not None:
        summary["phase_name"] = shorten(phase.name, limits.name)
    return summary


def _current_phase(facts: Facts) -> Any:
    return next((p for p in facts.phases if p.id == facts.state.current_phase), None)


def _skeleton(v: View, header: Header) -> dict[str, Any]:
    phase = _current_phase(v.facts)
    return {
        "version": PAYLOAD_VERSION,
        "handoff_id": header.handoff_id,
        "summary": _summary(v, header),
        "execution_state": {
            "active_tasks": [],
            "blocked_tasks": [],
            "failed_tasks": [],
            # each failed task's type: the runs of one type along failed_tasks
            **({"failure_types": []} if v.failed else {}),
            "next_eligible": [],
            "failures": {},
            "names": {},
            "blocked_by": {},
        },
        "critical_context": {"errors": [], "user_decisions": [], "warnings": []},
        "dag_snapshot": {
            "phases_completed": [],
            "current_phase_progress": {
                "total": phase.total if phase else 0,
                "complete": phase.done if phase else 0,
                "pct": 100 * phase.done // phase.total if phase and phase.total else 0,
                **({"dropped": phase.dropped} if phase and phase.dropped else {}),
            },
            "critical_path": [],
            "phases": [],
        },
        "meta": meta(header, v.facts),
    }


def _id_lists(v: View, blocked: list[str], full: bool) -> list[Section]:
    """1. the v1 id lists"""
    facts = v.facts
    pending = list(facts.pending_decisions)
    decisions = [*pending, *facts.recent_decisions]
    return [
        Section("execution_state.failed_tasks", v.failed, v.id, 4, head=3),
        # twice as many runs a round as ids (each run covers one id or more), so every
        # failed id kept has its type even when the room runs out between the two
        Section("execution_state.failure_types", v.failure_types(), lambda run: run, 8, head=3),
        Section("execution_state.active_tasks", facts.active, v.id, 4, head=3),
        Section(
            "execution_state.next_eligible",
            facts.ready,
            v.id,
            2,
            caps={1: _FIRST_NEXT, 2: _FIRST_NEXT},
            head=3,
        ),
        Section(
            "critical_context.user_decisions",
            decisions,
            lambda d: v.decision(d, why=full),
            1,
            caps={1: len(pending), 2: len(pending)},
        ),
        Section(
            "dag_snapshot.critical_path",
            facts.critical_path,
            v.id,
            1,
            caps={1: _PATH_HEAD, 2: _PATH_HEAD},
        ),
        Section(
            "execution_state.blocked_tasks",
            blocked,
            v.id,
            1,
            caps={1: _FIRST_BLOCKED, 2: _FIRST_BLOCKED},
        ),
        Section(
            "dag_snapshot.phases_completed",
            [p.id for p in facts.phases if p.status == "done"],
            v.id,
            1,
        ),
    ]


def _detail_lists(v: View, full: bool) -> list[Section]:
    """2. the v1 detail lists"""
    return [
        Section("critical_context.errors", error_entries(v, full), lambda e: e, 4, tier=2),
        Section(
            "critical_context.warnings",
            v.facts.warnings,
            lambda w: shorten(w, v.limits.warning),
            1,
            tier=2,
        ),
    ]


def _details(
    v: View, named: list[str], blocked: list[str], execution: dict[str, Any]
) -> list[Section]:
    """3. the details"""
    facts, limits = v.facts, v.limits
    details = {tid: _failure(v, tid) for tid in v.failed}
    blocker = {b.task_id: b.blocked_by for b in facts.blocked if b.blocked_by}
    return [
        Section(
            "execution_state.failures",
            [t for t in v.failed if details[t][1]],
            details.__getitem__,
            2,
            tier=3,
            keyed=True,
        ),
        _names(v, named),
        *_task_notes(v, named, execution),
        Section(
            "dag_snapshot.phases",
            facts.phases,
            lambda p: {
                "id": v.id(p.id),
                "name": shorten(p.name, limits.name),
                "done": p.done,
                "total": p.total,
                "status": p.status,
                **({"dropped": p.dropped} if p.dropped else {}),
            },
            1,
            tier=3,
        ),
        Section(
            "execution_state.blocked_by",
            [t for t in blocked if t in blocker],
            lambda t: (v.id(t), v.id(blocker[t])),
            0.5,
            tier=3,
            keyed=True,
        ),
    ]


def _names(v: View, named: list[str]) -> Section:
    """The names of the active and first next tasks. The terse form takes a name that
    only restates its id last (after every other section's details), so a payload that
    cuts it counts it in ``omitted`` and the ``more`` tool pages it."""
    saying = [t for t in named if v.name(t)]
    restating = [t for t in named if v.tasks[t].name and t not in saying]
    if not restating:
        return Section(
            "execution_state.names", saying, lambda t: (v.id(t), v.name(t)), 2, keyed=True, head=3
        )
    only_saying = dict.fromkeys((1, 2, 3), len(saying))  # the restating ones in tier 4
    return Section(
        "execution_state.names",
        [*saying, *restating],
        lambda t: (v.id(t), shorten(v.tasks[t].name, v.limits.name)),
        2,
        caps=only_saying,
        keyed=True,
        head=3,
    )


def _failure(v: View, tid: str) -> tuple[str, dict[str, Any]]:
    """A failure's details: its name and attempts (for the first few), what it blocks."""
    facts, limits = v.facts, v.limits
    detailed = tid in v.failed[: limits.detailed_failures]
    item: dict[str, Any] = {}
    name = v.name(tid) if detailed else None
    if name:
        item["name"] = name
    if facts.blocks_count.get(tid):
        item["blocks"] = facts.blocks_count[tid]
    record = v.latest_error.get(tid)
    if detailed and record is not None and record.attempted_fixes:
        fixes = record.attempted_fixes
        item["tried"] = [shorten(f, limits.detail) for f in fixes[-_FIXES_SHOWN:]]
        if len(fixes) > _FIXES_SHOWN:
            item["tried_earlier"] = len(fixes) - _FIXES_SHOWN
    return v.id(tid), item


def _task_notes(v: View, named: list[str], execution: dict[str, Any]) -> list[Section]:
    """Where the input says more about the active and next tasks than our status does
    (Task Master and the task-list formats): each one's priority, its own status word
    when ours differs ("review" is running to us), and its notes (shortened). Keys only
    for states that have them."""
    tasks = v.tasks
    notes = {
        "priorities": [t for t in named if tasks[t].priority],
        "source_statuses": [
            t for t in named if tasks[t].source_status and tasks[t].source_status != tasks[t].status
        ],
        "details": [t for t in named if tasks[t].details],
    }
    fields = {"priorities": "priority", "source_statuses": "source_status", "details": "details"}
    sections = []
    for key, ids in notes.items():
        if ids:
            execution[key] = {}
            sections.append(
                Section(f"execution_state.{key}", ids, _note(v, fields[key]), 1, tier=3, keyed=True)
            )
    return sections


def _note(v: View, field: str) -> Callable[[str], tuple[str, str]]:
    return lambda tid: (v.id(tid), shorten(str(getattr(v.tasks[tid], field)), v.limits.name))
