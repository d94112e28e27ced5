"""Where results go: step outputs, the job summary and the dotenv report from one
generate, and the action's run step driving it (bash, the python engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff import payload_file, render
from context_handoff.cli import cli
from context_handoff.reporters import github

from .conftest import EXAMPLE, ROOT

NOW = "2025-01-15T15:00:00Z"


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_one_generate_writes_outputs_summary_and_dotenv(chdir_tmp):
    result = run(
        "generate",
        "--state",
        EXAMPLE,
        "--now",
        NOW,
        "--github-output",
        "out.txt",
        "--github-summary",
        "summary.md",
        "--dotenv",
        "handoff.env",
    )
    assert result.exit_code == 0, result.stderr
    out = outputs(Path("out.txt"))
    assert out["valid"] == "true" and out["level"] == "standard"
    assert int(out["tokens"]) <= int(out["budget"]) == 1200
    assert out["report-path"] == "handoff_report.md"
    assert Path("summary.md").read_text() == Path("handoff_report.md").read_text()
    env = outputs(Path("handoff.env"))
    assert env["CONTEXT_HANDOFF_TOKENS"] == out["tokens"]
    assert env["CONTEXT_HANDOFF_HANDOFF_ID"] == out["handoff-id"]


def test_the_summary_is_cut_to_its_limit_and_the_report_is_not(chdir_tmp, monkeypatch):
    monkeypatch.setattr(github, "SUMMARY_MAX_CHARS", 600)
    result = run(
        "generate",
        "--state",
        EXAMPLE,
        "--now",
        NOW,
        "--level",
        "full",
        "--github-summary",
        "summary.md",
    )
    assert result.exit_code == 0, result.stderr
    summary, report = Path("summary.md").read_text(), Path("handoff_report.md").read_text()
    assert len(summary) <= 600 < len(report)
    assert summary.startswith(report.split("\n", 1)[0])
    assert "note: the job summary was cut to fit 600 characters: " in result.stderr


def test_no_report_still_gives_the_summary(chdir_tmp):
    result = run(
        "generate",
        "--state",
        EXAMPLE,
        "--now",
        NOW,
        "--no-report",
        "--github-summary",
        "summary.md",
        "--github-output",
        "out.txt",
    )
    assert result.exit_code == 0, result.stderr
    assert Path("summary.md").read_text().startswith("# Handoff: ")
    assert outputs(Path("out.txt"))["report-path"] == ""


def test_a_failed_handoff_says_so_in_outputs_summary_and_annotations(chdir_tmp):
    Path("state.json").write_text('{"tasks": {"t7": {"status": "finished"}}}')
    Path("summary.md").write_text("earlier step\n")
    result = run(
        "--error-format",
        "github",
        "generate",
        "--state",
        "state.json",
        "--github-output",
        "out.txt",
        "--github-summary",
        "summary.md",
        "--dotenv",
        "handoff.env",
    )
    assert result.exit_code == 2
    assert outputs(Path("out.txt")) == {"valid": "false"}
    assert Path("summary.md").read_text() == "earlier step\n" + github.FAILURE_SUMMARY.format(
        code=2
    )
    assert "::error file=state.json" in result.stdout and "$.tasks.t7.status" in result.stdout
    assert "error: " in result.stderr
    assert not Path("handoff.env").exists()


def test_an_over_budget_handoff_fails_with_exit_1_and_valid_false(chdir_tmp):
    result = run(
        "generate", "--state", EXAMPLE, "--now", NOW, "--budget", "5", "--github-output", "out.txt"
    )
    assert result.exit_code == 1
    assert outputs(Path("out.txt")) == {"valid": "false"}


def test_validate_writes_valid_to_the_step_outputs(chdir_tmp):
    assert run("generate", "--state", EXAMPLE, "--now", NOW).exit_code == 0
    assert run("validate", "context_payload.json", "--github-output", "ok.txt").exit_code == 0
    assert outputs(Path("ok.txt")) == {"valid": "true"}
    assert (
        run(
            "validate", "context_payload.json", "--budget", "5", "--github-output", "bad.txt"
        ).exit_code
        == 1
    )
    assert outputs(Path("bad.txt")) == {"valid": "false"}


def test_multi_line_outputs_are_heredocs(tmp_path):
    github.append_outputs(tmp_path / "out.txt", {"a": "1", "b": "two\nlines"})
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines[0] == "a=1" and lines[1].startswith("b<<ghadelimiter_")
    assert lines[2:4] == ["two", "lines"] and lines[4] == lines[1].split("<<")[1]


# the action's run step, driven directly: what it passes to the one generate
def run_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / ".orchestrator_state.json").write_text(EXAMPLE.read_text())
    (work / "broken_state.json").write_text('{"tasks": {"t7": {"status": "finished"}}}')
    env = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(ROOT),
        "CH_ENGINE_RESOLVED": "python",
        "CH_BIN": str(Path(sys.executable).parent),
        "CH_SINCE": "none",
        "CH_LEVEL": "standard",
        "CH_ENCODING": "o200k_base",
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "SOURCE_DATE_EPOCH": "1736953200",
        **inputs,
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "run.sh")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, work


@pytest.mark.parametrize(
    ("inputs", "level", "budget"),
    [
        ({"CH_LEVEL": "minimal"}, "minimal", "500"),
        ({"CH_LEVEL": "full"}, "full", "2000"),
        # auto: the richest level whose payload fits (full fits the example in 1500 tokens)
        ({"CH_LEVEL": "auto", "CH_BUDGET": "1500"}, "full", "1500"),
        ({"CH_LEVEL": "standard", "CH_ENCODING": "cl100k_base"}, "standard", "1200"),
    ],
)
def test_run_step_passes_the_inputs_to_one_generate(tmp_path, inputs, level, budget):
    proc, work = run_step(tmp_path, **inputs)
    assert proc.returncode == 0, proc.stderr
    out = outputs(tmp_path / "out.txt")
    assert (out["level"], out["budget"], out["valid"]) == (level, budget, "true")
    assert out["payload-path"] == "context-handoff/context_payload.json"
    payload = json.loads((work / out["payload-path"]).read_text())
    assert payload["meta"]["encoding"] == inputs.get("CH_ENCODING", "o200k_base")
    report = (work / "context-handoff" / "handoff_report.md").read_text()
    assert (tmp_path / "summary.md").read_text() == report
    assert (work / "context-handoff" / "handoff_snapshot.json").exists()


def test_run_step_template_output_dir_and_no_summary(tmp_path):
    proc, work = run_step(
        tmp_path, CH_TEMPLATE="minimal", CH_OUTPUT_DIR="handoff", CH_JOB_SUMMARY="false"
    )
    assert proc.returncode == 0, proc.stderr
    out = outputs(tmp_path / "out.txt")
    assert out["report-path"] == "handoff/handoff_report.md"
    assert not (tmp_path / "summary.md").exists()
    payload = payload_file.report_input_from_file(work / "handoff" / "context_payload.json")
    assert (
        (work / "handoff" / "handoff_report.md").read_text()
        == render.render_report(payload, "minimal").text
        != render.render_report(payload).text
    )


def test_run_step_failure_writes_valid_false_once(tmp_path):
    proc, _ = run_step(tmp_path, CH_STATE_FILE="broken_state.json")
    assert proc.returncode == 2
    assert (tmp_path / "out.txt").read_text() == "valid=false\n"
    assert (tmp_path / "summary.md").read_text() == github.FAILURE_SUMMARY.format(code=2)
    assert "::error file=broken_state.json" in proc.stdout


def test_run_step_input_the_cli_refuses_still_gives_valid_false(tmp_path):
    proc, _ = run_step(tmp_path, CH_LEVEL="huge")
    assert proc.returncode == 2
    assert "error: Invalid value for '--level'" in proc.stderr
    assert (tmp_path / "out.txt").read_text() == "valid=false\n"
    assert "exit code 2" in (tmp_path / "summary.md").read_text()
