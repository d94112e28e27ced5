"""The README stays true: its command-line and Python examples run, and print what it shows.

Shell blocks: each ``context-handoff`` line runs in a folder holding the example state
as ``.orchestrator_state.json``, at the time the examples were written
(SOURCE_DATE_EPOCH, which the README documents); the ``# ...`` lines right after a
command are its expected output, compared exactly. Python blocks run as written, in
the same kind of folder. YAML blocks must parse.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import EXAMPLE, ROOT, code_blocks

README = ROOT / "README.md"
EXAMPLES_TIME = "1736953200"  # 2025-01-15T15:00:00Z


def _blocks(lang: str) -> list[tuple[int, str]]:
    return code_blocks(README.read_text(encoding="utf-8"), lang)


def _commands(body: str) -> list[tuple[str, list[str]]]:
    """``context-handoff`` lines, each with the ``# `` output lines that follow it."""
    commands: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("context-handoff "):
            commands.append((line.split("  #")[0].strip(), []))
        elif line.startswith("# ") and commands:
            commands[-1][1].append(line[2:])
    return commands


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the checkout's example state where the checkout has it, and the same
    state where a project keeps its own (for the snippets written for a project)."""
    (tmp_path / ".orchestrator_state.json").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": EXAMPLES_TIME}


def test_the_readme_has_examples() -> None:
    assert _blocks("python") and any(_commands(b) for _, b in _blocks("bash"))


def test_command_line_examples_print_what_the_readme_shows(project: Path) -> None:
    cli = Path(sys.executable).with_name("context-handoff")
    ran = 0
    for line_no, body in _blocks("bash"):
        for command, expected in _commands(body):
            args = shlex.split(command)[1:]
            proc = subprocess.run(
                [str(cli), *args],
                cwd=project,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert proc.returncode == 0, f"README.md:{line_no}: {command}\n{proc.stderr}"
            ran += 1
            if expected:
                shown = (proc.stdout + proc.stderr).strip().splitlines()
                assert shown == expected, f"README.md:{line_no}: {command}"
    assert ran >= 3


@pytest.mark.parametrize("line_no,body", _blocks("python"), ids=lambda v: str(v)[:20])
def test_python_examples_run(project: Path, line_no: int, body: str) -> None:
    if "def test_" in body:  # a test module for the pytest plugin: run it with pytest
        (project / "test_readme_example.py").write_text(body, encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_readme_example.py",
        ]
    else:
        (project / "example.py").write_text(body + _EXERCISE.get(_kind(body), ""), encoding="utf-8")
        cmd = [sys.executable, "example.py"]
    proc = subprocess.run(
        cmd, cwd=project, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"README.md:{line_no}\n{proc.stdout}\n{proc.stderr}"


# A block that only defines a class is exercised the way its text says it is used.
_EXERCISE = {
    "checkpointer": (
        "\nassert not Orchestrator().track_text('a prompt', 'an answer')"
        "\nassert Orchestrator().track_tokens(160_000, 0)\n"
    ),
}


def _kind(body: str) -> str:
    return "checkpointer" if "HandoffCheckpointMixin" in body else "plain"


@pytest.mark.parametrize("line_no,body", _blocks("yaml"), ids=lambda v: str(v)[:20])
def test_yaml_examples_parse(line_no: int, body: str) -> None:
    assert isinstance(yaml.safe_load(body), dict), f"README.md:{line_no}"
