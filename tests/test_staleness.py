"""How old a state is, and where that came from: its own stamp, its file's last commit
(on a CI runner, where mtimes are the checkout's), or its file's mtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff import pipeline
from context_handoff.cli import cli
from context_handoff.errors import HandoffFailed

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
needs_git = pytest.mark.skipif(
    shutil.which("git") is None and os.environ.get("CI") != "true", reason="no git on this machine"
)


def _generate(path: Path, **options):
    return pipeline.generate(pipeline.GenerateOptions(state=path, now=NOW, **options))


def _state(updated: datetime | None = None) -> dict:
    doc: dict = {"tasks": {"a": {"status": "running"}}}
    if updated is not None:
        doc["metadata"] = {"last_updated": updated.isoformat()}
    return doc


def test_a_state_from_the_future_is_warned_about_and_never_fresh(write_state):
    path = write_state(_state(NOW + timedelta(hours=2)))
    facts = _generate(path).facts
    assert facts.age_hours == -2 and facts.age_source == "metadata.last_updated"
    assert any("dated 2 h in the future" in w for w in facts.warnings)
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--state",
            str(path),
            "--max-age",
            "6h",
            "--now",
            NOW.isoformat(),
            "--output",
            str(path.with_name("p.json")),
            "--no-report",
        ],
    )
    assert result.exit_code == 1
    assert "dated 2 h in the future" in result.stderr and "cannot vouch" in result.stderr


def test_clock_skew_within_the_allowance_is_fresh(write_state):
    facts = _generate(
        write_state(_state(NOW + timedelta(minutes=2))), max_age=timedelta(hours=1)
    ).facts
    assert not any("future" in w for w in facts.warnings)


def test_off_ci_the_mtime_is_the_age(write_state, monkeypatch):
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    path = write_state(_state())
    stamp = (NOW - timedelta(hours=3)).timestamp()
    os.utime(path, (stamp, stamp))
    facts = _generate(path).facts
    assert (facts.age_hours, facts.age_source) == (3, "file mtime")


def _git(folder: Path, *args: str, when: str = "2025-01-10T12:00:00+00:00") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "-C", str(folder), *args], check=True, env=env, capture_output=True)


@needs_git
def test_on_ci_the_last_commit_is_the_age(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    state = repo / ".orchestrator_state.json"
    state.write_text(json.dumps(_state()))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "state")
    (repo / "other.txt").write_text("later work")  # a later commit of another file
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "other", when="2025-01-15T14:00:00+00:00")
    monkeypatch.setenv("CI", "true")
    facts = _generate(state).facts  # the mtime is now; the commit is 5 days old
    assert (facts.age_hours, facts.age_source) == (123, "git commit")
    with pytest.raises(HandoffFailed, match=r"123 h old \(git commit 2025-01-10 12:00"):
        _generate(state, max_age=timedelta(hours=6))

    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
        check=True,
        capture_output=True,
    )
    shallow = _generate(clone / ".orchestrator_state.json").facts
    assert (shallow.age_hours, shallow.age_source) == (1, "git commit")
    assert any("the clone is shallow" in w for w in shallow.warnings)


def test_the_commit_time_can_be_given(write_state, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    path = write_state(_state())
    facts = _generate(path, committed_at=NOW - timedelta(hours=30)).facts
    assert (facts.age_hours, facts.age_source) == (30, "git commit")
    stamped = _generate(
        write_state(_state(NOW - timedelta(hours=1))), committed_at=NOW - timedelta(hours=30)
    ).facts
    assert (stamped.age_hours, stamped.age_source) == (1, "metadata.last_updated")
