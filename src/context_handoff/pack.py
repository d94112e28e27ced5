"""Stage 5: Facts + level + budget + a token counter -> a Payload within budget.

The payload's skeleton (summary, meta, and every list empty, with ``omitted``
counting everything) is counted exactly first: if even that exceeds the budget
the handoff fails and says what the smallest payload needs. The lists are then
filled by weighted rounds in priority order (failures, active work, next ready
tasks, blocked tasks, pending decisions, recent errors, critical path, the rest),
each item's cost counted once on its own. Each list keeps a prefix of its
candidates, so ``omitted[path]`` is exactly how many were left out. The whole
text is then counted exactly; if boundary effects pushed it over, the last items
added are taken back until it fits. The file written never exceeds the budget.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .errors import HandoffFailed
from .model import CompressionLevel, Facts, Payload, Task
from .tokens import TokenCounter

PAYLOAD_VERSION = "2.0"
_MAX_PASSES = 6
_FIXES_SHOWN = 2  # the latest attempts; the item counts the earlier ones
UNBLOCKED_KEY = "(marked blocked)"  # the group of tasks marked blocked with no failed dependency


class Header(NamedTuple):
    """What identifies a payload, fixed before packing."""

    handoff_id: str
    generated_at: str
    level: CompressionLevel
    budget: int
    encoding: str
    state_digest: str


class Limits(NamedTuple):
    """Longest strings kept at a level, in characters; longer ones are marked."""

    name: int
    error: int
    prompt: int
    warning: int
    detail: int  # rationales, stack-trace tails, file paths
    terse: bool = False  # leave out names that only restate the id
    detailed_failures: int = 5  # failures listed with name and attempts; later ones briefly


def _terse(limits: Limits) -> Limits:
    return limits._replace(terse=True, detailed_failures=3, error=max(60, limits.error * 2 // 3))


LIMITS_BY_LEVEL = {
    CompressionLevel.MINIMAL: Limits(name=60, error=100, prompt=100, warning=100, detail=80),
    CompressionLevel.STANDARD: Limits(name=60, error=120, prompt=160, warning=160, detail=100),
    CompressionLevel.FULL: Limits(name=120, error=400, prompt=240, warning=240, detail=300),
}


class _Section(NamedTuple):
    path: str  # dotted path of the list in the payload
    candidates: Sequence[Any]  # in the order they should be kept
    render: Callable[[Any], Any]  # candidate -> JSON value; called only for those considered
    weight: float  # items a round; below 1, an item every few rounds
    # When set, the list is written as {group key: [items]}: a key shared by many
    # items (the failure that blocks them) is paid for once. Candidates come sorted by it.
    group: Callable[[Any], str] | None = None
    # Tier 2 ("the rest": past decisions, phase table) starts once tier 1 can take no more.
    tier: int = 1


def serialize(data: dict[str, Any]) -> str:
    """The exact text written for a payload: compact JSON, UTF-8 as is, one newline."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much went."""
    if len(text) <= limit:
        return text
    marker_room = 16
    keep = max(limit - marker_room, 1)
    return f"{text[:keep]}…(+{len(text) - keep} chars)"


def pack_payload(facts: Facts, header: Header, counter: TokenCounter) -> Payload:
    """The richest payload for ``header.level`` whose text fits ``header.budget`` tokens.

    Packed first in the generous form; when that has to leave anything out, packed
    again in the terse form (names that only restate the id dropped, fewer detailed
    failures, shorter messages), which carries more items in the same budget.
    """
    limits = LIMITS_BY_LEVEL[header.level]
    text, tokens, data = _pack_with(facts, header, counter, limits)
    if data["omitted"]:
        text, tokens, data = _pack_with(facts, header, counter, _terse(limits))
    return Payload(
        level=header.level,
        data=data,
        text=text,
        tokens=tokens,
        budget=header.budget,
        encoding=header.encoding,
        omitted=dict(data["omitted"]),
        section_tokens={key: counter.count(serialize({key: value})) for key, value in data.items()},
    )


def _pack_with(
    facts: Facts, header: Header, counter: TokenCounter, limits: Limits
) -> tuple[str, int, dict[str, Any]]:
    skeleton, sections = _LAYOUTS[header.level](facts, header, limits)
    packer = _Packer(skeleton, [s for s in sections if s.candidates], counter, header.budget)
    text, tokens = packer.run(header.level)
    return text, tokens, packer.assemble()


