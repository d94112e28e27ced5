"""The GitLab CI template, run by gitlab-ci-local as a user's pipeline would run it.

Shell executor (the job's commands run here, with this checkout's CLI on PATH); the
GitLab API is a fake on 127.0.0.1. Needs gitlab-ci-local (tools/: `make oracles`) and
rsync: without them these skip; in CI (CI=true) they fail.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from context_handoff import payload_file

from .conftest import EXAMPLE, ROOT
from .fake_api import serve, serve_handler

TEMPLATE = ROOT / "templates" / "context-handoff.yml"
GCL = ROOT / "tools" / "node_modules" / ".bin" / "gitlab-ci-local"


@pytest.fixture(scope="module")
def gcl() -> Path:
    reason = None
    if not GCL.exists():
        reason = "gitlab-ci-local is not installed: make oracles (needs Node and npm)"
    elif shutil.which("rsync") is None:
        reason = "gitlab-ci-local needs rsync: install it (apt-get install rsync)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the GitLab template tests: {reason}")
        pytest.skip(reason)
    return GCL


class Pipeline:
    def __init__(self, proc: subprocess.CompletedProcess[str], repo: Path) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.log = proc.stdout + proc.stderr
        self.repo = repo

    def artifacts(self, job: str = "context-handoff") -> Path:
        return self.repo / ".gitlab-ci-local" / "artifacts" / job / "context-handoff"

    @property
    def ran(self) -> bool:
        return "context-handoff starting shell" in self.log


@pytest.fixture
def project(tmp_path: Path, gcl: Path):
    repo = tmp_path / "repo"
    (repo / "templates").mkdir(parents=True)
    shutil.copy(TEMPLATE, repo / "templates" / "context-handoff.yml")
    shutil.copy(EXAMPLE, repo / ".orchestrator_state.json")
    (repo / "broken_state.json").write_text('{"tasks": {"t7": {"status": "finished"}}}')

    def run(
        inputs: dict[str, object] | None = None,
        *,
        source: str = "schedule",
        variables: dict[str, str] | None = None,
        preview: bool = False,
        include: dict[str, object] | None = None,
        ci_file: Path | None = None,
        args: tuple[str, ...] = (),
        keep_cache: bool = False,
    ) -> Pipeline:
        state_dir = repo / ".gitlab-ci-local"
        cache = state_dir / "cache"
        kept = tmp_path / "kept-cache"
        if keep_cache and cache.exists():  # the runner's cache outlives its pipelines
            shutil.copytree(cache, kept, dirs_exist_ok=True)
        shutil.rmtree(state_dir, ignore_errors=True)  # a fresh pipeline
        if keep_cache and kept.exists():
            shutil.copytree(kept, cache)
        include = dict(include or {"local": "templates/context-handoff.yml"})
        if inputs:
            include["inputs"] = inputs
        if ci_file:
            shutil.copy(ci_file, repo / ".gitlab-ci.yml")
        else:
            (repo / ".gitlab-ci.yml").write_text(yaml.safe_dump({"include": [include]}))
        git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
        if not (repo / ".git").exists():
            subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
            subprocess.run(
                [
                    *git,
                    "remote",
                    "add",
                    "origin",
                    "https://gitlab.example.com/acme/context-handoff.git",
                ],
                check=True,
            )
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "pipeline", "--allow-empty"], check=True)
        ignored = ["CI_PIPELINE_SOURCE"]
        command = [str(gcl), "--force-shell-executor", "--variable", f"CI_PIPELINE_SOURCE={source}"]
        for key, value in (variables or {}).items():
            command += ["--variable", f"{key}={value}"]
            ignored.append(key)
        command += ["--ignore-predefined-vars", ",".join(ignored), *args]
        if preview:
            command.append("--preview")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
        }
        proc = subprocess.run(
            command, cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )
        return Pipeline(proc, repo)

    return run


@pytest.mark.parametrize("level", [None, "minimal", "standard", "full"])
def test_scheduled_pipeline_produces_payload_report_and_dotenv(project, level):
    result = project({"level": level} if level else None)
    assert result.returncode == 0, result.log[-3000:]
    artifacts = result.artifacts()
    expected = level or "standard"
    check = payload_file.check_payload(artifacts / "context_payload.json")
    assert check.valid and check.level == expected
    assert (artifacts / "handoff_report.md").read_text().startswith("#")
    dotenv = dict(line.split("=", 1) for line in (artifacts / "handoff.env").read_text().split())
    assert dotenv["CONTEXT_HANDOFF_LEVEL"] == expected
    assert (
        int(dotenv["CONTEXT_HANDOFF_TOKENS"])
        == check.tokens
        <= int(dotenv["CONTEXT_HANDOFF_BUDGET"])
    )
    assert (
        dotenv["CONTEXT_HANDOFF_HANDOFF_ID"]
        == json.loads((artifacts / "context_payload.json").read_text())["handoff_id"]
    )


# The component of this project, as its own pipeline includes it in a GitLab mirror
# (gitlab-ci-local reads it from the checkout: the project's path and the commit's SHA).
COMPONENT = {"component": "$CI_SERVER_FQDN/$CI_PROJECT_PATH/context-handoff@$CI_COMMIT_SHA"}


def test_a_state_without_its_own_time_ages_from_the_pipelines_commit(project, tmp_path):
    """A checkout's mtimes are the checkout's time: without metadata.last_updated the
    state would always look fresh; the job ages it from the commit instead."""
    state_file = tmp_path / "repo" / ".orchestrator_state.json"
    state = json.loads(state_file.read_text())
    del state["metadata"]["last_updated"]
    state_file.write_text(json.dumps(state))
    stale = project(
        {"max-state-age": "6h"}, variables={"CI_COMMIT_TIMESTAMP": "2025-01-01T00:00:00+00:00"}
    )
    assert stale.returncode != 0
    assert "over --max-age 6 h" in stale.log and "(git commit" in stale.log


def test_two_scheduled_pipelines_report_what_changed_between_them(project, tmp_path):
    first = project()
    assert first.returncode == 0, first.log[-3000:]
    assert "nothing to compare with" in first.log
    state_file = tmp_path / "repo" / ".orchestrator_state.json"
    state = json.loads(state_file.read_text())
    state["tasks"]["s10_check_links"].update(status="success", error=None)
    state_file.write_text(json.dumps(state))
    second = project(keep_cache=True)
    assert second.returncode == 0, second.log[-3000:]
    report = (second.artifacts() / "handoff_report.md").read_text()
    assert "## Since the last handoff" in report
    assert "- 🩹 recovered (1): s10_check_links" in report
    payload = json.loads((second.artifacts() / "context_payload.json").read_text())
    assert payload["changes"]["recovered"] == ["s10_check_links"]


def test_included_as_a_ci_cd_component(project):
    result = project({"level": "minimal"}, include=COMPONENT)
    assert result.returncode == 0, result.log[-3000:]
    check = payload_file.check_payload(result.artifacts() / "context_payload.json")
    assert check.valid and check.level == "minimal"
    preview = project({"level": "full", "job-name": "nightly"}, include=COMPONENT, preview=True)
    job = yaml.safe_load(preview.stdout)["nightly"]
    assert job["variables"]["CH_LEVEL"] == "full"
    assert job["image"]["name"] == (ROOT / "action" / "image.txt").read_text().strip()


def test_the_mirrors_pipeline_runs_the_component_and_releases_it_on_a_version_tag(
    project, tmp_path
):
    """The repository's own .gitlab-ci.yml, as a GitLab mirror runs it."""
    examples = tmp_path / "repo" / "examples"
    examples.mkdir()
    shutil.copy(EXAMPLE, examples / EXAMPLE.name)
    run = project(source="web", ci_file=ROOT / ".gitlab-ci.yml")
    assert run.returncode == 0, run.log[-3000:]
    check = payload_file.check_payload(run.artifacts("component-selftest") / "context_payload.json")
    assert check.valid and check.level == "standard"

    def jobs(variables: dict[str, str]) -> dict[str, str]:
        listed = project(
            source="push",
            ci_file=ROOT / ".gitlab-ci.yml",
            variables=variables,
            args=("--list-json",),
        )
        assert listed.returncode == 0, listed.log[-3000:]
        return {job["name"]: job["when"] for job in json.loads(listed.stdout)}

    assert jobs({"CI_COMMIT_TAG": "1.0.0"})["catalog-release"] == "on_success"
    assert jobs({"CI_COMMIT_TAG": "v1.0.0"})["catalog-release"] == "never"


