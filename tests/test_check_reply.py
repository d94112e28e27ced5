"""check-reply: a resume reply checked against the payload, deterministically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from context_handoff import cli, pipeline
from context_handoff.check_reply import Verdict, check_reply, verdict_markdown
from context_handoff.render import md
from context_handoff.synthetic import make_state

from .conftest import ROOT


def _payload(tmp_path: Path, level: str = "standard", tasks: int = 200) -> tuple[Path, Any]:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(make_state(tasks)), encoding="utf-8")
    generated = pipeline.generate(pipeline.GenerateOptions(state=state, level=level))
    out = tmp_path / f"{level}.json"
    out.write_text(generated.payload.text, encoding="utf-8")
    return out, generated.payload.data


def _facts(data: dict[str, Any]) -> tuple[str, str, str]:
    if "execution_state" in data:
        execution = data["execution_state"]
        return (
            data["summary"]["current_phase"],
            execution["active_tasks"][0],
            execution["failed_tasks"][0],
        )
    return data["summary"]["phase"], data["active"][0], data["failed"][0].split(": ")[0]


def _good(data: dict[str, Any], opening: str = "CONFIRMED") -> str:
    phase, task, failed = _facts(data)
    return (
        f"{opening} - We are in {phase}; I resume {task} and first fix {failed} "
        "(its error blocks the others)."
    )


def _check(payload: Path, reply: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli.cli,
        ["check-reply", "--payload", str(payload), "-", *args],
        input=reply,
        catch_exceptions=False,
    )


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_a_correct_reply_is_consistent(tmp_path: Path, level: str) -> None:
    payload, data = _payload(tmp_path, level)
    result = _check(payload, _good(data))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("consistent: names phase ")
    assert check_reply(data, _good(data, "READY TO RESUME")).consistent


def test_a_reply_from_a_file(tmp_path: Path) -> None:
    payload, data = _payload(tmp_path)
    reply = tmp_path / "reply.txt"
    reply.write_text(_good(data), encoding="utf-8")
    result = CliRunner().invoke(
        cli.cli,
        ["check-reply", "--payload", str(payload), str(reply), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    verdict = json.loads(result.output)
    phase, task, failed = _facts(data)
    assert verdict == {
        "consistent": True,
        "problems": [],
        "named": {"phase": [phase], "task": [task], "blockers": [failed]},
    }


@pytest.mark.parametrize("level", ["minimal", "standard"])
def test_a_wrong_reply_says_what_is_wrong(tmp_path: Path, level: str) -> None:
    payload, data = _payload(tmp_path, level)
    phase, task, failed = _facts(data)
    other = "phase_01" if phase != "phase_01" else "phase_02"
    if level == "standard":
        assert other in json.dumps(data["dag_snapshot"])
    reply = f"CONFIRMED - phase {other}: {failed} is done, moving on to the release."
    result = _check(payload, reply)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"problem: it calls {failed} done, but the payload lists it as failed" in lines
    assert f"problem: it does not name the current phase {phase}" in lines
    assert f"problem: it does not name the task to resume: {task}" in lines
    if level == "standard":  # minimal payloads do not list the other phases
        assert f"problem: it names phase {other}, but the current phase is {phase}" in lines


def test_missing_pieces_each_get_a_line(tmp_path: Path) -> None:
    payload, data = _payload(tmp_path)
    phase, task, failed = _facts(data)
    result = _check(payload, f"Sure, resuming {task} in {phase}.")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "problem: the reply does not start with CONFIRMED - or READY TO RESUME - or "
        "RECOVERY PLAN -",
        f"problem: it does not name the first blocking failure: {failed}",
    ]


def test_negated_or_future_done_is_no_contradiction(tmp_path: Path) -> None:
    _, data = _payload(tmp_path)
    phase, task, failed = _facts(data)
    for tail in (
        f"{failed} is not done yet",
        f"keep going until {failed} passes",
        f"{failed} must be fixed first",
    ):
        reply = f"CONFIRMED - {phase}, resuming {task}; {tail}."
        assert check_reply(data, reply).consistent, tail
    assert not check_reply(data, f"CONFIRMED - {phase}, {task}; {failed} fixed.").consistent


def test_ids_match_as_whole_words() -> None:
    data = {
        "summary": {"phase": "p1", "task": "t1"},
        "active": ["t1"],
        "failed": ["t10: E"],
        "next": [],
        "failures": {},
        "pending_decisions": [],
        "meta": {},
    }
    assert not check_reply(data, "CONFIRMED - p1, t1, t100").named["blockers"]
    assert check_reply(data, "CONFIRMED - p1, t1, t10").consistent


@pytest.mark.parametrize("payload_text", ["{", "[]", '{"meta": {"level": "standard"}}'])
def test_bad_payloads_are_bad_input(tmp_path: Path, payload_text: str) -> None:
    payload = tmp_path / "p.json"
    payload.write_text(payload_text, encoding="utf-8")
    result = _check(payload, "CONFIRMED - x")
    assert result.exit_code == 2
    assert result.output.startswith("error: ")


def test_a_missing_reply_file_is_bad_input(tmp_path: Path) -> None:
    payload, _ = _payload(tmp_path)
    result = CliRunner().invoke(
        cli.cli, ["check-reply", "--payload", str(payload), str(tmp_path / "nope.txt")]
    )
    assert result.exit_code == 2
    assert "nope.txt: no such file" in result.output


def test_the_verdict_in_a_job_summary_shows_state_text_literally(tmp_path: Path) -> None:
    payload, data = _payload(tmp_path)
    summary = tmp_path / "summary.md"
    result = _check(
        payload, "CONFIRMED - **<img src=x>** [link](http://x)", "--github-summary", str(summary)
    )
    assert result.exit_code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### Resume check: the reply does not match the payload")
    hostile = Verdict(
        {"phase": ["<img src=x>"], "task": [], "blockers": []}, ["it calls [x](http://x) done"]
    )
    shown = verdict_markdown(hostile)
    assert "\\<img src=x>" in shown and "<img" not in shown.replace("\\<img", "")
    assert "\\[x\\]" in shown
    phase, _, _ = _facts(data)
    verdict = check_reply(data, _good(data))
    assert verdict_markdown(verdict).startswith("### Resume check: the reply is consistent")
    assert md(phase) in verdict_markdown(verdict)


@pytest.mark.parametrize("good", [True, False])
def test_the_action_step_puts_the_verdict_in_the_job_summary(tmp_path: Path, good: bool) -> None:
    """action/check-reply.sh as the action runs it, the CLI from this interpreter's venv."""
    out = tmp_path / "context-handoff"
    out.mkdir()
    _, data = _payload(out)
    (out / "standard.json").rename(out / "context_payload.json")
    phase, _, failed = _facts(data)
    reply = _good(data) if good else f"CONFIRMED - {phase}: {failed} is done.\n::warning::x"
    (tmp_path / "reply.txt").write_text(reply, encoding="utf-8")
    summary, outputs = tmp_path / "summary.md", tmp_path / "out.txt"
    env = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(ROOT),
        "CH_ENGINE_RESOLVED": "python",
        "CH_BIN": str(Path(sys.executable).parent),
        "CH_REPLY_FILE": "reply.txt",
        "CH_OUTPUT_DIR": "context-handoff",
        "CH_JOB_SUMMARY": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "check-reply.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == (0 if good else 1), proc.stderr
    assert outputs.read_text() == f"reply-consistent={'true' if good else 'false'}\n"
    shown = summary.read_text(encoding="utf-8")
    assert ("is consistent" if good else "does not match") in shown
    assert not any(line.startswith("::") for line in proc.stdout.splitlines())


