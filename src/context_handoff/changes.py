"""What changed since the last handoff: snapshots, and the difference between two.

A snapshot is a small file written beside a payload (``generate --snapshot``), never
sent to the model: per task a status word ("ready" for a pending task that could
start) and a fingerprint of its error, the decisions made, the current phase, the
state's digest and time. A few bytes a task.

``changes_since`` compares the current facts with an earlier snapshot (or with an
earlier state file, snapshotted on the fly) and says which tasks finished, failed,
recovered, started or became ready, which decisions were made and whether the phase
moved. Pure functions; the pipeline reads and writes the files.
"""

from __future__ import annotations

from typing import Any

from . import validate
from .digests import short_digest
from .errors import InputError
from .excerpt import describe_value
from .jsontext import compact_json
from .model import FINISHED, Changes, Facts, Snapshot
from .redact import Redactor
from .times import utc_stamp

SNAPSHOT_FORMAT = "context-handoff snapshot"
SNAPSHOT_VERSION = 1
SNAPSHOT_TEXT_CHARS = 200  # a phase, a choice, the scope


def _fingerprint(*parts: str | None) -> str:
    return short_digest("\x1f".join(part or "" for part in parts), 8)


def take_snapshot(facts: Facts, taken_at: str) -> Snapshot:
    """The snapshot of ``facts``, as of the handoff generated at ``taken_at``."""
    ready = set(facts.ready)
    active = set(facts.active)
    tasks: dict[str, tuple[str, str | None]] = {}
    for task in facts.state.tasks.values():
        if task.id in active:
            word = "active"
        elif task.id in ready:
            word = "ready"
        else:
            word = task.status
        error = (
            _fingerprint(task.error_type, task.error_message) if task.status == "failed" else None
        )
        tasks[task.id] = (word, error)
    state = facts.state
    decisions = {
        _fingerprint(d.prompt): _bounded(d.choice) for d in state.decisions if not d.pending
    }
    phase = state.current_phase
    return Snapshot(
        state.source.digest,
        taken_at,
        None if phase is None else _bounded(phase),
        tasks,
        decisions,
        scope_of(state.format, state.tag, state.project),
    )


def scope_of(format_name: str, tag: str | None, project: str | None) -> str:
    return _bounded("|".join((format_name, tag or "", project or "")))


def _bounded(text: str) -> str:
    """``text`` kept to SNAPSHOT_TEXT_CHARS, the rest stood for by its fingerprint: what
    is written and what is read back are bounded alike, so that they still compare."""
    if len(text) <= SNAPSHOT_TEXT_CHARS:
        return text
    return f"{text[: SNAPSHOT_TEXT_CHARS - 10]}…{_fingerprint(text)}"


def other_scope(previous: Snapshot, now: Snapshot) -> str | None:
    """What ``previous`` was of ("taskmaster, alpha"), when that is not what ``now`` is
    of: another project's or tag's handoff says nothing about this one's changes."""
    if not previous.scope or previous.scope == now.scope:
        return None
    return ", ".join(part for part in previous.scope.split("|") if part)


def snapshot_of_state(facts: Facts) -> Snapshot:
    """The snapshot of an earlier state file, taken now: as of when it says it was
    updated, else its file's modification time."""
    stamp = facts.state.last_updated or facts.state.source.mtime
    return take_snapshot(facts, utc_stamp(stamp) if stamp else "an earlier state")


def snapshot_text(snapshot: Snapshot) -> str:
    """A snapshot as written: compact JSON, one line."""
    data = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "state_digest": snapshot.state_digest,
        "taken_at": snapshot.taken_at,
        "current_phase": snapshot.current_phase,
        "tasks": {
            tid: [word, error] if error else word for tid, (word, error) in snapshot.tasks.items()
        },
        "decisions": snapshot.decisions,
        "scope": snapshot.scope,
    }
    return compact_json(data) + "\n"


def is_snapshot(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == SNAPSHOT_FORMAT


def parse_snapshot(document: dict[str, Any], name: str, *, redact: bool = True) -> Snapshot:
    """A snapshot document -> Snapshot. A snapshot is input like a state: checked against
    its schema (InputError naming the JSON path), then every string redacted and kept to
    ``SNAPSHOT_TEXT_CHARS`` as ``take_snapshot`` keeps them, so that a snapshot written by
    a ``--no-redact`` run, or restored from elsewhere, brings no credential and no
    megabyte of text into a handoff."""
    if document.get("version") != SNAPSHOT_VERSION:
        raise InputError(
            f"{name}::$.version: {describe_value(document.get('version'))} is not "
            f"a snapshot version this release reads ({SNAPSHOT_VERSION})"
        )
    problems = validate.find_problems(document, "snapshot", name)
    if problems:
        message = (
            str(problems[0])
            if len(problems) == 1
            else f"{name}: {len(problems)} problems in the snapshot"
        )
        raise InputError(message, problems)
    if redact:
        document = Redactor().redact_document(document)
    tasks = {
        tid: (value, None) if isinstance(value, str) else (value[0], value[1])
        for tid, value in document["tasks"].items()
    }
    phase = document.get("current_phase")
    return Snapshot(
        document["state_digest"],
        document["taken_at"],
        None if phase is None else _bounded(phase),
        tasks,
        {key: _bounded(choice) for key, choice in (document.get("decisions") or {}).items()},
        _bounded(document.get("scope", "")),
    )


def changes_since(previous: Snapshot, facts: Facts, now: Snapshot) -> Changes:
    """How ``now`` (the snapshot of ``facts``) differs from ``previous``, in task order."""
    before = previous.tasks
    after = now.tasks

    def was(tid: str) -> str | None:
        return before[tid][0] if tid in before else None

    order = list(facts.state.tasks)
    newly_failed = [
        t
        for t in order
        if after[t][0] == "failed" and (was(t) != "failed" or before[t][1] != after[t][1])
    ]
    recovered = [
        t
        for t in order
        if was(t) == "failed" and (after[t][0] in FINISHED or after[t][0] in ("running", "active"))
    ]
    recovered_set = set(recovered)
    newly_done = [
        t
        for t in order
        if after[t][0] in FINISHED and was(t) not in FINISHED and t not in recovered_set
    ]
    started = [
        t
        for t in order
        if after[t][0] == "active" and was(t) != "active" and t not in recovered_set
    ]
    newly_ready = [t for t in order if after[t][0] == "ready" and was(t) != "ready"]
    prompts = {_fingerprint(d.prompt): d.prompt for d in facts.state.decisions}
    # made since, or made again with another choice
    decided = [
        prompts[fp] for fp, choice in now.decisions.items() if previous.decisions.get(fp) != choice
    ]
    return Changes(
        since_at=previous.taken_at,
        since_digest=previous.state_digest,
        newly_failed=tuple(newly_failed),
        recovered=tuple(recovered),
        newly_done=tuple(newly_done),
        started=tuple(started),
        newly_ready=tuple(newly_ready),
        decided=tuple(decided),
        phase_from=previous.current_phase,
        phase_to=now.current_phase,
        removed=tuple(t for t in before if t not in after),
    )
