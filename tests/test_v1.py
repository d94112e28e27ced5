"""The v1 payload contract: every key the original tool's payloads had, with its JSON type
down to list elements, at every level, on the example and on large generated states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from context_handoff import pipeline
from context_handoff.synthetic import make_state

from .conftest import EXAMPLE, ORIGINAL_EXAMPLE, beside

STR, INT, OBJ, NULL = str, int, dict, type(None)
IDS = ("list", STR)  # a list of task ids

V1_MINIMAL: dict[str, Any] = {
    "summary.phase": (STR, NULL),
    "summary.progress": STR,
    "summary.task": (STR, NULL),
    "active": IDS,
    "failed": ("list", STR),
    "next": IDS,
}
V1_STANDARD: dict[str, Any] = {
    "version": STR,
    "handoff_id": STR,
    "summary.project": STR,
    "summary.current_phase": (STR, NULL),
    "summary.progress": STR,
    "summary.tasks_complete": INT,
    "summary.tasks_total": INT,
    "summary.generated_at": STR,
    "execution_state.active_tasks": IDS,
    "execution_state.blocked_tasks": IDS,
    "execution_state.failed_tasks": IDS,
    "execution_state.next_eligible": IDS,
    "critical_context.errors": ("list", OBJ),
    "critical_context.user_decisions": ("list", OBJ),
    "critical_context.warnings": ("list", STR),
    "dag_snapshot.phases_completed": IDS,
    "dag_snapshot.current_phase_progress": OBJ,
    "dag_snapshot.current_phase_progress.total": INT,
    "dag_snapshot.current_phase_progress.complete": INT,
    "dag_snapshot.current_phase_progress.pct": INT,
    "dag_snapshot.critical_path": IDS,
}
V1_FULL: dict[str, Any] = {
    **V1_STANDARD,
    "file_state.artifacts": ("list", OBJ),
    "file_state.required": ("list", STR),
    "file_state.disk_mb": INT,
    "environment.os": STR,
    "environment.python": STR,
    "environment.packages": OBJ,
}
V1 = {"minimal": V1_MINIMAL, "standard": V1_STANDARD, "full": V1_FULL}


def _get(data: Any, path: str) -> Any:
    for key in path.split("."):
        assert isinstance(data, dict) and key in data, f"{path}: missing"
        data = data[key]
    return data


def _is(value: Any, kind: Any) -> bool:
    if kind is INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_v1(payload: dict[str, Any], level: str) -> None:
    for path, kind in V1[level].items():
        value = _get(payload, path)
        if isinstance(kind, tuple) and kind[0] == "list":
            assert isinstance(value, list), f"{path}: {type(value).__name__}, not a list"
            assert all(_is(item, kind[1]) for item in value), f"{path}: {value!r}"
        else:
            assert _is(value, kind), f"{path}: {value!r} is not {kind}"
    if level == "minimal":
        assert "version" not in payload  # how v1 readers tell a minimal payload
        assert all(": " in item for item in payload["failed"])  # "<id>: <ErrorType>"
        return
    for error in payload["critical_context"]["errors"]:
        assert set(error) >= {"task_id", "type", "message"}
        assert _is(error["message"], STR)
    for decision in payload["critical_context"]["user_decisions"]:
        assert set(decision) >= {"prompt", "choice"}
    if level == "full":
        for artifact in payload["file_state"]["artifacts"]:
            assert set(artifact) >= {"path", "by"}
        assert all(_is(v, STR) for v in payload["environment"]["packages"].values())


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_the_example_keeps_every_v1_key(level: str) -> None:
    payload = pipeline.generate(pipeline.GenerateOptions(state=EXAMPLE, level=level)).payload
    check_v1(payload.data, level)
    if level == "minimal":
        assert payload.data["summary"]["task"] == "s16_switch_dns"
        assert payload.data["failed"] == ["s10_check_links: ModuleNotFoundError"]
        assert payload.data["active"] == ["s16_switch_dns"]
    else:
        execution = payload.data["execution_state"]
        # declared active by the orchestrator, though its status says pending
        assert execution["active_tasks"] == ["s16_switch_dns"]
        assert "s16_switch_dns" not in execution["next_eligible"]
        assert execution["blocked_tasks"] == ["s20_publish_audit"]
        assert payload.data["dag_snapshot"]["phases_completed"] == ["p1_setup"]
        assert payload.data["critical_context"]["user_decisions"][0]["choice"] == "pending"
        assert any("s16_switch_dns" in w for w in payload.data["critical_context"]["warnings"])


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_the_original_tools_example_works_unchanged(level: str) -> None:
    state = beside(ORIGINAL_EXAMPLE, "the original tool's example")
    payload = pipeline.generate(pipeline.GenerateOptions(state=state, level=level)).payload
    assert payload.tokens <= payload.budget and payload.omitted == {}
    check_v1(payload.data, level)
    active = (
        payload.data["active"]
        if level == "minimal"
        else payload.data["execution_state"]["active_tasks"]
    )
    assert active == ["task_045_deploy_kubernetes"]  # context.active_tasks, as declared


@pytest.mark.parametrize("budget_share", [0.3, 1.0])
@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_large_states_keep_every_v1_key(tmp_path: Path, level: str, budget_share: float) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(make_state(2000, failed=150, active=30, seed=7)))
    nominal = {"minimal": 500, "standard": 1200, "full": 2000}[level]
    budget = max(int(nominal * budget_share), {"minimal": 200, "standard": 360, "full": 600}[level])
    payload = pipeline.generate(
        pipeline.GenerateOptions(state=path, level=level, budget=budget)
    ).payload
    assert payload.tokens <= budget
    check_v1(payload.data, level)
    # a cut v1 list is counted under its own path
    failed_path = "failed" if level == "minimal" else "execution_state.failed_tasks"
    shown = len(_get(payload.data, failed_path))
    cut = payload.omitted.get(failed_path, 0)
    if level == "minimal":  # the failures after the first five, grouped by error type
        shown += sum(map(len, payload.data.get("more_failed", {}).values()))
        cut += payload.omitted.get("more_failed", 0)
    assert shown + cut == 150


@pytest.mark.parametrize("level", ["standard", "full"])
def test_ids_come_before_details(tmp_path: Path, level: str) -> None:
    """At no budget is a v1 id list empty while a detail key carries something."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(make_state(2000, failed=150, active=30, seed=7)))
    details = (
        "execution_state.failures",
        "execution_state.names",
        "execution_state.blocked_by",
        "dag_snapshot.phases",
    )
    for budget in range(500, 2600, 150):
        data = pipeline.generate(
            pipeline.GenerateOptions(state=path, level=level, budget=budget)
        ).payload.data
        execution = data["execution_state"]
        if any(_get(data, d) for d in details):
            assert execution["failed_tasks"] and execution["active_tasks"], budget
            assert execution["next_eligible"] and data["dag_snapshot"]["critical_path"], budget
            assert data["critical_context"]["errors"], budget