class _Packer:
    def __init__(
        self, skeleton: dict[str, Any], sections: list[_Section],
        counter: TokenCounter, budget: int,
    ) -> None:
        self.skeleton = skeleton
        self.sections = sections
        self.counter = counter
        self.budget = budget
        self.rendered: dict[str, list[Any]] = {s.path: [] for s in sections}
        self.costs: dict[str, list[int]] = {s.path: [] for s in sections}
        # Sections whose items were taken back by _trim stay closed; a section that only
        # ran out of room may take more in the next pass, once the exact count shows slack.
        self.closed: set[str] = set()
        self.added: list[str] = []  # section paths, in the order items were added

    def run(self, level: CompressionLevel) -> tuple[str, int]:
        text = serialize(self.assemble())
        tokens = self.counter.count(text)
        if tokens > self.budget:
            raise HandoffFailed(
                f"even the smallest {level.value} payload needs {tokens} tokens, over the budget "
                f"of {self.budget}; raise --budget to at least {tokens} or choose a smaller level"
            )
        for _ in range(_MAX_PASSES):
            if not self._fill(self.budget - tokens):
                break
            text = serialize(self.assemble())
            tokens = self.counter.count(text)
            text, tokens = self._trim(text, tokens)
        return text, tokens

    def _fill(self, room: int) -> bool:
        """Add items by weighted rounds while their own cost fits ``room``, tier by tier."""
        added = False
        for tier in sorted({s.tier for s in self.sections}):
            tier_sections = [s for s in self.sections if s.tier == tier]
            room, added_here = self._fill_tier(tier_sections, room)
            added = added or added_here
        return added

    def _fill_tier(self, sections: list[_Section], room: int) -> tuple[int, bool]:
        open_sections = [s for s in sections if s.path not in self.closed]
        credit = dict.fromkeys((s.path for s in open_sections), 0.0)
        full: set[str] = set()
        added = False
        while open_sections:
            still_open = []
            for section in open_sections:
                credit[section.path] += section.weight
                while credit[section.path] >= 1:
                    credit[section.path] -= 1
                    cost = self._next_cost(section)
                    if cost is None:
                        self.closed.add(section.path)
                        break
                    if cost > room:
                        full.add(section.path)
                        break
                    room -= cost
                    self.costs[section.path].append(cost)
                    self.added.append(section.path)
                    added = True
                if section.path not in self.closed and section.path not in full:
                    still_open.append(section)
            open_sections = still_open
        return room, added

    def _next_cost(self, section: _Section) -> int | None:
        rendered = self.rendered[section.path]
        index = len(self.costs[section.path])
        if index >= len(section.candidates):
            return None
        candidate = section.candidates[index]
        if index == len(rendered):
            rendered.append(section.render(candidate))
        item_text = json.dumps(rendered[index], ensure_ascii=False, separators=(",", ":"))
        cost = self.counter.count(item_text) + 1  # and its comma
        if section.group is not None:
            key = section.group(candidate)
            if index == 0 or section.group(section.candidates[index - 1]) != key:
                cost += self.counter.count(json.dumps(key, ensure_ascii=False)) + 3  # :[ ],
        return cost

    def _trim(self, text: str, tokens: int) -> tuple[str, int]:
        """Take back the last items added until the exact count fits."""
        while tokens > self.budget:
            excess = tokens - self.budget
            while excess > 0 and self.added:
                path = self.added.pop()
                excess -= self.costs[path].pop()
                self.closed.add(path)
            text = serialize(self.assemble())
            tokens = self.counter.count(text)
        return text, tokens

    def assemble(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(self.skeleton))  # a deep copy
        omitted: dict[str, int] = {}
        for section in self.sections:
            kept = len(self.costs[section.path])
            items = self.rendered[section.path][:kept]
            if section.group is not None:
                grouped: dict[str, list[Any]] = {}
                for candidate, item in zip(section.candidates, items, strict=False):
                    grouped.setdefault(section.group(candidate), []).append(item)
                _set_path(data, section.path, grouped)
            else:
                _set_path(data, section.path, items)
            if kept < len(section.candidates):
                omitted[section.path] = len(section.candidates) - kept
        data["omitted"] = omitted
        return data


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value


