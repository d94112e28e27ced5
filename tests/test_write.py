"""Files: a payload and its report are replaced together or not at all, modes kept,
nothing orphaned, outputs never clobber each other or the state."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff import write
from context_handoff.cli import cli
from context_handoff.errors import InputError

from .conftest import EXAMPLE

NOW = "2025-01-15T15:00:00Z"


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _handoff_ids(payload: Path, report: Path) -> tuple[str, bool]:
    handoff = json.loads(payload.read_text(encoding="utf-8"))["handoff_id"]
    return handoff, handoff in report.read_text(encoding="utf-8")


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "home")  # conftest's HOME


def test_a_failed_report_rename_puts_the_payload_back(chdir_tmp, monkeypatch):
    assert run("generate", "--state", EXAMPLE, "--now", NOW).exit_code == 0
    before = {p: p.read_bytes() for p in (Path("context_payload.json"), Path("handoff_report.md"))}
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("handoff_report.md") and str(src).endswith(".tmp"):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = run("generate", "--state", EXAMPLE, "--now", "2025-01-15T16:00:00Z")
    assert result.exit_code == 2
    assert (
        "handoff_report.md: cannot write: Permission denied; no file was changed" in result.stderr
    )
    assert {p: p.read_bytes() for p in before} == before
    assert _files_in(Path()) == ["context_payload.json", "handoff_report.md"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--output", "x.json", "--report", "x.json"],
            "--report x.json is also the file of --output",
        ),
        (["--output", "state.json"], "--output state.json is also the state file"),
        (["--report", "./state.json"], "--report state.json is also the state file"),
        (["--github-output", "state.json/out"], "state.json is not a writable folder"),
        (["--metrics-file", "state.json/m.prom"], "state.json is not a writable folder"),
        (
            ["--dotenv", "context_payload.json"],
            "--dotenv context_payload.json is also the file of --output",
        ),
    ],
    ids=[
        "output-is-report",
        "output-is-state",
        "report-is-state",
        "github-output",
        "metrics",
        "dotenv",
    ],
)
def test_clashing_or_unwritable_outputs_are_refused_before_anything_is_written(
    chdir_tmp, args, message
):
    state = Path("state.json")
    state.write_bytes(EXAMPLE.read_bytes())
    result = run("generate", "--state", state, "--now", NOW, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert state.read_bytes() == EXAMPLE.read_bytes()
    assert _files_in(Path()) == ["state.json"]


def test_report_output_cannot_be_its_payload(chdir_tmp):
    run("generate", "--state", EXAMPLE, "--now", NOW)
    before = Path("context_payload.json").read_bytes()
    result = run("report", "context_payload.json", "--output", "context_payload.json")
    assert result.exit_code == 2 and "is also the payload" in result.stderr
    assert Path("context_payload.json").read_bytes() == before


def test_modes_kept_and_umask_respected(tmp_path):
    old_mask = os.umask(0o027)
    try:
        new = write.write_atomically(tmp_path / "new.json", "{}\n")
        existing = tmp_path / "existing.json"
        existing.write_text("old")
        existing.chmod(0o600)
        write.write_atomically(existing, "{}\n")
    finally:
        os.umask(old_mask)
    assert new.stat().st_mode & 0o777 == 0o640
    assert existing.stat().st_mode & 0o777 == 0o600


def test_temporary_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "p.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    orphan = tmp_path / f".p.json.{dead.stdout.strip()}.abc123.tmp"
    orphan.write_text("half")
    live = tmp_path / f".p.json.{os.getppid()}.abc123.tmp"  # a running process's file
    live.write_text("in progress")
    write.write_atomically(target, "{}\n")
    assert not orphan.exists() and live.exists()
    assert target.read_text() == "{}\n"


def test_a_text_that_cannot_be_utf8_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot be written as UTF-8"):
        write.write_atomically(tmp_path / "p.json", "\ud800")
    assert _files_in(tmp_path) == []


_GENERATE = [
    sys.executable,
    "-m",
    "context_handoff",
    "generate",
    "--state",
    str(EXAMPLE),
    "--output",
    "out/context_payload.json",
    "--report",
    "out/handoff_report.md",
]


def test_killed_runs_leave_a_matching_pair(tmp_path):
    """kill -9 at random moments: the pair on disk is always one run's payload and
    report, and a later run clears every temporary file the killed ones left."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    assert subprocess.run(_GENERATE, cwd=tmp_path, env=env, capture_output=True).returncode == 0
    pair = (tmp_path / "out" / "context_payload.json", tmp_path / "out" / "handoff_report.md")
    rng = random.Random(11)
    start = time.perf_counter()
    subprocess.run(_GENERATE, cwd=tmp_path, env=env, capture_output=True, check=True)
    full_run = time.perf_counter() - start
    for _ in range(12):
        process = subprocess.Popen(
            _GENERATE, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, 1.0) * full_run)
        process.send_signal(signal.SIGKILL)
        process.wait()
        handoff, matches = _handoff_ids(*pair)
        assert matches, f"payload {handoff} beside another run's report"
    assert subprocess.run(_GENERATE, cwd=tmp_path, env=env, capture_output=True).returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "context_payload.json",
        "handoff_report.md",
    ]


def test_concurrent_runs_leave_a_matching_pair(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    for _ in range(3):
        runs = [
            subprocess.Popen(
                _GENERATE,
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(3)
        ]
        assert [r.wait() for r in runs] == [0, 0, 0]
        assert _handoff_ids(
            tmp_path / "out" / "context_payload.json", tmp_path / "out" / "handoff_report.md"
        )[1]


def test_one_folder_spelled_two_ways_is_locked_once(chdir_tmp):
    # "." and its absolute path: locking both would wait forever for itself
    written = write.write_together([(chdir_tmp / "p.json", "{}\n"), (Path("r.md"), "# r\n")])
    assert [p.read_text() for p in written] == ["{}\n", "# r\n"]