def test_included_as_a_remote_file(project):
    """`include: remote:` fetches the same file over HTTP (served here on 127.0.0.1)."""
    with _serve_directory(ROOT) as url:
        remote = {"remote": f"{url}/templates/context-handoff.yml"}
        result = project({"level": "full"}, include=remote)
    assert result.returncode == 0, result.log[-3000:]
    check = payload_file.check_payload(result.artifacts() / "context_payload.json")
    assert check.valid and check.level == "full"


@pytest.mark.parametrize("how", ["component", "remote"])
def test_the_pipelines_a_user_copies_run_as_they_are(project, tmp_path, how):
    """gitlab/include-*.gitlab-ci.yml as written, but for where the file comes from: this
    commit's component, or this checkout served over HTTP, instead of a release's."""
    copied = yaml.safe_load((ROOT / "gitlab" / f"include-{how}.gitlab-ci.yml").read_text())
    (include,) = copied["include"]
    assert how in include and "1.0.0" in include[how]  # a release, pinned
    with _serve_directory(ROOT) as url:
        include[how] = (
            COMPONENT["component"] if how == "component" else f"{url}/templates/context-handoff.yml"
        )
        ci_file = tmp_path / "copied.gitlab-ci.yml"
        ci_file.write_text(yaml.safe_dump(copied))
        # half an hour after the example state's last update: within max-state-age 6h
        result = project(ci_file=ci_file, variables={"SOURCE_DATE_EPOCH": "1736953200"})
    assert result.returncode == 0, result.log[-3000:]
    check = payload_file.check_payload(result.artifacts() / "context_payload.json")
    assert check.valid and check.level == "standard"
    handoff_id = json.loads((result.artifacts() / "context_payload.json").read_text())["handoff_id"]
    assert f"handoff {handoff_id} ({check.tokens} of 1200 tokens)" in result.log