# --- what each level holds ----------------------------------------------------------


class _Context:
    def __init__(self, facts: Facts, limits: Limits) -> None:
        self.facts = facts
        self.limits = limits
        self.latest_error = _latest_error_by_task(facts)

    @property
    def tasks(self) -> dict[str, Task]:
        return self.facts.state.tasks

    def named(self, tid: str) -> dict[str, str]:
        """``{"name": ...}``, or nothing when terse and the name only restates the id."""
        name = self.tasks[tid].name
        if self.limits.terse and _restates(name, tid):
            return {}
        return {"name": shorten(name, self.limits.name)}

    def ref(self, tid: str) -> dict[str, str]:
        return {"id": tid, **self.named(tid)}

    def error_text(self, tid: str) -> str:
        task = self.tasks[tid]
        record = self.latest_error.get(tid)
        kind = task.error_type or (record.error_type if record else None)
        message = task.error_message or (record.message if record else None)
        text = ": ".join(part for part in (kind, message) if part) or "no error recorded"
        return shorten(text, self.limits.error)


def _restates(name: str, tid: str) -> bool:
    """True when most of the name's words are already in the id ("Deploy to Kubernetes"
    for task_045_deploy_kubernetes): the name then costs tokens and says nothing new."""
    words = re.findall(r"[a-z]{3,}", name.lower())
    lowered = tid.lower()
    return not words or sum(w in lowered for w in words) >= 0.6 * len(words)


def _latest_error_by_task(facts: Facts) -> dict[str, Any]:
    # recent_errors is newest first, so the first record seen for a task is its latest
    latest: dict[str, Any] = {}
    for record in facts.recent_errors:
        if record.task_id and record.task_id not in latest:
            latest[record.task_id] = record
    return latest


def _summary(facts: Facts, header: Header, limits: Limits) -> dict[str, Any]:
    state = facts.state
    total = len(state.tasks)
    finished = sum(facts.counts.get(s, 0) for s in ("done", "skipped", "cancelled"))
    phase = next((p for p in facts.phases if p.id == state.current_phase), None)
    summary: dict[str, Any] = {
        "project": shorten(state.project or "(unnamed project)", limits.name),
        "current_phase": state.current_phase,
    }
    if phase is not None:
        summary["phase_name"] = shorten(phase.name, limits.name)
        summary["phase_progress"] = f"{phase.done}/{phase.total}"
    summary.update({
        "progress": f"{round(100 * finished / total) if total else 0}%",
        "tasks_complete": finished,
        "tasks_total": total,
        "counts": {
            "running": facts.counts.get("running", 0),
            "failed": facts.counts.get("failed", 0),
            "pending": facts.counts.get("pending", 0),
            "blocked": len(facts.blocked),
            "ready": len(facts.ready),
            "pending_decisions": len(facts.pending_decisions),
        },
        "generated_at": header.generated_at,
        "last_updated": _iso(state.last_updated),
        "state_age_hours": facts.age_hours,
    })
    return summary


_TAGS_SHOWN = 10  # Task Master: the other tags named in meta
_TAG_CHARS = 40


def _meta(header: Header, facts: Facts) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "level": header.level.value,
        "encoding": header.encoding,
        "budget": header.budget,
        "state_digest": header.state_digest,
        "generated_at": header.generated_at,
    }
    meta["redacted"] = dict(sorted(facts.state.redactions.items()))
    state = facts.state
    if state.format != "orchestrator":  # orchestrator payloads keep their v1 meta
        meta["format"] = state.format
    if state.tag is not None:
        others = [tag for tag in state.tags if tag != state.tag]
        meta["tag"] = shorten(state.tag, _TAG_CHARS)
        meta["other_tags"] = [shorten(tag, _TAG_CHARS) for tag in others[:_TAGS_SHOWN]]
        if len(others) > _TAGS_SHOWN:
            meta["other_tags_omitted"] = len(others) - _TAGS_SHOWN
    return meta


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _blocked_by_failure(facts: Facts, failed_order: list[str]) -> list[Any]:
    """Blocked tasks grouped by their failure, failures in the order failed_tasks lists them."""
    rank = {tid: i for i, tid in enumerate(failed_order)}
    return sorted(facts.blocked, key=lambda b: rank.get(b.blocked_by, len(rank)))


