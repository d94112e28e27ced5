"""The shared view of the facts every level's layout reads: ids, texts and errors,
shortened to the level's limits, and the parts all levels share (meta, progress)."""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any, NamedTuple

from ..model import FINISHED, CompressionLevel, Decision, ErrorRecord, Facts, Task
from ..pack import Header

UNTYPED = "Error"  # the type of a failure whose error has none (as v1's minimal wrote it)
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
    grouped: bool = False  # minimal: failures after the first five grouped by error type
    detailed_failures: int = 5  # failures described with name and attempts


def terse(limits: Limits) -> Limits:
    return limits._replace(terse=True, grouped=True, detailed_failures=3, error=60)


LIMITS_BY_LEVEL = {
    CompressionLevel.MINIMAL: Limits(name=60, error=100, prompt=100, warning=100, detail=80),
    CompressionLevel.STANDARD: Limits(name=60, error=120, prompt=160, warning=160, detail=100),
    CompressionLevel.FULL: Limits(name=120, error=400, prompt=240, warning=240, detail=300),
}


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much went."""
    if len(text) <= limit:
        return text
    marker_room = 16
    keep = max(limit - marker_room, 1)
    return f"{text[:keep]}…(+{len(text) - keep} chars)"


def error_type(kind: str | None) -> str | None:
    """An error type as the payload writes and groups it: runs of white space one space,
    none at the ends (``"  Error"`` and ``"Error "`` are ``Error``); None when blank."""
    return (" ".join(kind.split()) or None) if kind is not None else None


def opt(value: str | None, limit: int) -> str | None:
    return None if value is None else shorten(value, limit)


class View:
    """The facts as a layout reads them: ids, texts and errors, shortened to the limits."""

    def __init__(self, facts: Facts, limits: Limits) -> None:
        self.facts = facts
        self.limits = limits
        self.tasks: dict[str, Task] = facts.state.tasks
        self.latest_error = _latest_error_by_task(facts)
        self.failed = _failed_ids(facts, self.latest_error)

    def failure_types(self) -> list[list[str | int]]:
        """The runs of one error type along ``failed``: ``[type, n]`` says the next n
        ids of failed_tasks have that type."""
        kinds = [short_id(self.kind_of(tid), self.limits.name) for tid in self.failed]
        return [[kind, len(list(run))] for kind, run in itertools.groupby(kinds)]

    def id(self, tid: str) -> str:
        return short_id(tid, self.limits.id)

    def text(self, value: str | None, limit: int) -> str | None:
        return None if value is None else shorten(value, limit)

    def kind_of(self, tid: str) -> str:
        """A failed task's error type, or ``UNTYPED``: its group in ``failed``."""
        return self.error_of(tid)[0] or UNTYPED

    def error_of(self, tid: str) -> tuple[str | None, str | None]:
        """A failed task's error type and message: its own, else its latest record's."""
        task = self.tasks[tid]
        record = self.latest_error.get(tid)
        kind = error_type(task.error_type) or error_type(record.error_type if record else None)
        message = task.error_message or (record.message if record else None)
        return kind, message

    def name(self, tid: str) -> str | None:
        """The task's name, or None when terse and the name only restates the id."""
        name = self.tasks[tid].name
        if not name or (self.limits.terse and restates(name, tid)):
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
    return f"{tid[: max(limit - 10, 1)]}…#{digest}"


def restates(name: str, tid: str) -> bool:
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


def _failed_ids(facts: Facts, latest: dict[str, ErrorRecord]) -> list[str]:
    """Failed tasks, those blocking the most first (v1's order); among those blocking
    equally, grouped by error type (the types in the order they first appear), then the
    newest failure first. So the runs of one type (``failure_types``) are few."""
    failed = [t for t in facts.state.tasks.values() if t.status == "failed"]
    failed.sort(
        key=lambda t: (
            -facts.blocks_count.get(t.id, 0),
            t.failed_at is None,
            -(t.failed_at.timestamp() if t.failed_at else 0.0),
        )
    )
    kinds: dict[str, str] = {}
    for task in failed:
        record = latest.get(task.id)
        kinds[task.id] = (
            error_type(task.error_type)
            or error_type(record.error_type if record else None)
            or UNTYPED
        )
    rank = {kind: i for i, kind in enumerate(dict.fromkeys(kinds.values()))}
    failed.sort(key=lambda t: (-facts.blocks_count.get(t.id, 0), rank[kinds[t.id]]))
    return [t.id for t in failed]


def named_first(facts: Facts, first_next: int) -> list[str]:
    """The active tasks and the first ``first_next`` ready ones, taken by turns (an
    active one, a next one, ...), so the first next tasks are named however many run."""
    pairs = itertools.zip_longest(facts.active, facts.ready[:first_next])
    return list(dict.fromkeys(t for pair in pairs for t in pair if t is not None))


def blocked_ids(facts: Facts, failed_order: list[str]) -> list[str]:
    """Blocked tasks, grouped by the failure that blocks them, in failed_tasks order."""
    rank = {tid: i for i, tid in enumerate(failed_order)}
    ordered = sorted(facts.blocked, key=lambda b: rank.get(b.blocked_by, len(rank)))
    return [b.task_id for b in ordered]


def iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def progress(facts: Facts) -> tuple[str, int, int]:
    """Done of all tasks: the progress, the done count, the total. Skipped, deferred and
    cancelled tasks are not done (``dropped`` counts them)."""
    total = len(facts.state.tasks)
    done = facts.counts.get("done", 0)
    return f"{round(100 * done / total) if total else 0}%", done, total


def dropped(facts: Facts) -> dict[str, int]:
    """``{"tasks_dropped": n}``: the skipped, deferred and cancelled tasks, when any."""
    n = sum(facts.counts.get(s, 0) for s in FINISHED - {"done"})
    return {"tasks_dropped": n} if n else {}


def meta(header: Header, facts: Facts) -> dict[str, Any]:
    out: dict[str, Any] = {
        "level": header.level.value,
        "encoding": header.encoding,
        "budget": header.budget,
        "state_digest": header.state_digest,
        "generated_at": header.generated_at,
    }
    if facts.state.redactions:
        out["redacted"] = dict(sorted(facts.state.redactions.items()))
    state = facts.state
    if state.format != "orchestrator":  # orchestrator payloads keep their meta as it was
        out["format"] = state.format
    if state.tag is not None:
        others = [tag for tag in state.tags if tag != state.tag]
        out["tag"] = shorten(state.tag, _TAG_CHARS)
        out["other_tags"] = [shorten(tag, _TAG_CHARS) for tag in others[:_TAGS_SHOWN]]
        if len(others) > _TAGS_SHOWN:
            out["other_tags_omitted"] = len(others) - _TAGS_SHOWN
    return out
