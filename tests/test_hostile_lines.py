"""Every kind of line a reporter prints, with hostile text in each place data goes:
none may start a workflow command of its own, whatever the text came from (the state,
a snapshot, a path, an option, a tracker's answer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff import render
from context_handoff.cli import cli
from context_handoff.errors import InputError, Problem
from context_handoff.notify.core import Issue, Outcome
from context_handoff.reporters import GitHubReporter, JsonReporter, TextReporter

from .conftest import EXAMPLE, ROOT

NOW = "2025-01-15T15:00:00Z"
# line breaks of every kind, each followed by a command; and the escapes' own "%"
HOSTILE = (
    "x\n::warning::from-lf\r::add-mask::from-cr\r\n::stop-commands::tok\v::error::vt"
    "\x85::notice::nel\u2028::warning::ls %0A::warning::percent %25 ##[error]legacy"
)
OURS = ("::error ", "::notice::")  # the commands we print, with data escaped in them


def unsafe_lines(text: str) -> list[str]:
    """Lines a runner would read as a command that we did not build, and raw CRs."""
    bad = [
        line
        for line in text.split("\n")
        if line.lstrip().startswith(("::", "##[")) and not line.startswith(OURS)
    ]
    return bad + (["a raw CR"] if "\r" in text else [])


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def hostile_state(chdir_tmp: Path) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    doc["context"]["current_phase"] = "now " + HOSTILE
    doc["metadata"]["project_name"] = "project " + HOSTILE
    Path("state.json").write_text(json.dumps(doc))
    return Path("state.json")


def _snapshot(**fields: object) -> None:
    Path("snap.json").write_text(
        json.dumps(
            {
                "format": "context-handoff snapshot",
                "version": 1,
                "state_digest": "0123456789ab",
                "taken_at": "2025-01-15T11:00:00Z",
                "tasks": {"s01_inventory": "pending"},
                **fields,
            }
        )
    )


def test_generate_lines_with_hostile_state_snapshot_and_paths(hostile_state: Path) -> None:
    _snapshot(current_phase="then " + HOSTILE)
    folder = Path("out " + HOSTILE.replace("\n", "-").replace("/", "_")[:40])
    for args in (
        # wrote, report:, snapshot:, since ... phase A -> B
        [
            "--output",
            folder / "p.json",
            "--report",
            folder / "r.md",
            "--snapshot",
            folder / "s.json",
            "--since",
            "snap.json",
        ],
        # note: no earlier handoff at <path>
        ["--since", "missing\n::warning::path.json", "--output", "p\n::error::x.json"],
        ["--json", "--output", "p\r::warning::x.json", "--since", "snap.json"],
    ):
        result = run(
            "--error-format", "github", "generate", "--state", hostile_state, "--now", NOW, *args
        )
        assert result.exit_code == 0, result.stderr
        assert (
            "since 2025-01-15T11:00:00Z" in result.stdout
            or "--json" in args
            or "no earlier handoff" in result.stdout
        )
        assert not unsafe_lines(result.stdout + result.stderr), result.output


def test_the_note_on_a_snapshot_of_another_project(hostile_state: Path) -> None:
    _snapshot(scope="orchestrator||other " + HOSTILE)
    result = run("generate", "--state", hostile_state, "--now", NOW, "--since", "snap.json")
    assert result.exit_code == 0, result.stderr
    assert "is of another project" in result.stdout
    assert not unsafe_lines(result.stdout + result.stderr), result.output


@pytest.mark.parametrize("error_format", ["text", "github"])
def test_failure_lines_and_annotations(chdir_tmp: Path, error_format: str) -> None:
    Path("bad.json").write_text(json.dumps({"tasks": {HOSTILE: {"status": HOSTILE}}}))
    for args in (
        ["generate", "--state", "bad.json"],
        ["generate", "--state", "bad.json", "--template", HOSTILE],
        ["generate", "--state", "missing " + HOSTILE],
        ["generate", "--level", HOSTILE],  # click's own usage error
        ["validate", HOSTILE],
        ["tokens", HOSTILE],
        ["report", "bad.json"],
    ):
        result = run("--error-format", error_format, *args)
        assert result.exit_code in (1, 2), result.output
        assert not unsafe_lines(result.stdout + result.stderr), (args, result.output)


def test_validate_tokens_and_report_lines(chdir_tmp: Path) -> None:
    name = "p " + HOSTILE.replace("/", "_") + ".json"
    assert run("generate", "--state", EXAMPLE, "--now", NOW, "--output", name).exit_code == 0
    template = Path("t " + HOSTILE.replace("/", "_") + ".md")
    template.write_text("{unknown_" + "x}\n" + HOSTILE + "\n  ::warning::indented\n")
    for args in (
        ["validate", name],
        ["validate", name, "--json"],
        ["validate", name, "--budget", "5"],
        ["tokens", name],
        ["tokens", name, "--json"],
        ["report", name, "--template", template],
        ["report", name, "--template", template, "--output", "r " + HOSTILE[:9]],
        ["report", name, "--max-chars", "300"],
    ):
        result = run(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert not unsafe_lines(result.stdout + result.stderr), (args, result.output)


def test_reporters_called_directly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    problem = Problem("state " + HOSTILE, "$.tasks." + HOSTILE, HOSTILE)
    error = InputError(HOSTILE, [problem], headline=True)
    for reporter in (TextReporter(), JsonReporter(), GitHubReporter(annotate=True)):
        reporter.failed(2, error)
    issue = Issue(7, "https://example.test/issues/7\n::warning::url")
    for in_actions in (True, False):
        TextReporter().notified(Outcome("created " + HOSTILE, issue, HOSTILE), in_actions)
        TextReporter().notified(Outcome(HOSTILE, None, None), in_actions)
    report = render.Report(
        text="# r\n" + HOSTILE + "\n::warning::x\n",
        template=HOSTILE,
        unfilled=(HOSTILE,),
        cut_sections=(HOSTILE,),
    )
    TextReporter().rendered(report, None, 500)
    TextReporter().rendered(report, tmp_path / HOSTILE[:5], 500)
    TextReporter().counted("o200k_base", {HOSTILE: 3})
    JsonReporter().counted("o200k_base", {HOSTILE: 3})
    out = capsys.readouterr()
    assert not unsafe_lines(out.out + out.err), out
    counts = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert counts == [{"encoding": "o200k_base", "tokens": {HOSTILE: 3}}]  # reads the same


def test_the_action_refuses_paths_with_line_breaks(tmp_path: Path) -> None:
    for name, value in (("CH_OUTPUT_DIR", "out\n::warning::x"), ("CH_SINCE", "s\r::error::y")):
        env = {
            **os.environ,
            "GITHUB_ACTION_PATH": str(ROOT),
            "CH_ENGINE_RESOLVED": "python",
            "CH_BIN": str(Path(sys.executable).parent),
            "CH_LEVEL": "standard",
            "CH_ENCODING": "o200k_base",
            "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
            name: value,
        }
        proc = subprocess.run(
            ["bash", str(ROOT / "action" / "run.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert "holds a line break" in proc.stdout
        assert not unsafe_lines(proc.stdout + proc.stderr), proc.stdout
        assert not (tmp_path / "out").exists()
