"""Fair shares: every section's head before any section's tail, and the prefix contract
(whatever a payload keeps of a section is the start of ``layouts.full_sections``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from context_handoff import layouts, pipeline
from context_handoff.layouts.view import terse
from context_handoff.model import CompressionLevel, Generated
from context_handoff.pack import Header
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter

LEVELS = ("minimal", "standard", "full")
BUDGETS = {"minimal": (300, 400, 500, 800), "standard": (700, 1000, 1200, 2000),
           "full": (900, 1400, 2000, 3000)}


def _later(doc: dict[str, Any]) -> dict[str, Any]:
    """Two tasks finished, two failed and two recovered since ``doc``."""
    later = copy.deepcopy(doc)
    tasks = later["tasks"]
    by = {s: [t for t, v in tasks.items() if v["status"] == s] for s in ("running", "pending",
                                                                            "failed")}
    for tid in by["running"][:2]:
        tasks[tid]["status"] = "success"
    for tid in by["pending"][-2:]:
        tasks[tid]["status"] = "failed"
        tasks[tid]["error"] = {"type": "RuntimeError", "message": "new failure"}
    for tid in by["failed"][:2]:
        tasks[tid]["status"], tasks[tid]["error"] = "success", None
    later["context"]["active_tasks"] = []
    return later


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fair")
    doc = make_state(2000, failed=150, active=30, seed=7)
    doc["context"]["active_tasks"] = []
    before, after = folder / "before.json", folder / "after.json"
    before.write_text(json.dumps(doc))
    after.write_text(json.dumps(_later(doc)))
    return before, after


def _generate(after: Path, before: Path, level: str, budget: int) -> Generated:
    return pipeline.generate(pipeline.GenerateOptions(
        state=after, since=before, level=level, budget=budget))


def _kept(data: dict[str, Any], path: str) -> list[Any]:
    value: Any = data
    for key in path.split("."):
        value = value[key]
    # a map's entries one by one, each a one-entry object, as ``more`` pages them
    return [{k: v} for k, v in value.items()] if isinstance(value, dict) else list(value)


@pytest.mark.parametrize("level", LEVELS)
def test_every_head_before_any_tail_and_kept_items_are_a_prefix(states, level):
    before, after = states
    counter = build_counter()
    for budget in BUDGETS[level]:
        generated = _generate(after, before, level, budget)
        payload = generated.payload
        is_terse = payload.terse
        full = layouts.full_sections(generated.facts, CompressionLevel(level), terse_form=is_terse)
        header = Header("", "", CompressionLevel(level), budget, "", "")
        limits = layouts.LIMITS_BY_LEVEL[CompressionLevel(level)]
        layout = layouts.build_layout(generated.facts, header,
                                      terse(limits) if is_terse else limits)
        heads = {s.path: min(s.head, s.caps.get(s.tier, s.head)) for s in layout.sections}
        kept = {path: _kept(payload.data, path) for path in full}
        for path, items in full.items():
            # the contract of the MCP server's `more`: a prefix, same order, same shape
            assert kept[path] == items[:len(kept[path])], (level, budget, path)
            assert len(items) - len(kept[path]) == payload.omitted.get(path, 0)
        beyond_head = [p for p in full if len(kept[p]) > heads[p]]
        for path, items in full.items():
            if kept[path] or not beyond_head:
                continue
            first = json.dumps(items[0], ensure_ascii=False, separators=(",", ":"))
            room = budget - payload.tokens
            assert counter.count(first) > room, (level, budget, path, beyond_head)


def test_changes_survive_a_standard_payload_of_a_large_state(states):
    before, after = states
    payload = _generate(after, before, "standard", 1200).payload
    changed = payload.data["changes"]
    for kind in ("newly_failed", "recovered", "newly_done"):
        assert changed[kind], (kind, payload.omitted)
    assert payload.tokens <= 1200


@pytest.mark.parametrize("level", LEVELS)
def test_each_failure_carries_its_error_type(states, level):
    """The kept failed ids map onto the error-type groups (standard, full) or carry the
    type in the entry (minimal), at the level's own budget."""
    _, after = states
    generated = pipeline.generate(pipeline.GenerateOptions(state=after, level=level))
    data = generated.payload.data
    tasks = generated.facts.state.tasks
    if level == "minimal":
        for entry in data["failed"]:
            tid, _, kind = entry.rpartition(": ")
            assert tasks[tid].error_type == kind
        return
    failed = data["execution_state"]["failed_tasks"]
    groups = [kind for kind, n in data["execution_state"]["failure_types"].items()
              for _ in range(n)]
    assert failed and len(groups) >= len(failed)  # every kept failure has its type
    for tid, kind in zip(failed, groups[:len(failed)], strict=True):
        assert tasks[tid].error_type == kind


def test_minimal_names_the_tasks_of_a_task_master_file_and_uses_its_room():
    state = Path(__file__).parent / "taskmaster" / "subtasks-mixed-ids" / "tasks.json"
    payload = pipeline.generate(pipeline.GenerateOptions(state=state, level="minimal")).payload
    data = payload.data
    assert data["next"] and data["active"]
    for tid in [*data["active"], *data["next"]]:
        assert data["names"].get(tid), tid  # "2.2" says nothing; its title does
    assert payload.omitted == {}  # room left: every ready task is listed
