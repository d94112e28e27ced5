"""The immutable records passed between the pipeline's stages."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from . import defaults


class CompressionLevel(str, Enum):
    """How much of the state a payload carries, and its default token budget."""

    MINIMAL = "minimal"
    STANDARD = "standard"
    FULL = "full"

    @property
    def default_budget(self) -> int:
        return DEFAULT_BUDGETS[self]


DEFAULT_BUDGETS = {CompressionLevel(level): budget for level, budget in defaults.BUDGETS.items()}

# Canonical statuses, and the spellings real orchestrators write for them.
STATUS_SYNONYMS: dict[str, str] = {
    "success": "done",
    "completed": "done",
    "done": "done",
    "failed": "failed",
    "error": "failed",
    "running": "running",
    "in_progress": "running",
    "active": "running",
    "pending": "pending",
    "todo": "pending",
    "queued": "pending",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "blocked": "blocked",
}
FINISHED = frozenset({"done", "skipped", "cancelled"})


class Task(NamedTuple):
    id: str
    name: str
    status: str  # canonical, see STATUS_SYNONYMS
    dependencies: tuple[str, ...]
    dependents: tuple[str, ...]  # as declared; derive.py adds the reverse edges
    error_type: str | None
    error_message: str | None
    started_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    # Formats other than the orchestrator's fill these; the defaults keep older code working.
    priority: str | None = None  # as the file says it (Task Master: critical, high, medium, low)
    source_status: str | None = None  # the file's own status word, before mapping (e.g. review)
    parent: str | None = None  # the task a subtask belongs to
    # the input's own notes on the task (Kiro's requirements, beads' notes or close
    # reason, Backlog.md's implementation notes or plan, Ralph's notes and progress)
    details: str | None = None


class ErrorRecord(NamedTuple):
    task_id: str | None
    error_type: str | None
    message: str | None
    timestamp: datetime | None
    stack_trace: str | None
    attempted_fixes: tuple[str, ...]


class Decision(NamedTuple):
    prompt: str
    choice: str
    decided_at: datetime | None
    rationale: str | None

    @property
    def pending(self) -> bool:
        return self.choice.strip().lower() == "pending"


class Phase(NamedTuple):
    id: str
    name: str
    tasks: tuple[str, ...]
    status: str | None


class FileRecord(NamedTuple):
    path: str
    exists: bool | None
    required_by: tuple[str, ...]
    produced_by: str | None
    size_bytes: int | None


class DiskUsage(NamedTuple):
    total_bytes: int | None
    used_bytes: int | None
    available_bytes: int | None


class Package(NamedTuple):
    name: str
    version: str | None
    required: bool


class Environment(NamedTuple):
    os: str | None
    architecture: str | None
    python_version: str | None
    packages: tuple[Package, ...]
    missing_dependencies: tuple[str, ...]


class Source(NamedTuple):
    """Where a state came from: its name for messages, digest and modification time."""

    name: str
    digest: str  # first 12 hex digits of the file's sha256
    mtime: datetime | None
    committed_at: datetime | None = None  # the file's last commit (on a CI runner)


class State(NamedTuple):
    """A validated, normalised orchestrator state."""

    source: Source
    project: str | None
    last_updated: datetime | None
    current_phase: str | None
    context_active: tuple[str, ...]
    context_completed: tuple[str, ...]
    context_failed: tuple[str, ...]
    tasks: dict[str, Task]  # insertion order is the file's order
    phases: tuple[Phase, ...]
    errors: tuple[ErrorRecord, ...]
    decisions: tuple[Decision, ...]
    files: tuple[FileRecord, ...]
    disk: DiskUsage | None
    environment: Environment | None
    redactions: dict[str, int]  # kind -> how many values were redacted
    warnings: tuple[str, ...]  # oddities found while reading (unreadable times, ...)
    format: str = "orchestrator"  # the input format's name (formats.FORMATS_BY_NAME)
    tag: str | None = None  # Task Master: the tag read
    tags: tuple[str, ...] = ()  # Task Master: every tag in the file
    # The format's own order of the tasks to start next (Task Master: `task-master next`);
    # None: derive.py orders ready tasks itself.
    next_order: tuple[str, ...] | None = None


class PhaseProgress(NamedTuple):
    id: str
    name: str
    done: int  # its tasks done (as the overall counts: skipped and cancelled are not)
    total: int
    status: str  # "done" (every task done or dropped), "active" or "pending"
    dropped: int = 0  # its skipped (deferred reads as skipped) and cancelled tasks


class Blocked(NamedTuple):
    task_id: str
    blocked_by: str  # the failed task that blocks it (nearest), or "" if only marked blocked


class Snapshot(NamedTuple):
    """What a handoff was, in a few bytes a task: what the next one compares with."""

    state_digest: str
    taken_at: str  # when the snapshot's handoff was generated (ISO 8601, UTC)
    current_phase: str | None
    tasks: dict[str, tuple[str, str | None]]  # task id -> (status word, error fingerprint)
    decisions: dict[str, str]  # prompt fingerprint -> choice, for decided ones only
    scope: str = ""  # the input's format, tag and project: snapshots of others don't compare


class Changes(NamedTuple):
    """What changed since an earlier handoff (changes.py)."""

    since_at: str
    since_digest: str
    newly_failed: tuple[str, ...]  # failed now; not failed then (or failed then with another error)
    recovered: tuple[str, ...]  # failed then; done or running now
    newly_done: tuple[str, ...]  # finished now; not finished then (recovered ones excluded)
    started: tuple[str, ...]  # active now; not active then
    newly_ready: tuple[str, ...]  # ready now; not ready then
    decided: tuple[str, ...]  # prompts of decisions made (or changed) since
    removed: tuple[str, ...]  # in the earlier handoff, gone from the state now
    phase_from: str | None
    phase_to: str | None

    @property
    def phase_moved(self) -> bool:
        return self.phase_from != self.phase_to


class Facts(NamedTuple):
    """What derive.py learns from a state: everything the packer chooses from."""

    state: State
    counts: dict[str, int]  # canonical status -> number of tasks
    # what the orchestrator was doing: context.active_tasks as declared, then running tasks
    active: tuple[str, ...]
    ready: tuple[str, ...]  # pending, every dependency finished, not active; best first
    blocked: tuple[Blocked, ...]
    blocks_count: dict[str, int]  # failed task -> how many tasks it blocks, transitively
    critical_path: tuple[str, ...]  # the longest chain of unfinished tasks
    phases: tuple[PhaseProgress, ...]
    recent_errors: tuple[ErrorRecord, ...]  # newest first, undated last
    recent_decisions: tuple[Decision, ...]  # decided ones, newest first, undated last
    pending_decisions: tuple[Decision, ...]
    warnings: tuple[str, ...]
    age_hours: float | None  # how old the state is at generation time (< 0: in the future)
    # where the age came from: "metadata.last_updated", "git commit" or "file mtime"
    age_source: str | None = None
    changes: Changes | None = None  # since an earlier handoff, when asked for


class Payload(NamedTuple):
    """A packed payload: the dict, its exact serialisation and what was left out."""

    level: CompressionLevel
    data: dict[str, Any]
    text: str  # exactly what is written: compact JSON and a trailing newline
    tokens: int
    budget: int
    encoding: str
    omitted: dict[str, int]
    section_tokens: dict[str, int]  # top-level key -> tokens of that part alone
    terse: bool = False  # packed in the terse form (the generous one had to cut)


class Generated(NamedTuple):
    """What the pipeline made of a state: the payload, the facts it was packed from."""

    payload: Payload
    facts: Facts
    timings: dict[str, float]  # stage -> seconds
    snapshot: Snapshot | None = None  # this handoff's, for the next one's --since
    notes: tuple[str, ...] = ()  # for the person running it, not for the payload
