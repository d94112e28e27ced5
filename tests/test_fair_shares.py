"""Fair shares: every section's head before any section's tail, and the prefix contract
(whatever a payload keeps of a section is the start of ``layouts.full_sections``)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from context_handoff import layouts, pipeline
from context_handoff.layouts.view import terse
from context_handoff.model import CompressionLevel, Generated
from context_handoff.more import held_order, payload_items
from context_handoff.pack import Header
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter

LEVELS = ("minimal", "standard", "full")
BUDGETS = {
    "minimal": (300, 400, 500, 800),
    "standard": (700, 1000, 1200, 2000),
    "full": (900, 1400, 2000, 3000),
}


def _later(doc: dict[str, Any]) -> dict[str, Any]:
    """Two tasks finished, two failed and two recovered since ``doc``."""
    later = copy.deepcopy(doc)
    tasks = later["tasks"]
    by = {
        s: [t for t, v in tasks.items() if v["status"] == s]
        for s in ("running", "pending", "failed")
    }
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
    return pipeline.generate(
        pipeline.GenerateOptions(state=after, since=before, level=level, budget=budget)
    )


def _kept(data: dict[str, Any], path: str) -> list[Any]:
    # a map's entries one by one, each a one-entry object, as ``more`` pages them; a map
    # of lists (minimal's more_failed) one entry per value in its lists
    return payload_items(data, path)


@pytest.mark.parametrize("level", LEVELS)
def test_every_head_before_any_tail_and_kept_items_are_a_prefix(states, level):
    before, after = states
    counter = build_counter()
    for budget in BUDGETS[level]:
        generated = _generate(after, before, level, budget)
        payload = generated.payload
        is_terse, grouped = payload.terse, layouts.is_grouped(payload.data)
        full = layouts.full_sections(
            generated.facts, CompressionLevel(level), terse_form=is_terse, grouped=grouped
        )
        header = Header("", "", CompressionLevel(level), budget, "", "")
        limits = layouts.LIMITS_BY_LEVEL[CompressionLevel(level)]
        layout = layouts.build_layout(
            generated.facts, header, terse(limits)._replace(grouped=grouped) if is_terse else limits
        )
        heads = {
            s.path: s.pinned + min(s.head, s.caps.get(s.tier, s.head)) for s in layout.sections
        }
        kept = {path: _kept(payload.data, path) for path in full}
        for path, items in full.items():
            # the contract of the MCP server's `more`: a prefix, same order, same shape
            prefix = held_order(items[: len(kept[path])])
            assert kept[path] == prefix, (level, budget, path)
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
        for kind, ids in data.get("more_failed", {}).items():
            assert all(tasks[tid].error_type == kind for tid in ids)
        return
    failed = data["execution_state"]["failed_tasks"]
    groups = [kind for kind, n in data["execution_state"]["failure_types"] for _ in range(n)]
    assert failed and len(groups) >= len(failed)  # every kept failure has its type
    for tid, kind in zip(failed, groups[: len(failed)], strict=True):
        assert tasks[tid].error_type == kind


def test_minimal_names_the_tasks_of_a_task_master_file_and_uses_its_room():
    state = Path(__file__).parent / "taskmaster" / "subtasks-mixed-ids" / "tasks.json"
    payload = pipeline.generate(pipeline.GenerateOptions(state=state, level="minimal")).payload
    data = payload.data
    assert data["next"] and data["active"]
    for tid in [*data["active"], *data["next"]]:
        assert data["names"].get(tid), tid  # "2.2" says nothing; its title does
    assert payload.omitted == {}  # room left: every ready task is listed


NOW_15 = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)


def _synthetic(tmp_path: Path, tasks: int, level: str, **kw: Any) -> Generated:
    path = tmp_path / f"s{tasks}.json"
    path.write_text(json.dumps(make_state(tasks, **kw)), encoding="utf-8")
    return pipeline.generate(pipeline.GenerateOptions(state=path, level=level, now=NOW_15))


@pytest.mark.parametrize("level", ["minimal", "standard"])
def test_the_failures_blocking_the_most_come_first(tmp_path, level):
    """Most blocking first at every level: no failure kept while one blocking more is cut,
    and each kept failure's type still travels with it (minimal in the entry, standard in
    the runs of failure_types)."""
    generated = _synthetic(tmp_path, 5000, level)
    data, facts = generated.payload.data, generated.facts
    ids = (
        [e.rpartition(": ")[0] for e in data["failed"]]
        if level == "minimal"
        else data["execution_state"]["failed_tasks"]
    )
    reach = [facts.blocks_count.get(t, 0) for t in ids]
    assert reach == sorted(reach, reverse=True)
    if level == "minimal":  # and the rest, grouped by error type
        more = [t for group in data.get("more_failed", {}).values() for t in group]
        assert max((facts.blocks_count.get(t, 0) for t in more), default=0) <= min(reach)
        ids += more
        reach = [facts.blocks_count.get(t, 0) for t in ids]
    kept = set(ids)
    cut = [
        facts.blocks_count.get(t.id, 0)
        for t in facts.state.tasks.values()
        if t.status == "failed" and t.id not in kept
    ]
    assert cut and max(cut) <= min(reach)
    biggest = sorted(
        facts.blocks_count.get(t.id, 0) for t in facts.state.tasks.values() if t.status == "failed"
    )[-10:]
    assert sorted(reach, reverse=True)[:10] == biggest[::-1]


def _taskmaster_many_active(path: Path, tasks: int = 300, running: int = 83) -> Path:
    """A Task Master file whose last ``running`` tasks are in progress, the rest pending
    with nothing blocking them; titles that the numeric ids do not say."""
    rows = [
        {
            "id": i,
            "title": f"Write the {word} guide for the operators of the regional clusters",
            "description": "",
            "details": "",
            "status": "in-progress" if i > tasks - running else "pending",
            "dependencies": [],
            "priority": "medium",
            "subtasks": [],
        }
        for i, word in zip(
            range(1, tasks + 1), ["install", "upgrade", "backup"] * tasks, strict=False
        )
    ]
    path.write_text(json.dumps({"master": {"tasks": rows}}), encoding="utf-8")
    return path


def test_minimal_names_its_first_next_tasks_however_many_run(tmp_path):
    state = _taskmaster_many_active(tmp_path / "tasks.json")
    data = pipeline.generate(
        pipeline.GenerateOptions(state=state, level="minimal", now=NOW_15)
    ).payload.data
    assert len(data["active"]) < 83 and data["next"]
    for tid in data["next"][:3]:
        assert data["names"].get(tid), tid


@pytest.mark.parametrize("tasks", [400, 2000, 5000])
def test_a_cut_names_map_is_counted(tmp_path, tasks):
    """Names the terse form leaves out (they restate the id) are counted in omitted, and
    full_sections gives them, so the ``more`` tool pages them."""
    generated = _synthetic(tmp_path, tasks, "standard")
    payload = generated.payload
    names = payload.data["execution_state"]["names"]
    every = layouts.full_sections(generated.facts, CompressionLevel.STANDARD)
    assert len(names) + payload.omitted.get("execution_state.names", 0) == len(
        every.get("execution_state.names", [])
    )
    untouched = layouts.full_sections(generated.facts, CompressionLevel.STANDARD, terse_form=False)
    assert len(every["execution_state.names"]) == len(untouched["execution_state.names"])
