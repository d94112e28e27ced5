"""What each level holds: every key of the v1 payloads, then what context-handoff adds.

A payload keeps the key paths and JSON types of the original tool's v1 payloads, so
prompts, templates and validators written against v1 keep working (docs/payload.md
lists them). What context-handoff adds lives under new keys and never repeats a fact
the v1 keys already carry: ids sit in the v1 lists, and details are keyed by id.

Packing order, the same at every level (pack.py fills tier by tier):

1. the v1 id lists: failed, active, the first ready tasks, pending decisions, the
   head of the critical path, the first blocked tasks, completed phases;
2. the v1 detail lists: each failure's error (type and message), warnings, and the
   rest of the ready and blocked tasks;
3. the details: what was tried for each failure and what it blocks, names, past
   decisions, the phase table, files and packages.

So at no budget is an id list empty while another list carries details.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .model import FINISHED, Changes, CompressionLevel, Decision, ErrorRecord, Facts, Payload, Task
from .pack import Header, Layout, Section, pack_sections, shorten
from .tokens import TokenCounter

# The payload format's version (the "version" key of standard and full payloads):
# v1.0.0's keys and types, plus the keys context-handoff adds.
PAYLOAD_VERSION = "1.1.0"
_FIXES_SHOWN = 2  # the latest attempts; the item counts the earlier ones
_FIRST_NEXT = 5  # ready tasks listed before any detail (v1 listed five)
_FIRST_BLOCKED = 5
_PATH_HEAD = 3  # critical-path ids listed before any detail
_FIRST_CHANGES = 5  # of each kind of change
_TAGS_SHOWN = 10  # Task Master: the other tags named in meta
_TAG_CHARS = 40


class Limits(NamedTuple):
    """Longest strings kept at a level, in characters; longer ones are marked."""

    name: int
    error: int
    prompt: int
    warning: int
    detail: int  # rationales, stack-trace tails, file paths, versions
    id: int = 100  # task, phase ids: longer ones are very rare, but must not break a level
    terse: bool = False  # leave out names that only restate the id
    detailed_failures: int = 5  # failures described with name and attempts


def _terse(limits: Limits) -> Limits:
    return limits._replace(terse=True, detailed_failures=3, error=60)


LIMITS_BY_LEVEL = {
    CompressionLevel.MINIMAL: Limits(name=60, error=100, prompt=100, warning=100, detail=80),
    CompressionLevel.STANDARD: Limits(name=60, error=120, prompt=160, warning=160, detail=100),
    CompressionLevel.FULL: Limits(name=120, error=400, prompt=240, warning=240, detail=300),
}


def pack_payload(facts: Facts, header: Header, counter: TokenCounter) -> Payload:
    """The richest payload for ``header.level`` whose text fits ``header.budget`` tokens.

    Packed first in the generous form; when that has to leave anything out, packed
    again in the terse form (names that only restate the id dropped, fewer detailed
    failures, shorter messages), which carries more items in the same budget.
    """
    limits = LIMITS_BY_LEVEL[header.level]
    payload = pack_sections(build_layout(facts, header, limits), header, counter)
    if payload.omitted:
        payload = pack_sections(build_layout(facts, header, _terse(limits)), header, counter)
    return payload


def build_layout(facts: Facts, header: Header, limits: Limits) -> Layout:
    view = _View(facts, limits)
    layout = _LAYOUTS[header.level](view, header)
    if facts.changes is not None:
        _add_changes(layout, view, facts.changes)
    return layout


def _add_changes(layout: Layout, v: _View, changes: Changes) -> None:
    """``changes``: what moved since the last handoff, packed once the v1 id lists have
    their share, before the errors' details (the first few of each kind; the rest with
    the details)."""
    data: dict[str, Any] = {"since": {"at": changes.since_at, "digest": changes.since_digest}}
    if changes.phase_moved:
        data["phase"] = {"from": _opt(changes.phase_from, v.limits.id),
                         "to": _opt(changes.phase_to, v.limits.id)}
    kinds = (("newly_failed", changes.newly_failed, v.id, 2),
             ("recovered", changes.recovered, v.id, 2),
             ("started", changes.started, v.id, 1), ("newly_done", changes.newly_done, v.id, 1),
             ("newly_ready", changes.newly_ready, v.id, 1), ("removed", changes.removed, v.id, 1),
             ("decided", changes.decided, lambda p: shorten(p, v.limits.prompt), 1))
    # a kind with nothing in it is left out: the key costs tokens and says nothing
    sections = [Section(f"changes.{key}", items, to_json, weight, tier=2,
                        caps={2: _FIRST_CHANGES})
                for key, items, to_json, weight in kinds if items]
    data.update({key: [] for key, items, _, _ in kinds if items})
    layout.skeleton["changes"] = data
    layout.sections[0:0] = sections  # first among the second tier's lists


class _View:
    """The facts as a layout reads them: ids, texts and errors, shortened to the limits."""

    def __init__(self, facts: Facts, limits: Limits) -> None:
        self.facts = facts
        self.limits = limits
        self.tasks: dict[str, Task] = facts.state.tasks
        self.latest_error = _latest_error_by_task(facts)
        self.failed = _failed_ids(facts)

    def id(self, tid: str) -> str:
        return short_id(tid, self.limits.id)

    def text(self, value: str | None, limit: int) -> str | None:
        return None if value is None else shorten(value, limit)

    def error_of(self, tid: str) -> tuple[str | None, str | None]:
        """A failed task's error type and message: its own, else its latest record's."""
        task = self.tasks[tid]
        record = self.latest_error.get(tid)
        kind = task.error_type or (record.error_type if record else None)
        message = task.error_message or (record.message if record else None)
        return kind, message

    def name(self, tid: str) -> str | None:
        """The task's name, or None when terse and the name only restates the id."""
        name = self.tasks[tid].name
        if not name or (self.limits.terse and _restates(name, tid)):
            return None
        return shorten(name, self.limits.name)

    def decision(self, d: Decision, *, why: bool) -> dict[str, Any]:
        item = {"prompt": shorten(d.prompt, self.limits.prompt), "choice": shorten(d.choice, 40)}
        if why and d.rationale:
            item["why"] = shorten(d.rationale, self.limits.detail)
        return item


