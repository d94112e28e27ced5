"""Task Master's own CLI is the oracle: on each fixture, `task-master next` picks the
first of our next tasks, and `task-master list --ready` agrees with our ready tasks.

The CLI (npm task-master-ai, pinned in tools/taskmaster) runs offline and needs no
API key; `make oracles` installs it. Each case is a folder in tests/taskmaster/ with a
tasks.json and, optionally, a state.json (currentTag) and a tag.txt (passed as --tag).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from context_handoff import pipeline
from context_handoff.derive import derive_facts
from context_handoff.model import State

from .conftest import ROOT

CASES = ROOT / "tests" / "taskmaster"
TASK_MASTER = ROOT / "tools" / "taskmaster" / "node_modules" / ".bin" / "task-master"

pytestmark = pytest.mark.skipif(
    not TASK_MASTER.exists() and os.environ.get("CI") != "true",
    reason="task-master is not installed: make oracles (needs Node and npm)",
)


def _project(case: Path, root: Path) -> Path:
    """A folder laid out as Task Master expects: .taskmaster/tasks/tasks.json, state.json."""
    project = root / case.name
    tasks = project / ".taskmaster" / "tasks"
    tasks.mkdir(parents=True)
    shutil.copy(case / "tasks.json", tasks / "tasks.json")
    state: dict[str, Any] = {"migrationNoticeShown": True}  # keeps its stdout pure JSON
    if (case / "state.json").exists():
        state.update(json.loads((case / "state.json").read_text(encoding="utf-8")))
    (project / ".taskmaster" / "state.json").write_text(json.dumps(state), encoding="utf-8")
    return project


def _cli(project: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "TASKMASTER_TAG"}
    proc = subprocess.run(
        [str(TASK_MASTER), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _tag_args(case: Path) -> list[str]:
    tag_file = case / "tag.txt"
    return ["--tag", tag_file.read_text(encoding="utf-8").strip()] if tag_file.exists() else []


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any, Any]]:
    """Each case's folder and the CLI's answers, asked once (about 2 s a call)."""
    root = tmp_path_factory.mktemp("taskmaster")
    found = {}
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        project = _project(case, root)
        tag = _tag_args(case)
        found[case.name] = (
            project,
            _cli(project, "next", "-f", "json", *tag),
            _cli(project, "list", "--ready", "--json", *tag),
        )
    return found


def _ours(project: Path, case: Path) -> State:
    tag = _tag_args(case)
    return pipeline.read_state(
        project / ".taskmaster" / "tasks" / "tasks.json", tag=tag[1] if tag else None
    )


CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", CASE_NAMES)
def test_first_next_task_is_task_masters_choice(answers, name):
    project, cli_next, _ = answers[name]
    state = _ours(project, CASES / name)
    ready = derive_facts(state, state.source.mtime).ready  # type: ignore[arg-type]
    expected = cli_next["task"]["id"] if cli_next["found"] else None
    assert (ready[0] if ready else None) == expected, (ready, cli_next)
    if expected is not None:
        task = state.tasks[expected]
        assert task.source_status == cli_next["task"]["status"]
        assert (task.priority or "medium") == cli_next["task"]["priority"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_ready_top_level_tasks_agree_with_list_ready(answers, name):
    """`list --ready` differs from `next` in three documented ways; beyond them, the same.

    It counts cancelled as complete and review as actionable (next does neither), and
    knows only top-level ids, so a dependency on a subtask never counts there.
    """
    project, _, cli_ready = answers[name]
    state = _ours(project, CASES / name)
    ours = {tid for tid in state.next_order or () if state.tasks[tid].parent is None}
    words = {tid: task.source_status for tid, task in state.tasks.items()}
    expected = {
        task["id"]
        for task in cli_ready["tasks"]
        if task["status"] != "review"
        and all(words.get(str(dep)) == "done" for dep in task["dependencies"])
    }
    on_subtasks = {tid for tid in ours if any("." in dep for dep in _own_dependencies(state, tid))}
    assert ours == expected | on_subtasks


def _own_dependencies(state: State, tid: str) -> list[str]:
    task = state.tasks[tid]
    return [dep for dep in task.dependencies if state.tasks.get(dep, task).parent != tid]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_tag_read_is_task_masters(answers, name):
    project, cli_next, cli_ready = answers[name]
    state = _ours(project, CASES / name)
    tags_in_file = state.tags
    if cli_ready["metadata"]["tag"] in tags_in_file:
        assert state.tag == cli_ready["metadata"]["tag"] == cli_next["tag"]
    else:  # no such tag: Task Master reads the file's first tag, as we do
        assert state.tag == tags_in_file[0]
    assert cli_ready["metadata"]["total"] == sum(t.parent is None for t in state.tasks.values())