def _failed_ids(facts: Facts) -> list[str]:
    """Failed tasks, those blocking the most first, then newest failure first."""
    failed = [t for t in facts.state.tasks.values() if t.status == "failed"]
    failed.sort(key=lambda t: (
        -facts.blocks_count.get(t.id, 0),
        t.failed_at is None,
        -(t.failed_at.timestamp() if t.failed_at else 0.0),
    ))
    return [t.id for t in failed]


def _minimal(
    facts: Facts, header: Header, limits: Limits
) -> tuple[dict[str, Any], list[_Section]]:
    ctx = _Context(facts, limits)
    running = [t.id for t in facts.state.tasks.values() if t.status == "running"]

    def failed(tid: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": tid, "error": ctx.error_text(tid)}
        if facts.blocks_count.get(tid):
            item["blocks"] = facts.blocks_count[tid]
        return item

    skeleton = {
        "handoff_id": header.handoff_id,
        "summary": _summary(facts, header, limits),
        "active": [], "failed": [], "next": [],
        "meta": _meta(header, facts),
    }
    sections = [
        _Section("failed", _failed_ids(facts), failed, 3),
        _Section("active", running, ctx.ref, 3),
        _Section("next", facts.ready, lambda tid: tid, 3),
    ]
    return skeleton, sections


def _standard(
    facts: Facts, header: Header, limits: Limits
) -> tuple[dict[str, Any], list[_Section]]:
    ctx = _Context(facts, limits)
    latest = ctx.latest_error
    failed_now = {t.id for t in facts.state.tasks.values() if t.status == "failed"}
    running = [t.id for t in facts.state.tasks.values() if t.status == "running"]
    failed_order = _failed_ids(facts)
    first_with_error: dict[str, str] = {}  # error text -> the first failed task listed with it

    rendered_failures = 0

    def failed(tid: str) -> dict[str, Any]:
        # Called once per item, in payload order. Failures often share one cause: the
        # message is written once and later tasks point back to it (items are kept as a
        # prefix, so the first stays if they do). The first few failures carry their
        # name and what was tried; later ones only their id, error and reach.
        nonlocal rendered_failures
        rendered_failures += 1
        detailed = rendered_failures <= limits.detailed_failures
        error = ctx.error_text(tid)
        first = first_with_error.setdefault(error, tid)
        if first != tid:
            kind = ctx.tasks[tid].error_type or error.split(":", 1)[0]
            error = shorten(f"{kind} (same as {first})", limits.error)
        elif not detailed:
            error = shorten(error, limits.error // 2)
        item: dict[str, Any] = {"id": tid}
        if detailed:
            item.update(ctx.named(tid))
        item["error"] = error
        if facts.blocks_count.get(tid):
            item["blocks"] = facts.blocks_count[tid]
        record = latest.get(tid)
        if not detailed:
            return item
        if record is not None and record.attempted_fixes:
            fixes = record.attempted_fixes
            item["tried"] = [shorten(f, limits.detail) for f in fixes[-_FIXES_SHOWN:]]
            if len(fixes) > _FIXES_SHOWN:
                item["tried_earlier"] = len(fixes) - _FIXES_SHOWN
        return item

    def error(record: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"task": record.task_id, "type": record.error_type}
        item["message"] = shorten(record.message or "", limits.error)
        item["at"] = _iso(record.timestamp)
        if header.level is CompressionLevel.FULL and record.stack_trace:
            item["trace"] = shorten(_trace_tail(record.stack_trace), limits.detail)
        return item

    def decision(d: Any) -> dict[str, Any]:
        item = {"prompt": shorten(d.prompt, limits.prompt), "choice": shorten(d.choice, 40)}
        if d.rationale:
            item["why"] = shorten(d.rationale, limits.detail)
        return item

    skeleton: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "handoff_id": header.handoff_id,
        "summary": _summary(facts, header, limits),
        "execution_state": {
            "active_tasks": [], "failed_tasks": [], "next_tasks": [], "blocked_tasks": {},
        },
        "critical_context": {
            "pending_decisions": [], "recent_errors": [], "warnings": [], "recent_decisions": [],
        },
        "dag_snapshot": {"critical_path": [], "phases": []},
        "meta": _meta(header, facts),
    }
    sections = [
        _Section("execution_state.failed_tasks", failed_order, failed, 8),
        _Section("execution_state.active_tasks", running,
                 ctx.ref, 4),
        _Section("execution_state.next_tasks", facts.ready,
                 ctx.ref, 2),
        _Section("execution_state.blocked_tasks", _blocked_by_failure(facts, failed_order),
                 lambda b: b.task_id, 4, group=lambda b: b.blocked_by or UNBLOCKED_KEY),
        _Section("critical_context.pending_decisions", facts.pending_decisions,
                 lambda d: shorten(d.prompt, limits.prompt), 3),
        _Section("critical_context.recent_errors",
                 [e for e in facts.recent_errors if e.task_id not in failed_now], error, 1),
        _Section("dag_snapshot.critical_path", facts.critical_path, lambda tid: tid, 1),
        _Section("critical_context.warnings", facts.warnings,
                 lambda w: shorten(w, limits.warning), 0.5),
        # the rest, once the above can take no more
        _Section("critical_context.recent_decisions", facts.recent_decisions, decision, 1,
                 tier=2),
        _Section("dag_snapshot.phases", facts.phases, lambda p: {
            "id": p.id, "name": shorten(p.name, limits.name),
            "done": p.done, "total": p.total, "status": p.status,
        }, 1, tier=2),
    ]
    return skeleton, sections


def _full(
    facts: Facts, header: Header, limits: Limits
) -> tuple[dict[str, Any], list[_Section]]:
    skeleton, sections = _standard(facts, header, limits)
    state = facts.state
    env = state.environment
    disk = state.disk
    skeleton["file_state"] = {"disk": _disk(disk) if disk else None, "files": []}
    skeleton["environment"] = {
        "os": env.os if env else None,
        "architecture": env.architecture if env else None,
        "python": env.python_version if env else None,
        "python_path": shorten(env.python_path, limits.detail) if env and env.python_path else None,
        "missing_dependencies": [],
        "packages": [],
    }
    # files a task still needs and that are missing come first
    files = sorted(state.files, key=lambda f: (not (f.exists is False and f.required_by),))
    sections += [
        _Section("environment.missing_dependencies",
                 env.missing_dependencies if env else (), lambda name: shorten(name, 80), 2),
        _Section("file_state.files", files, lambda f: _file(f, limits), 1),
        _Section("environment.packages", env.packages if env else (), _package, 1),
    ]
    return skeleton, sections


def _disk(disk: Any) -> dict[str, Any]:
    mib = 1024 * 1024
    out: dict[str, Any] = {}
    if disk.used_bytes is not None:
        out["used_mb"] = round(disk.used_bytes / mib)
    if disk.total_bytes is not None:
        out["total_mb"] = round(disk.total_bytes / mib)
    if disk.available_bytes is not None:
        out["available_mb"] = round(disk.available_bytes / mib)
    if disk.total_bytes and disk.used_bytes is not None:
        out["used_pct"] = round(100 * disk.used_bytes / disk.total_bytes, 1)
    return out


def _file(record: Any, limits: Limits) -> dict[str, Any]:
    item: dict[str, Any] = {"path": shorten(record.path, limits.detail), "exists": record.exists}
    if record.required_by:
        item["required_by"] = list(record.required_by)
    if record.produced_by:
        item["produced_by"] = record.produced_by
    if record.size_bytes is not None:
        item["size_bytes"] = record.size_bytes
    return item


def _package(package: Any) -> str:
    text = package.name if package.version is None else f"{package.name}=={package.version}"
    return text if package.required else f"{text} (optional)"


def _trace_tail(trace: str) -> str:
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])


_LAYOUTS: dict[
    CompressionLevel,
    Callable[[Facts, Header, Limits], tuple[dict[str, Any], list[_Section]]],
] = {
    CompressionLevel.MINIMAL: _minimal,
    CompressionLevel.STANDARD: _standard,
    CompressionLevel.FULL: _full,
}