def short_id(tid: str, limit: int) -> str:
    """An id cut to ``limit`` characters that stays unique: the cut one ends with ``…#``
    and 8 hex digits of the whole id's sha256, so two long ids never become one."""
    if len(tid) <= limit:
        return tid
    digest = hashlib.sha256(tid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{tid[:max(limit - 10, 1)]}…#{digest}"


def _restates(name: str, tid: str) -> bool:
    """True when most of the name's words are already in the id ("Deploy to Kubernetes"
    for task_045_deploy_kubernetes): the name then costs tokens and says nothing new."""
    words = re.findall(r"[a-z]{3,}", name.lower())
    lowered = tid.lower()
    return not words or sum(w in lowered for w in words) >= 0.6 * len(words)


def _latest_error_by_task(facts: Facts) -> dict[str, ErrorRecord]:
    # recent_errors is newest first, so the first record seen for a task is its latest
    latest: dict[str, ErrorRecord] = {}
    for record in facts.recent_errors:
        if record.task_id and record.task_id not in latest:
            latest[record.task_id] = record
    return latest


def _failed_ids(facts: Facts) -> list[str]:
    """Failed tasks, those blocking the most first, then newest failure first."""
    failed = [t for t in facts.state.tasks.values() if t.status == "failed"]
    failed.sort(key=lambda t: (
        -facts.blocks_count.get(t.id, 0),
        t.failed_at is None,
        -(t.failed_at.timestamp() if t.failed_at else 0.0),
    ))
    return [t.id for t in failed]


def _blocked_ids(facts: Facts, failed_order: list[str]) -> list[str]:
    """Blocked tasks, grouped by the failure that blocks them, in failed_tasks order."""
    rank = {tid: i for i, tid in enumerate(failed_order)}
    ordered = sorted(facts.blocked, key=lambda b: rank.get(b.blocked_by, len(rank)))
    return [b.task_id for b in ordered]


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _progress(facts: Facts) -> tuple[str, int, int]:
    total = len(facts.state.tasks)
    finished = sum(facts.counts.get(s, 0) for s in FINISHED)
    return f"{round(100 * finished / total) if total else 0}%", finished, total


def _meta(header: Header, facts: Facts) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "level": header.level.value,
        "encoding": header.encoding,
        "budget": header.budget,
        "state_digest": header.state_digest,
        "generated_at": header.generated_at,
    }
    if facts.state.redactions:
        meta["redacted"] = dict(sorted(facts.state.redactions.items()))
    state = facts.state
    if state.format != "orchestrator":  # orchestrator payloads keep their meta as it was
        meta["format"] = state.format
    if state.tag is not None:
        others = [tag for tag in state.tags if tag != state.tag]
        meta["tag"] = shorten(state.tag, _TAG_CHARS)
        meta["other_tags"] = [shorten(tag, _TAG_CHARS) for tag in others[:_TAGS_SHOWN]]
        if len(others) > _TAGS_SHOWN:
            meta["other_tags_omitted"] = len(others) - _TAGS_SHOWN
    return meta


