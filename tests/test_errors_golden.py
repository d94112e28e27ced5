"""Golden error cases: each folder of tests/errors/ is a bad input (``state.*``, and the
extra ``args`` of the command line, if any) with the exit code and the stderr the user
sees, byte for byte, and the promise that nothing was written.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_errors_golden.py``
and read the diff before committing it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff.cli import cli

CASES = sorted(p for p in (Path(__file__).parent / "errors").iterdir() if p.is_dir())
NOW = "2025-01-15T15:00:00Z"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_its_error(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = next(case.glob("state.*"))
    work = tmp_path / "work"
    work.mkdir()
    (work / state.name).write_bytes(state.read_bytes())
    args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    if "--now" not in args:
        args += ["--now", NOW]
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        cli,
        ["generate", "--state", state.name, *args],
        prog_name="context-handoff",
        catch_exceptions=False,
    )
    got = f"exit {result.exit_code}\n{result.stderr}"
    expected = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
    assert result.exit_code in (1, 2)
    assert "Traceback" not in got and result.stdout == ""
    assert sorted(p.name for p in work.iterdir()) == [state.name]  # nothing written