def _serve_directory(root: Path) -> contextlib.AbstractContextManager[str]:
    return serve_handler(
        functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    )


def test_runs_for_schedule_and_web_but_not_push(project):
    assert project(source="web").ran
    pushed = project(source="push")
    assert not pushed.ran and not pushed.artifacts().exists()


def test_inputs_are_interpolated(project):
    result = project(
        {
            "level": "full",
            "budget": "3000",
            "expire-in": "7 days",
            "job-name": "handoff-nightly",
            "stage": "deploy",
            "issue-on-failure": False,
        },
        preview=True,
    )
    assert result.returncode == 0, result.log
    job = yaml.safe_load(result.stdout)["handoff-nightly"]
    assert job["stage"] == "deploy"
    assert job["variables"]["CH_LEVEL"] == "full" and job["variables"]["CH_BUDGET"] == "3000"
    assert job["variables"]["CH_ISSUE_ON_FAILURE"] == "false"
    assert job["artifacts"]["expire_in"] == "7 days"
    assert job["artifacts"]["reports"]["dotenv"] == "context-handoff/handoff.env"


def test_failing_state_keeps_artifacts_and_opens_one_issue(project):
    with serve("gitlab") as fake:
        variables = {
            "CI_API_V4_URL": fake.url,
            "CI_PROJECT_ID": "7",
            "CONTEXT_HANDOFF_GITLAB_TOKEN": "glpat-test",
        }
        first = project({"state-file": "broken_state.json"}, variables=variables)
        assert first.returncode != 0
        assert "$.tasks.t7.status" in first.log
        assert first.artifacts().parent.exists()  # when: always
        second = project({"state-file": "broken_state.json"}, variables=variables)
        assert second.returncode != 0
        assert len(fake.issues) == 1 and len(fake.comments) == 1
        assert fake.issues[0]["labels"] == ["context-handoff"]
        recovered = project(variables=variables)
        assert recovered.returncode == 0
        assert fake.issues[0]["state"] == "closed"


def test_missing_token_is_a_notice_not_a_failure(project):
    result = project(variables={"CONTEXT_HANDOFF_GITLAB_TOKEN": ""})
    assert result.returncode == 0
    assert "CONTEXT_HANDOFF_GITLAB_TOKEN is not set" in result.log


def test_job_part_matches_gitlabs_schema(tmp_path):
    checker = Path(sys.executable).with_name("check-jsonschema")
    if not checker.exists():
        pytest.fail("check-jsonschema is a dev dependency; pip install -e '.[dev]'")
    job = tmp_path / "job.yml"
    job.write_text(TEMPLATE.read_text().split("\n---\n", 1)[1])
    proc = subprocess.run(
        [
            str(checker),
            "--builtin-schema",
            "vendor.gitlab-ci",
            str(job),
            str(ROOT / ".gitlab-ci.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = yaml.safe_load(TEMPLATE.read_text().split("\n---\n", 1)[0])
    assert not set(yaml.safe_load(job.read_text())) & {"default", "stages", "variables"}
    assert header["spec"]["inputs"]["issue-on-failure"]["type"] == "boolean"


def test_task_master_project_is_found_and_its_tag_read(project, tmp_path):
    repo = tmp_path / "repo"
    case = ROOT / "tests" / "taskmaster" / "tagged-tag-option"
    (repo / ".taskmaster" / "tasks").mkdir(parents=True)
    shutil.copy(case / "tasks.json", repo / ".taskmaster" / "tasks" / "tasks.json")
    shutil.copy(case / "state.json", repo / ".taskmaster" / "state.json")
    (repo / ".orchestrator_state.json").unlink()
    result = project({"tag": "experiments"})
    assert result.returncode == 0, result.log[-3000:]
    payload = json.loads((result.artifacts() / "context_payload.json").read_text())
    assert payload["meta"]["format"] == "taskmaster" and payload["meta"]["tag"] == "experiments"
    state = payload["execution_state"]
    first = (state.get("next_eligible") or state.get("next_tasks"))[0]  # v1 ids, or items
    assert first in ("2.1", {"id": "2.1", "name": "Probe step"})
    forced = project({"format": "orchestrator"})
    assert forced.returncode != 0
    assert "no orchestrator state here" in forced.log and "try --format auto" in forced.log