PHASE_5 = {
    "summary": {"current_phase": "phase_05", "phase_name": "Phase 5: Queue work"},
    "execution_state": {
        "active_tasks": ["task_0100_migrate_monitoring"],
        "next_eligible": [],
        "failed_tasks": ["task_0959_sync_docs"],
        "names": {},
    },
    "dag_snapshot": {"phases": [{"id": "phase_04"}, {"id": "phase_05"}]},
}


@pytest.mark.parametrize(
    "reply",
    [
        "CONFIRMED - phase_05 (42% done): first clear failed task_0959_sync_docs "
        "(CalledProcessError), then resume task_0100_migrate_monitoring",
        "CONFIRMED - phase_05 with 843/2000 tasks done and task_0959_sync_docs failed; "
        "resume task_0100_migrate_monitoring",
        "CONFIRMED - phase_05, resume task_0100_migrate_monitoring; blockers: "
        "task_0959_sync_docs (its kubectl step completed with exit status 1)",
        "CONFIRMED - Phase 5, resume task_0100_migrate_monitoring, clearing task_0959_sync_docs",
        "CONFIRMED - Queue work: resume task_0100_migrate_monitoring, clear task_0959_sync_docs",
    ],
)
def test_done_words_not_said_of_the_failed_task_are_no_contradiction(reply: str) -> None:
    assert check_reply(PHASE_5, reply).problems == []


@pytest.mark.parametrize(
    "claim",
    [
        "task_0959_sync_docs is done",
        "done: task_0959_sync_docs",
        "completed task_0959_sync_docs",
        "task_0959_sync_docs was marked done",
        "task_0959_sync_docs - finished",
    ],
)
def test_a_done_word_said_of_the_failed_task_is_a_contradiction(claim: str) -> None:
    reply = f"CONFIRMED - phase_05: {claim}; resume task_0100_migrate_monitoring"
    assert check_reply(PHASE_5, reply).problems == [
        "it calls task_0959_sync_docs done, but the payload lists it as failed"
    ]


def test_another_phase_number_is_not_the_current_phase() -> None:
    for other in ("Phase 4", "Phase 50", "phase 5.2"):
        reply = f"CONFIRMED - {other}, resume task_0100_migrate_monitoring, task_0959_sync_docs"
        assert "it does not name the current phase phase_05" in check_reply(PHASE_5, reply).problems


def test_a_reply_not_in_utf8_is_bad_input_from_a_file_or_stdin(tmp_path: Path) -> None:
    payload, _ = _payload(tmp_path)
    reply = tmp_path / "reply.txt"
    reply.write_bytes(b"CONFIRMED - \xff\xfe phase")
    by_file = CliRunner().invoke(cli.cli, ["check-reply", "--payload", str(payload), str(reply)])
    by_stdin = CliRunner().invoke(
        cli.cli, ["check-reply", "--payload", str(payload), "-"], input=reply.read_bytes()
    )
    assert (by_file.exit_code, by_stdin.exit_code) == (2, 2), (by_file.output, by_stdin.output)
    assert "the reply on stdin: not valid UTF-8" in by_stdin.output
