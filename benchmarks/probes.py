"""Resume probes: the questions a fresh session asks first, and whether a payload answers them.

Unweighted, one probe a fact, so a payload's score is the share of probes it answers:

| probe | answered when the payload's text holds |
|---|---|
| phase | the current phase id |
| active | each active task's id (declared in context.active_tasks, or running) |
| failed | each failed task's id |
| error type | each failed task's error type, next to its id (within ``WINDOW`` characters) |
| decision | each pending decision's prompt (its first 60 characters) |
| next k | k distinct ready tasks' ids, for k = 1 .. min(5, ready tasks) |
| path head | the first task of the longest chain of unfinished tasks |
| missing dependency | each missing dependency's name |

The ids, types and prompts are looked for JSON-escaped, as a payload writes them.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from context_handoff.model import Facts

WINDOW = 400
NEXT_PROBES = 5


class Probe(NamedTuple):
    kind: str
    first: str
    then: str | None = None  # must appear within WINDOW characters of ``first``


class ProbeScore(NamedTuple):
    share: float  # answered / total, 0..1
    answered: int
    total: int
    missing_by_kind: dict[str, int]


def resume_probes(facts: Facts) -> tuple[list[Probe], list[str]]:
    """The probes for a state, and its ready task ids (for the ``next k`` probes)."""
    state = facts.state
    probes = [Probe("phase", state.current_phase)] if state.current_phase else []
    probes += [Probe("active", tid) for tid in facts.active]
    failed = [t for t in state.tasks.values() if t.status == "failed"]
    probes += [Probe("failed", t.id) for t in failed]
    probes += [Probe("error type", t.id, t.error_type) for t in failed if t.error_type]
    probes += [Probe("decision", d.prompt[:60]) for d in facts.pending_decisions]
    probes += [Probe("next", str(k)) for k in range(1, min(NEXT_PROBES, len(facts.ready)) + 1)]
    if facts.critical_path:
        probes.append(Probe("path head", facts.critical_path[0]))
    env = state.environment
    probes += [
        Probe("missing dependency", name) for name in (env.missing_dependencies if env else ())
    ]
    return probes, list(facts.ready)


def _escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _near(text: str, first: str, then: str) -> bool:
    first, then = _escaped(first), _escaped(then)
    start = text.find(first)
    while start >= 0:
        if then in text[max(0, start - WINDOW) : start + len(first) + WINDOW]:
            return True
        start = text.find(first, start + 1)
    return False


def score_probes(text: str, probes: list[Probe], ready: list[str]) -> ProbeScore:
    named_ready = sum(f'"{_escaped(tid)}' in text for tid in ready)
    missing: dict[str, int] = {}
    answered = 0
    for probe in probes:
        if probe.kind == "next":
            ok = named_ready >= int(probe.first)
        elif probe.then is not None:
            ok = _near(text, probe.first, probe.then)
        else:
            ok = _escaped(probe.first) in text
        answered += ok
        if not ok:
            missing[probe.kind] = missing.get(probe.kind, 0) + 1
    total = len(probes)
    return ProbeScore(answered / total if total else 1.0, answered, total, missing)