# --- minimal ------------------------------------------------------------------------


def _minimal(v: _View, header: Header) -> Layout:
    facts, limits = v.facts, v.limits
    state = facts.state
    progress, finished, total = _progress(facts)
    skeleton = {
        "handoff_id": header.handoff_id,
        "summary": {
            # v1
            "phase": v.text(state.current_phase, limits.id),
            "progress": progress,
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
        "meta": _meta(header, facts),
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


# --- standard -----------------------------------------------------------------------


def _standard(v: _View, header: Header) -> Layout:
    facts, limits = v.facts, v.limits
    state = facts.state
    progress, finished, total = _progress(facts)
    phase = next((p for p in facts.phases if p.id == state.current_phase), None)
    summary: dict[str, Any] = {
        # v1
        "project": shorten(state.project or "(unnamed project)", limits.name),
        "current_phase": v.text(state.current_phase, limits.id),
        "progress": progress,
        "tasks_complete": finished,
        "tasks_total": total,
        "generated_at": header.generated_at,
        # added (how many of each kind: a list's length plus its count in "omitted")
        "state_age_hours": facts.age_hours,
        "state_age_source": facts.age_source,
    }
    if header.level is CompressionLevel.FULL:
        summary["last_updated"] = _iso(state.last_updated)
    if phase is not None:
        summary["phase_name"] = shorten(phase.name, limits.name)
    skeleton: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "handoff_id": header.handoff_id,
        "summary": summary,
        "execution_state": {
            "active_tasks": [], "blocked_tasks": [], "failed_tasks": [], "next_eligible": [],
            "failures": {}, "names": {}, "blocked_by": {},
        },
        "critical_context": {"errors": [], "user_decisions": [], "warnings": []},
        "dag_snapshot": {
            "phases_completed": [],
            "current_phase_progress": {
                "total": phase.total if phase else 0,
                "complete": phase.done if phase else 0,
                "pct": 100 * phase.done // phase.total if phase and phase.total else 0,
            },
            "critical_path": [],
            "phases": [],
        },
        "meta": _meta(header, facts),
    }
    full = header.level is CompressionLevel.FULL
    pending = list(facts.pending_decisions)
    decisions = [*pending, *facts.recent_decisions]
    blocker = {b.task_id: b.blocked_by for b in facts.blocked if b.blocked_by}
    detailed = set(v.failed[:limits.detailed_failures])

    def failure(tid: str) -> tuple[str, dict[str, Any]]:
        item: dict[str, Any] = {}
        if tid in detailed:
            name = v.name(tid)
            if name:
                item["name"] = name
        if facts.blocks_count.get(tid):
            item["blocks"] = facts.blocks_count[tid]
        record = v.latest_error.get(tid)
        if tid in detailed and record is not None and record.attempted_fixes:
            fixes = record.attempted_fixes
            item["tried"] = [shorten(f, limits.detail) for f in fixes[-_FIXES_SHOWN:]]
            if len(fixes) > _FIXES_SHOWN:
                item["tried_earlier"] = len(fixes) - _FIXES_SHOWN
        return v.id(tid), item

    details = {tid: failure(tid) for tid in v.failed}
    named = list(dict.fromkeys([*facts.active, *facts.ready[:_FIRST_NEXT]]))
    blocked_ids = _blocked_ids(facts, v.failed)
    sections = [
        # 1. the v1 id lists
        Section("execution_state.failed_tasks", v.failed, v.id, 4),
        Section("execution_state.active_tasks", facts.active, v.id, 4),
        Section("execution_state.next_eligible", facts.ready, v.id, 2,
                caps={1: _FIRST_NEXT, 2: _FIRST_NEXT}),
        Section("critical_context.user_decisions", decisions,
                lambda d: v.decision(d, why=full), 1, caps={1: len(pending), 2: len(pending)}),
        Section("dag_snapshot.critical_path", facts.critical_path, v.id, 1,
                caps={1: _PATH_HEAD, 2: _PATH_HEAD}),
        Section("execution_state.blocked_tasks", blocked_ids, v.id, 1,
                caps={1: _FIRST_BLOCKED, 2: _FIRST_BLOCKED}),
        Section("dag_snapshot.phases_completed",
                [p.id for p in facts.phases if p.status == "done"], v.id, 1),
        # 2. the v1 detail lists
        Section("critical_context.errors", _error_entries(v, full), lambda e: e, 4, tier=2),
        Section("critical_context.warnings", facts.warnings,
                lambda w: shorten(w, limits.warning), 1, tier=2),
        # 3. the details
        Section("execution_state.failures", [t for t in v.failed if details[t][1]],
                details.__getitem__, 2,
                tier=3, keyed=True),
        Section("execution_state.names", [t for t in named if v.name(t)],
                lambda t: (v.id(t), v.name(t)), 2, tier=3, keyed=True),
        *_task_notes(v, named, skeleton["execution_state"]),
        Section("dag_snapshot.phases", facts.phases, lambda p: {
            "id": v.id(p.id), "name": shorten(p.name, limits.name),
            "done": p.done, "total": p.total, "status": p.status,
        }, 1, tier=3),
        Section("execution_state.blocked_by", [t for t in blocked_ids if t in blocker],
                lambda t: (v.id(t), v.id(blocker[t])), 0.5, tier=3, keyed=True),
    ]
    return Layout(skeleton, sections)


def _task_notes(v: _View, named: list[str], execution: dict[str, Any]) -> list[Section]:
    """Where the input says more about the active and next tasks than our status does
    (Task Master): each one's priority, and its own status word when ours differs
    ("review" is running to us). Keys only for states that have them."""
    tasks = v.tasks
    notes = {
        "priorities": [t for t in named if tasks[t].priority],
        "source_statuses": [t for t in named if tasks[t].source_status
                            and tasks[t].source_status != tasks[t].status],
    }
    fields = {"priorities": "priority", "source_statuses": "source_status"}
    sections = []
    for key, ids in notes.items():
        if ids:
            execution[key] = {}
            sections.append(Section(f"execution_state.{key}", ids,
                                    _note(v, fields[key]), 1, tier=3, keyed=True))
    return sections


def _note(v: _View, field: str) -> Callable[[str], tuple[str, str]]:
    return lambda tid: (v.id(tid), shorten(str(getattr(v.tasks[tid], field)), v.limits.name))


def _error_entries(v: _View, full: bool) -> list[dict[str, Any]]:
    """``critical_context.errors``: each failed task's error, in failed_tasks order (a
    message shared with an earlier failure is written once), then the other recent
    error records (of tasks that recovered or never failed outright)."""
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
        entry: dict[str, Any] = {"task_id": v.id(tid), "type": _opt(kind, limits.name),
                                 "message": text}
        record = v.latest_error.get(tid)
        if full and record is not None and first == tid:
            _add_record_details(entry, record, limits)
        entries.append(entry)
    failed = set(v.failed)
    for record in v.facts.recent_errors:
        if record.task_id in failed:
            continue
        entry = {"task_id": _opt(record.task_id, limits.id),
                 "type": _opt(record.error_type, limits.name),
                 "message": shorten(record.message or "", limits.error)}
        if full:
            _add_record_details(entry, record, limits)
        entries.append(entry)
    return entries


def _opt(value: str | None, limit: int) -> str | None:
    return None if value is None else shorten(value, limit)


def _add_record_details(entry: dict[str, Any], record: ErrorRecord, limits: Limits) -> None:
    if record.timestamp is not None:
        entry["at"] = _iso(record.timestamp)
    if record.stack_trace:
        entry["trace"] = shorten(_trace_tail(record.stack_trace), limits.detail)


def _trace_tail(trace: str) -> str:
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])


