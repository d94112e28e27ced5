"""Backlog.md's own CLI is the oracle: on each project, the tasks ``backlog task list``
marks ready (``isReady``) and its order agree with ours.

The CLI (npm backlog.md, pinned in tools/backlog) runs offline; `make oracles`
installs it. The projects: tests/formats/backlog, and the same tasks under a status list of
other words (the last status is done, whatever it is called).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from context_handoff import pipeline
from context_handoff.derive import derive_facts

from .conftest import ROOT

CASE = ROOT / "tests" / "formats" / "backlog"
BACKLOG = ROOT / "tools" / "backlog" / "node_modules" / ".bin" / "backlog"

pytestmark = pytest.mark.skipif(
    not BACKLOG.exists() and os.environ.get("CI") != "true",
    reason="backlog is not installed: make oracles (needs Node and npm)",
)
# The same project with its statuses renamed: To Do -> Backlog, In Progress -> Doing,
# Done -> Shipped; the last one is done whatever its name.
RENAMED = {"To Do": "Backlog", "In Progress": "Doing", "Done": "Shipped"}


def _project(root: Path, renamed: bool) -> Path:
    project = root / ("renamed" if renamed else "plain")
    shutil.copytree(CASE / "backlog", project / "backlog")
    if renamed:
        for path in (project / "backlog").rglob("*.*"):
            text = path.read_text(encoding="utf-8")
            for old, new in RENAMED.items():
                text = re.sub(
                    rf"(status: |\"){re.escape(old)}(\"|$)",
                    rf"\g<1>{new}\g<2>",
                    text,
                    flags=re.MULTILINE,
                )
            path.write_text(text, encoding="utf-8")
    return project


def _cli(project: Path) -> list[dict[str, Any]]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(project), "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(BACKLOG), "task", "list", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    tasks: list[dict[str, Any]] = json.loads(proc.stdout)["tasks"]
    return tasks


@pytest.mark.parametrize("renamed", [False, True], ids=["plain", "renamed-statuses"])
def test_ready_tasks_and_their_order_are_the_clis(renamed, tmp_path):
    project = _project(tmp_path, renamed)
    listed = _cli(project)
    state = pipeline.read_state(project / "backlog")
    facts = derive_facts(state, state.source.mtime)  # type: ignore[arg-type]
    assert [t["id"] for t in listed] == sorted(state.tasks, key=[t["id"] for t in listed].index)
    ready = [t["id"] for t in listed if t["isReady"]]
    assert set(ready) == set(facts.active) | set(facts.ready)
    first = "Backlog" if renamed else "To Do"
    not_started = [
        t["id"] for t in listed if t["isReady"] and state.tasks[t["id"]].status == "pending"
    ]
    assert list(facts.ready) == not_started  # the next tasks, in the CLI's order
    assert facts.ready and state.tasks[facts.ready[0]].source_status == first
    for task in listed:
        ours = state.tasks[task["id"]]
        assert ours.source_status == task["status"]
        assert (ours.priority or None) == task["priority"]


def _run(project: Path, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(project), "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(BACKLOG), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_root_config_and_a_blocked_status_as_the_cli_writes_them(tmp_path, monkeypatch):
    """`backlog init --config-location root --backlog-dir .backlog`: the config is
    backlog.config.yml at the root, the tasks in .backlog/; a "Blocked" status is blocked."""
    from context_handoff import formats

    project = tmp_path / "demo"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    _run(
        project,
        "init",
        "Root Demo",
        "--defaults",
        "--integration-mode",
        "none",
        "--config-location",
        "root",
        "--backlog-dir",
        ".backlog",
    )
    config = project / "backlog.config.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r"(?m)^statuses: .*$", 'statuses: ["Todo", "Doing", "Blocked", "Shipped"]', text),
        encoding="utf-8",
    )
    _run(project, "task", "create", "First", "-s", "Todo")
    _run(project, "task", "create", "Second", "-s", "Blocked")
    _run(project, "task", "create", "Third", "-s", "Doing")
    _run(project, "task", "create", "Fourth", "-s", "Shipped")
    assert not (project / ".backlog" / "config.yml").exists() and config.is_file()
    monkeypatch.chdir(project)
    assert formats.discover_state() == Path(".backlog")
    state = pipeline.read_state(Path(".backlog"))
    assert state.project == "Root Demo"
    listed = {t["id"]: t["status"] for t in _cli(project)}
    assert {tid: task.source_status for tid, task in state.tasks.items()} == listed
    ours = {task.source_status: task.status for task in state.tasks.values()}
    assert ours == {"Todo": "pending", "Blocked": "blocked", "Doing": "running", "Shipped": "done"}
