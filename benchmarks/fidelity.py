"""Handoff fidelity: how many of a state's critical facts a payload lets the next session recover.

A fact is found when its strings appear in the payload's text (JSON-escaped as the
payload would write them), a pair when the second appears within ``WINDOW``
characters of the first, or the first is in the list the second keys
(``"failed_id":["blocked_id", ...]``). Each category has a weight, shared evenly by its facts,
so a category of 300 blocked tasks weighs what a category of 3 does.

| category | weight | facts |
|---|---|---|
| progress | 10 | the current phase id; the done and total task counts |
| running | 20 | every active task's id (declared in context.active_tasks, or running) |
| failed | 20 | every failed task's id with its error type |
| next | 15 | the first ten ready tasks' ids (ready: pending, every dependency done) |
| blocked | 15 | every blocked task's id with the failed task that blocks it |
| decisions | 10 | every pending decision's prompt (its first 60 characters) |
| errors | 10 | the five most recent error records' task id with error type |
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from context_handoff.model import Facts

WINDOW = 400
WEIGHTS = {
    "progress": 10,
    "running": 20,
    "failed": 20,
    "next": 15,
    "blocked": 15,
    "decisions": 10,
    "errors": 10,
}
# which payload list accounts for a category's missing facts, by level
OMITTED_KEYS = {
    "running": ("active", "execution_state.active_tasks"),
    "failed": ("failed", "execution_state.failed_tasks", "critical_context.errors"),
    "next": ("next", "execution_state.next_eligible"),
    "blocked": ("execution_state.blocked_tasks", "execution_state.blocked_by"),
    "decisions": ("pending_decisions", "critical_context.user_decisions"),
    "errors": ("critical_context.errors", "execution_state.failed_tasks", "failed"),
}
NEXT_SHOWN = 10
ERRORS_SHOWN = 5


class Fact(NamedTuple):
    category: str
    first: str
    then: str | None = None  # must follow ``first`` within WINDOW characters


class Score(NamedTuple):
    weighted_recall: float  # 0..1
    found: int
    total: int
    tokens_per_fact: float | None
    missing_by_category: dict[str, int]
    missing_accounted: float | None  # share of missing facts that `omitted` accounts for


def critical_facts(facts: Facts) -> list[Fact]:
    state = facts.state
    tasks = state.tasks.values()
    finished = sum(t.status == "done" for t in tasks)  # skipped, cancelled: not done
    out = [
        Fact("progress", state.current_phase or "", None),
        Fact("progress", f'"tasks_complete":{finished}', None),
        Fact("progress", f'"tasks_total":{len(state.tasks)}', None),
    ]
    out += [Fact("running", tid) for tid in facts.active]
    out += [Fact("failed", t.id, t.error_type or "") for t in tasks if t.status == "failed"]
    out += [Fact("next", tid) for tid in facts.ready[:NEXT_SHOWN]]
    out += [Fact("blocked", b.task_id, b.blocked_by or None) for b in facts.blocked]
    out += [Fact("decisions", d.prompt[:60]) for d in facts.pending_decisions]
    out += [
        Fact("errors", e.task_id or "", e.error_type or "")
        for e in facts.recent_errors[:ERRORS_SHOWN]
    ]
    return out


def _escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _found(text: str, fact: Fact) -> bool:
    first = _escaped(fact.first)
    if fact.category == "progress" and fact.first.startswith('"'):
        # a baseline may name the counts differently; the numbers must be there as values
        _, _, value = fact.first.partition(":")
        return fact.first in text or f":{value}," in text or f":{value}}}" in text
    start = text.find(first)
    if start < 0:
        return False
    if not fact.then:
        return True
    then = _escaped(fact.then)
    if _in_group(text, f'"{then}":[', f'"{first}"'):
        return True
    while start >= 0:  # either side: a failure may list what it blocks, or the reverse
        if then in text[max(0, start - WINDOW) : start + len(first) + WINDOW]:
            return True
        start = text.find(first, start + 1)
    return False


def _in_group(text: str, opening: str, member: str) -> bool:
    """``member`` inside the list that ``opening`` starts (``{"F1":["B1","B2"]}``)."""
    start = text.find(opening)
    while start >= 0:
        end = text.find("]", start)
        if member in text[start:end]:
            return True
        start = text.find(opening, start + 1)
    return False


def score(
    text: str, facts: list[Fact], tokens: int, omitted: dict[str, int] | None = None
) -> Score:
    by_category: dict[str, list[bool]] = {}
    for fact in facts:
        by_category.setdefault(fact.category, []).append(_found(text, fact))
    weight_sum = sum(WEIGHTS[c] for c in by_category)
    recall = sum(WEIGHTS[c] * sum(hits) / len(hits) for c, hits in by_category.items())
    found = sum(sum(hits) for hits in by_category.values())
    missing = {c: len(h) - sum(h) for c, h in by_category.items() if len(h) > sum(h)}
    return Score(
        weighted_recall=recall / weight_sum if weight_sum else 1.0,
        found=found,
        total=len(facts),
        tokens_per_fact=round(tokens / found, 1) if found else None,
        missing_by_category=missing,
        missing_accounted=_accounted(missing, omitted),
    )


def _accounted(missing: dict[str, int], omitted: dict[str, int] | None) -> float | None:
    total = sum(missing.values())
    if not total:
        return 1.0
    if omitted is None:
        return 0.0
    covered = 0
    for category, count in missing.items():
        room = max((omitted.get(key, 0) for key in OMITTED_KEYS.get(category, ())), default=0)
        covered += min(count, room)
    return covered / total


def as_dict(result: Score) -> dict[str, Any]:
    return result._asdict()