# --- full ---------------------------------------------------------------------------


def _full(v: _View, header: Header) -> Layout:
    layout = _standard(v, header)
    facts, limits = v.facts, v.limits
    state = facts.state
    env = state.environment
    disk = state.disk
    mib = 1024 * 1024
    used = disk.used_bytes if disk else None
    layout.skeleton["file_state"] = {
        # v1: disk_mb is the disk space in use (0 when the state does not say)
        "artifacts": [], "required": [], "disk_mb": round(used / mib) if used else 0,
        # added
        "missing": [], "disk": _disk(disk) if disk else {},
    }
    os_name = (env.os if env else None) or "unknown"
    layout.skeleton["environment"] = {
        # v1
        "os": shorten(os_name, limits.detail),
        "python": shorten(env.python_version, limits.detail)
        if env and env.python_version else "unknown",
        "packages": {},
        # added
        "architecture": _opt(env.architecture, limits.detail) if env else None,
        "missing_dependencies": [],
    }
    required = [f for f in state.files if f.required_by]
    by_name = {p.name: p for p in reversed(env.packages)} if env else {}  # first one wins
    packages = sorted(reversed(by_name.values()), key=lambda p: not p.required)
    layout.sections.extend([
        Section("file_state.missing", [f.path for f in required if f.exists is False],
                lambda p: shorten(p, limits.detail), 2),
        Section("environment.missing_dependencies",
                env.missing_dependencies if env else (), lambda n: shorten(n, limits.detail), 2),
        Section("file_state.artifacts", [f for f in state.files if f.produced_by],
                lambda f: {"path": shorten(f.path, limits.detail), "by": v.id(f.produced_by)},
                1, tier=3),
        Section("file_state.required", [f.path for f in required if f.exists],
                lambda p: shorten(p, limits.detail), 1, tier=3),
        Section("environment.packages", packages, lambda p: (
            short_id(p.name, limits.detail), shorten(p.version or "unknown", limits.detail),
        ), 1, tier=3, keyed=True),
    ])
    return layout


def _disk(disk: Any) -> dict[str, Any]:
    mib = 1024 * 1024
    out: dict[str, Any] = {}
    if disk.total_bytes is not None:
        out["total_mb"] = round(disk.total_bytes / mib)
    if disk.available_bytes is not None:
        out["available_mb"] = round(disk.available_bytes / mib)
    if disk.total_bytes and disk.used_bytes is not None:
        out["used_pct"] = round(100 * disk.used_bytes / disk.total_bytes, 1)
    return out


_LAYOUTS: dict[CompressionLevel, Callable[[_View, Header], Layout]] = {
    CompressionLevel.MINIMAL: _minimal,
    CompressionLevel.STANDARD: _standard,
    CompressionLevel.FULL: _full,
}
