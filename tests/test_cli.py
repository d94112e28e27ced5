"""The CLI as a user runs it: exit codes, stdout and stderr apart, files kept safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff.cli import cli

from .conftest import EXAMPLE

NOW = "2025-01-15T15:00:00Z"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


def test_generate_writes_and_reports(chdir_tmp):
    result = run("generate", "--state", EXAMPLE, "--now", NOW)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(Path("context_payload.json").read_text(encoding="utf-8"))
    assert payload["meta"]["level"] == "standard"
    assert result.stdout.startswith("wrote context_payload.json: standard level, ")
    assert "/1200 tokens (o200k_base)" in result.stdout
    assert "omitted: nothing" in result.stdout
    assert result.stderr == ""


def test_generate_json_output(chdir_tmp):
    result = run("generate", "--state", EXAMPLE, "--level", "minimal", "--json", "--now", NOW)
    out = json.loads(result.stdout)
    assert set(out) == {
        "payload",
        "report",
        "level",
        "tokens",
        "budget",
        "encoding",
        "handoff_id",
        "omitted",
    }
    assert out["level"] == "minimal" and out["budget"] == 500 and out["tokens"] <= 500


def test_bad_state_exits_2_with_paths_and_keeps_the_last_good_payload(chdir_tmp):
    assert run("generate", "--state", EXAMPLE, "--now", NOW).exit_code == 0
    good = Path("context_payload.json").read_bytes()
    bad = chdir_tmp / "bad.json"
    bad.write_text(
        json.dumps(
            {"tasks": {"t7": {"status": "done", "dependencies": 3}, "t8": {"status": "weird"}}}
        )
    )
    result = run("generate", "--state", bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {bad}::$.tasks.t7.dependencies: ")
    assert lines[1].startswith(f"error: {bad}::$.tasks.t8.status: ")
    assert "Traceback" not in result.stderr
    assert Path("context_payload.json").read_bytes() == good
    assert [p.name for p in chdir_tmp.iterdir() if p.name.startswith(".context_payload")] == []


def test_missing_state_file(chdir_tmp):
    result = run("generate", "--state", "nope.json")
    assert result.exit_code == 2
    assert result.stderr == "error: nope.json: no such file\n"


def test_over_budget_exits_1_and_writes_nothing(chdir_tmp):
    result = run("generate", "--state", EXAMPLE, "--budget", "40", "--level", "minimal")
    assert result.exit_code == 1
    assert "smallest minimal payload needs" in result.stderr
    assert not Path("context_payload.json").exists()


def test_stale_state_fails_with_max_age(chdir_tmp):
    result = run("generate", "--state", EXAMPLE, "--max-age", "6h", "--now", "2025-01-16T00:00:00Z")
    assert result.exit_code == 1
    assert "state is 9.5 h old" in result.stderr and "over --max-age 6 h" in result.stderr
    assert not Path("context_payload.json").exists()
    fresh = run("generate", "--state", EXAMPLE, "--max-age", "6h", "--now", NOW)
    assert fresh.exit_code == 0


def test_bad_usage_is_exit_2(chdir_tmp):
    assert run("generate", "--level", "huge").exit_code == 2
    assert run("generate", "--state", EXAMPLE, "--max-age", "soon").exit_code == 2
    huge = run("generate", "--state", EXAMPLE, "--max-age", "100000000000000000000")
    assert huge.exit_code == 2 and "longer than Python can count" in huge.stderr
    assert run("generate", "--state", EXAMPLE, "--level", "auto").exit_code == 2


def test_source_date_epoch_makes_output_reproducible(chdir_tmp):
    env = {"SOURCE_DATE_EPOCH": "1736953200"}
    run("generate", "--state", EXAMPLE, "--output", "a.json", env=env)
    run("generate", "--state", EXAMPLE, "--output", "b.json", env=env)
    assert Path("a.json").read_bytes() == Path("b.json").read_bytes()
    assert json.loads(Path("a.json").read_text())["meta"]["generated_at"] == "2025-01-15T15:00:00Z"


def test_validate_valid_and_over_budget(chdir_tmp):
    run("generate", "--state", EXAMPLE, "--now", NOW)
    ok = run("validate", "context_payload.json")
    assert ok.exit_code == 0 and ok.stdout.startswith("valid: context_payload.json: standard level")
    tight = run("validate", "context_payload.json", "--budget", "100")
    assert tight.exit_code == 1
    assert "over the budget of 100" in tight.stderr
    as_json = json.loads(run("validate", "context_payload.json", "--json").stdout)
    assert as_json["valid"] is True and as_json["problems"] == []


def test_validate_reports_schema_problems_with_paths(chdir_tmp):
    run("generate", "--state", EXAMPLE, "--now", NOW)
    data = json.loads(Path("context_payload.json").read_text())
    data["execution_state"]["failed_tasks"][0] = 7
    Path("broken.json").write_text(json.dumps(data))
    result = run("validate", "broken.json", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems[0]["path"] == "$.execution_state.failed_tasks[0]"


def test_validate_unreadable_payload_is_exit_2(chdir_tmp):
    Path("p.json").write_text("{")
    assert run("validate", "p.json").exit_code == 2


def test_tokens_counts_exactly(chdir_tmp):
    Path("a.txt").write_text("hello world")
    result = run("tokens", "a.txt", "--json")
    assert json.loads(result.stdout) == {"encoding": "o200k_base", "tokens": {"a.txt": 2}}


@pytest.mark.parametrize("name", ["state", "minimal", "standard", "full"])
def test_schema_prints_json_schema(name):
    schema = json.loads(run("schema", name).stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_encoding_unavailable_is_one_line_exit_2(chdir_tmp, monkeypatch, tmp_path):
    from context_handoff import tokens

    tokens.build_counter.cache_clear()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr("tiktoken.registry.ENCODINGS", {})
    try:
        result = run("generate", "--state", EXAMPLE, "--encoding", "cl100k_base")
    finally:
        tokens.build_counter.cache_clear()
    assert result.exit_code == 2
    assert "cannot load the cl100k_base tokenizer" in result.stderr
    assert "TIKTOKEN_CACHE_DIR" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_unexpected_errors_exit_3_with_traceback_only_on_request(chdir_tmp, monkeypatch):
    def boom(*_a, **_k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("context_handoff.pipeline.generate", boom)
    quiet = run("generate", "--state", EXAMPLE)
    assert quiet.exit_code == 3
    assert "unexpected error (ZeroDivisionError: boom)" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    loud = run("--traceback", "generate", "--state", EXAMPLE)
    assert loud.exit_code == 3 and "Traceback" in loud.stderr
    after = run("generate", "--state", EXAMPLE, "--traceback")  # typed where it is thought of
    assert after.exit_code == 3 and "Traceback" in after.stderr


def test_schema_without_a_name_lists_the_names():
    from context_handoff import cli, validate

    assert set(cli.SCHEMAS) == {
        *validate.SCHEMA_NAMES,
        "taskmaster",
        "beads",
        "bmad",
        "ralph",
        "snapshot",
    }
    listing = run("schema")
    assert listing.exit_code == 0
    assert listing.stdout.startswith("usage: context-handoff schema NAME")
    assert [line.split()[0] for line in listing.stdout.splitlines()[1:]] == list(cli.SCHEMAS)


def test_discover_prints_the_state_generate_reads(chdir_tmp):
    assert run("discover").exit_code == 2
    found = chdir_tmp / ".taskmaster" / "tasks" / "tasks.json"
    found.parent.mkdir(parents=True)
    found.write_text("{}")
    assert run("discover").stdout == ".taskmaster/tasks/tasks.json\n"


def test_module_entry_point(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "context_handoff", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("context-handoff, version ")


def test_a_closed_pipe_is_not_an_error(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from context_handoff.cli import main; "
        f"sys.argv=['context-handoff','generate','--state',{str(EXAMPLE)!r},"
        f"'--output',{str(tmp_path / 'p.json')!r}]; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )  # its report goes there
    assert proc.stdout is not None
    proc.stdout.close()  # like `| head -0`
    _, err = proc.communicate()
    assert b"unexpected error" not in err and b"Traceback" not in err
    assert proc.returncode == 0
    assert (tmp_path / "p.json").exists()


def test_cli_docs_are_generated_from_the_help():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "cli_docs", Path(__file__).parent.parent / "scripts" / "cli_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DOC.read_text(encoding="utf-8") == module.render(), (
        "docs/cli.md is out of date: run python scripts/cli_docs.py"
    )


@pytest.mark.parametrize("error_format", ["text", "github"])
def test_state_data_cannot_split_a_log_line(chdir_tmp, error_format):
    Path("state.json").write_text(
        json.dumps(
            {"tasks": {"a\n::warning title=x::injected\r\u2028::error::x": {"status": "nope"}}}
        )
    )
    result = run("--error-format", error_format, "generate", "--state", "state.json")
    assert result.exit_code == 2
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) == (2 if error_format == "github" else 1)
    assert not any(line.lstrip().startswith("::warning") for line in lines)
    assert all(line.startswith(("error: ", "::error ")) for line in lines)


def test_dotenv_refuses_a_path_with_a_line_break(chdir_tmp):
    result = run(
        "generate",
        "--state",
        EXAMPLE,
        "--now",
        NOW,
        "--output",
        "out\nX=1/p.json",
        "--dotenv",
        "handoff.env",
    )
    assert result.exit_code == 2 and "holds a line break" in result.stderr
    assert not Path("handoff.env").exists()


def test_an_unwritable_step_outputs_file_is_one_error_line(chdir_tmp):
    result = run("generate", "--state", EXAMPLE, "--github-output", "missing/dir/out")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "missing/dir/out" in lines[0]
    assert not Path("context_payload.json").exists()
