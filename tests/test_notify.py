"""The issue flow against fake GitHub and GitLab APIs served on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff.cli import cli

from .fake_api import FAULTS, serve


def _github_env(fake, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_API_URL": fake.url,
        "GITHUB_REPOSITORY": "acme/orchestrator",
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "42",
        "GITHUB_WORKFLOW": "handoff",
        "GITHUB_JOB": "generate",
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        **extra,
    }


def _gitlab_env(fake, **extra: str) -> dict[str, str]:
    return {
        "CI_API_V4_URL": fake.url,
        "CI_PROJECT_ID": "7",
        "CI_PROJECT_PATH": "acme/orch",
        "CI_JOB_NAME": "context-handoff",
        "CONTEXT_HANDOFF_GITLAB_TOKEN": "glpat-x",
        "CI_PIPELINE_URL": "https://gitlab.example/acme/orch/-/pipelines/9",
        **extra,
    }


def notify(tracker: str, env: dict[str, str], *args: str):
    return CliRunner().invoke(cli, ["notify", tracker, *args], env=env, catch_exceptions=False)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "handoff_report.md"
    path.write_text("# Handoff report\n\nline\n" * 5000)  # longer than an issue body may be
    return path


def test_github_two_failures_one_issue_then_closed(tmp_path, report):
    with serve("github") as fake:
        env = _github_env(fake, tmp_path)
        first = notify("github", env, "--status", "failure", "--report", str(report))
        assert first.exit_code == 0 and "issue created" in first.stdout
        second = notify("github", env, "--status", "failure", "--report", str(report))
        assert "issue commented" in second.stdout
        assert len(fake.issues) == 1 and len(fake.comments) == 1
        assert fake.labels == {"context-handoff"}
        body = fake.issues[0]["body"]
        assert body.startswith("<!-- context-handoff:fingerprint=")
        assert "https://github.example/acme/orchestrator/actions/runs/42" in body
        assert len(body) <= 65_536 and "cut to fit the issue" in body
        assert (tmp_path / "out.txt").read_text().startswith("issue-number=1\nissue-url=")
        closed = notify("github", env, "--status", "success")
        assert "issue closed" in closed.stdout
        assert fake.issues[0]["state"] == "closed" and len(fake.comments) == 2
        again = notify("github", env, "--status", "failure", "--report", str(report))
        assert "issue created" in again.stdout and len(fake.issues) == 2


def test_github_other_jobs_issues_are_not_touched(tmp_path, report):
    with serve("github") as fake:
        notify("github", _github_env(fake, tmp_path), "--status", "failure")
        other = _github_env(fake, tmp_path, GITHUB_JOB="other-job")
        notify("github", other, "--status", "failure")
        assert len(fake.issues) == 2 and fake.comments == []


def test_github_403_is_a_notice_not_a_failure(tmp_path):
    with serve("github") as fake:
        fake.fail_next = [403]
        result = notify(
            "github", _github_env(fake, tmp_path, GITHUB_ACTIONS="true"), "--status", "failure"
        )
        assert result.exit_code == 0
        assert result.stderr.startswith("::notice::GitHub answered 403")
        assert fake.issues == []


def test_github_502_is_retried(tmp_path):
    with serve("github") as fake:
        fake.fail_next = [502, 502]
        result = notify("github", _github_env(fake, tmp_path), "--status", "failure")
        assert "issue created" in result.stdout
        assert [r for r in fake.requests if r[0] == "GET"][:3] == [
            ("GET", "/repos/acme/orchestrator/issues")
        ] * 3


def test_github_fork_pull_request_is_a_notice(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"repo": {"fork": True, "full_name": "mallory/orchestrator"}}
                }
            }
        )
    )
    with serve("github") as fake:
        env = _github_env(
            fake, tmp_path, GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event)
        )
        result = notify("github", env, "--status", "failure")
        assert result.exit_code == 0 and "fork" in result.stderr
        assert fake.requests == []


def test_github_without_token_is_a_notice(tmp_path):
    with serve("github") as fake:
        env = _github_env(fake, tmp_path, GITHUB_TOKEN="")
        result = notify("github", env, "--status", "failure")
        assert result.exit_code == 0 and "no GITHUB_TOKEN" in result.stderr


def test_gitlab_two_failures_one_issue_then_closed(report):
    with serve("gitlab") as fake:
        env = _gitlab_env(fake)
        assert (
            "issue created"
            in notify("gitlab", env, "--status", "failure", "--report", str(report)).stdout
        )
        assert "issue commented" in notify("gitlab", env, "--status", "failure").stdout
        assert len(fake.issues) == 1 and len(fake.comments) == 1
        assert fake.issues[0]["labels"] == ["context-handoff"]
        assert "pipelines/9" in fake.issues[0]["description"]
        assert "issue closed" in notify("gitlab", env, "--status", "success").stdout
        assert fake.issues[0]["state"] == "closed"


def test_gitlab_missing_token_is_a_notice():
    with serve("gitlab") as fake:
        env = _gitlab_env(
            fake, CONTEXT_HANDOFF_GITLAB_TOKEN="", CONTEXT_HANDOFF_TOKEN_VARIABLE="MY_TOKEN"
        )
        result = notify("gitlab", env, "--status", "failure")
        assert result.exit_code == 0 and "$MY_TOKEN is not set" in result.stderr
        assert fake.requests == []


def test_annotations_for_bad_state(tmp_path):
    bad = tmp_path / "s,tate:1.json"
    bad.write_text(json.dumps({"tasks": {"t7": {"status": "done", "dependencies": "x\n%"}}}))
    result = CliRunner().invoke(
        cli, ["--error-format", "github", "generate", "--state", str(bad)], catch_exceptions=False
    )
    assert result.exit_code == 2
    line = result.stdout.splitlines()[0]
    assert line.startswith("::error file=") and "s%2Ctate%3A1.json" in line
    assert "::$.tasks.t7.dependencies: 'x\\n%25' is not of type" in line  # % escaped


def test_workflow_command_escaping():
    from context_handoff.workflow_commands import command

    assert command("error", "a%b\r\nc", file="x:y,z.json") == (
        "::error file=x%3Ay%2Cz.json::a%25b%0D%0Ac"
    )


def test_cli_lists_every_tracker():
    from context_handoff.cli import TRACKERS
    from context_handoff.notify import TRACKERS_BY_NAME

    assert set(TRACKERS) == set(TRACKERS_BY_NAME)


@pytest.mark.parametrize("tracker", ["github", "gitlab"])
@pytest.mark.parametrize("fault", FAULTS)
def test_every_api_fault_is_a_notice_within_the_deadline(tmp_path, tracker, fault):
    """Exit 0 with a notice, at most one issue, the token never sent to another origin,
    and done by the deadline (30 s by default): the shortest --timeout there is where the
    fault runs into it; where the work goes on past the fault, room for that work."""
    found_again = fault in ("created-then-502", "self-next")
    timeout = 4 if found_again else 1
    with serve(tracker, fault) as fake:
        env = _github_env(fake, tmp_path) if tracker == "github" else _gitlab_env(fake)
        start = time.monotonic()
        result = notify(tracker, env, "--status", "failure", "--timeout", str(timeout))
        elapsed = time.monotonic() - start
        assert result.exit_code == 0, result.output
        if found_again:  # the loop ended
            assert "issue created" in result.stdout and len(fake.issues) == 1
        else:
            assert result.stderr.startswith("notice: "), result.stderr
        assert "Traceback" not in result.output
        assert len(fake.issues) <= 1
        assert not any("t0ken" in str(h) or "glpat-x" in str(h) for h in fake.foreign_requests)
        assert elapsed < timeout + 2.5, f"{fault}: {elapsed:.1f} s"


def test_a_lost_create_answer_is_looked_up_not_resent(tmp_path):
    with serve("github", "created-then-502") as fake:
        result = notify("github", _github_env(fake, tmp_path), "--status", "failure")
        assert result.exit_code == 0 and "issue created" in result.stdout
        assert len(fake.issues) == 1
        assert [r for r in fake.requests if r[0] == "POST" and r[1].endswith("/issues")] == [
            ("POST", "/repos/acme/orchestrator/issues")
        ]


def test_a_rate_limit_is_not_called_a_permission_problem(tmp_path):
    with serve("github", "rate-limit-403") as fake:
        result = notify("github", _github_env(fake, tmp_path), "--status", "failure")
        assert "rate limit reached" in result.stderr and "issues: write" not in result.stderr


def test_a_foreign_next_page_is_not_followed(tmp_path):
    with serve("github", "foreign-next") as fake:
        result = notify("github", _github_env(fake, tmp_path), "--status", "failure")
        assert "not followed (the token stays with the API)" in result.stderr
        assert fake.foreign_requests == [] and fake.issues == []


def test_api_answers_cannot_start_a_workflow_command(tmp_path):
    with serve("github") as fake:
        fake.fail_next = [404]  # its message is the API's text, shown in the notice
        env = _github_env(fake, tmp_path)
        result = notify("github", env, "--status", "failure")
        assert result.exit_code == 0 and result.stderr.count("\n") == 1
        fake.url += "\n::warning::injected"  # the issue's URL comes from the API
        created = notify("github", env, "--status", "failure")
        assert "issue created" in created.stdout
        assert not any(line.startswith("::") for line in created.output.splitlines())
        outputs = (tmp_path / "out.txt").read_text()
        assert "issue-url<<ghadelimiter_" in outputs  # a heredoc: the break stays data
