"""The guide's integrations, used as their users would use them."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from context_handoff.checkpoint import HandoffCheckpointer, HandoffCheckpointMixin
from context_handoff.cli import cli
from context_handoff.errors import InputError

from .conftest import EXAMPLE, serve_app


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / ".orchestrator_state.json"
    shutil.copy(EXAMPLE, path)
    return path


# --- orchestrator checkpointing ---------------------------------------------------


def test_checkpoint_when_the_threshold_is_crossed(state, tmp_path):
    out = tmp_path / "handoffs"
    checkpointer = HandoffCheckpointer(state, out, threshold=1000)
    assert checkpointer.track_tokens(400, 100) is False
    assert not out.exists()
    assert checkpointer.track_tokens(400, 200) is True  # this call crossed 1000
    assert checkpointer.token_count == 0  # counting starts again for the next session
    payloads = sorted(out.glob("handoff-*.json"))
    assert len(payloads) == 1 and payloads[0].with_suffix(".md").exists()
    assert (out / "latest.json").read_bytes() == payloads[0].read_bytes()
    assert (out / "latest.md").read_text().startswith("# Handoff: ")
    assert checkpointer.track_tokens(10, 10) is False


def test_track_text_counts_real_tokens(state, tmp_path):
    checkpointer = HandoffCheckpointer(state, tmp_path / "h", threshold=10_000)
    checkpointer.track_text("hello world", "hello")
    assert checkpointer.token_count == 3  # o200k_base: "hello", " world", "hello"


def test_time_based_checkpoints(state, tmp_path):
    now = [datetime(2025, 1, 15, 9, 0, tzinfo=timezone.utc)]
    checkpointer = HandoffCheckpointer(
        state, tmp_path / "h", threshold=10**9, every=timedelta(hours=4), clock=lambda: now[0]
    )
    assert checkpointer.track_tokens(1, 1) is False
    now[0] += timedelta(hours=4, minutes=1)
    assert checkpointer.track_tokens(1, 1) is True
    assert checkpointer.track_tokens(1, 1) is False


def test_a_half_written_state_is_read_again(state, tmp_path):
    whole = state.read_text()
    state.write_text(whole[: len(whole) // 2])  # the orchestrator is mid-write
    waits: list[float] = []

    def finish_writing(seconds: float) -> None:
        waits.append(seconds)
        state.write_text(whole)

    checkpointer = HandoffCheckpointer(state, tmp_path / "h", sleep=finish_writing)
    path = checkpointer.checkpoint_for_handoff()
    assert waits == [0.2]
    assert json.loads(path.read_text())["summary"]["tasks_total"] == 15


def test_a_broken_state_is_not_turned_into_a_payload(state, tmp_path):
    state.write_text('{"tasks": ')
    checkpointer = HandoffCheckpointer(state, tmp_path / "h", sleep=lambda _s: None)
    with pytest.raises(InputError, match="invalid JSON"):
        checkpointer.checkpoint_for_handoff()
    assert not (tmp_path / "h").exists()


def test_the_guide_orchestrator_in_two_lines(state, tmp_path):
    class Orchestrator(HandoffCheckpointMixin):  # line one
        def __init__(self) -> None:
            self.init_handoff(state, output_dir=tmp_path / "h", threshold=150_000)  # two

    orchestrator = Orchestrator()
    assert orchestrator.track_tokens(100_000, 60_000) is True
    assert (tmp_path / "h" / "latest.json").exists()
    assert orchestrator.checkpoint_for_handoff("minimal").name.startswith("handoff-")


# --- Jupyter -------------------------------------------------------------------


def test_ipython_magic(state, tmp_path, monkeypatch):
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import start_ipython

    monkeypatch.chdir(tmp_path)
    shell = start_ipython()
    assert shell is not None
    shell.run_line_magic("load_ext", "context_handoff")
    context = shell.run_line_magic("handoff", f"minimal --state {state}")
    assert context["meta"]["level"] == "minimal" and "summary" in context
    assert json.loads((tmp_path / "context_payload.json").read_text()) == context
    with pytest.raises(UsageError, match="no such file"):
        shell.run_line_magic("handoff", "standard --state missing.json")
    with pytest.raises(UsageError, match="level 'huge' is not one of minimal, standard"):
        shell.run_line_magic("handoff", f"huge --state {state}")


# --- web API -------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path, state: Path) -> Iterator[str]:
    from context_handoff.web import create_app

    root = tmp_path / "states"
    root.mkdir()
    shutil.copy(state, root / ".orchestrator_state.json")
    (root / "bad.json").write_text('{"tasks": {"t7": {"status": "done", "dependencies": 3}}}')
    outside = tmp_path / "secret.json"
    outside.write_text(state.read_text())
    (root / "link.json").symlink_to(outside)
    yield from serve_app(create_app(root))


def test_web_api_answers_as_the_guide_promised(server):
    got = requests.get(f"{server}/api/handoff", params={"level": "minimal"}, timeout=10)
    assert got.status_code == 200
    body = got.json()
    assert body["success"] is True and body["level"] == "minimal"
    assert body["tokens"] <= 500 and "summary" in body["context"]
    posted = requests.post(
        f"{server}/api/handoff",
        timeout=10,
        json={"level": "standard", "state_file": ".orchestrator_state.json"},
    )
    assert posted.json()["context"]["meta"]["level"] == "standard"
    inline = requests.post(
        f"{server}/api/handoff",
        timeout=10,
        json={"level": "full", "state": {"tasks": {"a": {"status": "failed"}}}},
    )
    assert inline.status_code == 200
    assert inline.json()["context"]["execution_state"]["failed_tasks"] == ["a"]
    assert requests.get(f"{server}/healthz", timeout=10).json() == {"status": "ok"}
    assert "/api/handoff" in requests.get(f"{server}/openapi.json", timeout=10).json()["paths"]


@pytest.mark.parametrize(
    "state_file", ["../secret.json", "/etc/passwd", "link.json", "sub/../../secret.json"]
)
def test_web_api_never_reads_outside_the_state_root(server, state_file):
    got = requests.get(f"{server}/api/handoff", params={"state_file": state_file}, timeout=10)
    assert got.status_code == 400
    assert "context" not in got.json() and "Docs Portal" not in got.text


def test_web_api_errors(server):
    missing = requests.get(f"{server}/api/handoff", params={"state_file": "nope.json"}, timeout=10)
    assert missing.status_code == 404
    bad = requests.get(f"{server}/api/handoff", params={"state_file": "bad.json"}, timeout=10)
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["path"] == "$.tasks.t7.dependencies"
    assert str(Path("/")) + "tmp" not in bad.text  # no server paths in answers
    level = requests.get(f"{server}/api/handoff", params={"level": "huge"}, timeout=10)
    assert level.status_code == 400
    over = requests.get(f"{server}/api/handoff", params={"budget": 20}, timeout=10)
    assert over.status_code == 422 and "smallest" in over.json()["error"]


def test_web_api_metrics(server):
    requests.get(f"{server}/api/handoff", timeout=10)
    requests.get(f"{server}/api/handoff", params={"state_file": "bad.json"}, timeout=10)
    text = requests.get(f"{server}/metrics", timeout=10).text
    samples = {
        (s.name, s.labels.get("level")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("handoff_generated_total", "standard")] == 1
    assert samples[("handoff_tokens_count", "standard")] == 1
    assert samples[("handoff_errors_total", None)] == 1
    assert samples[("handoff_generation_seconds_count", "standard")] == 1


def test_flask_blueprint_shares_the_handler(tmp_path, state):
    from flask import Flask

    from context_handoff.web import create_blueprint

    app = Flask(__name__)
    app.register_blueprint(create_blueprint(state.parent))
    client = app.test_client()
    got = client.get("/api/handoff", query_string={"state_file": state.name, "level": "minimal"})
    assert got.status_code == 200 and got.get_json()["level"] == "minimal"
    assert client.get("/api/handoff", query_string={"state_file": "../x"}).status_code == 400


# --- Prometheus textfile ---------------------------------------------------------


def test_generate_writes_a_textfile_for_node_exporter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        ["generate", "--state", str(EXAMPLE), "--metrics-file", "h.prom"],
        catch_exceptions=False,
    )
    assert ok.exit_code == 0
    families = {f.name: f for f in text_string_to_metric_families(Path("h.prom").read_text())}
    assert families["handoff_generated"].samples[0].labels == {"level": "standard"}
    assert families["handoff_generated"].samples[0].value == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    failed = runner.invoke(
        cli, ["generate", "--state", str(bad), "--metrics-file", "f.prom"], catch_exceptions=False
    )
    assert failed.exit_code == 2
    families = {f.name: f for f in text_string_to_metric_families(Path("f.prom").read_text())}
    assert families["handoff_errors"].samples[0].value == 1
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))


# --- Docker Compose ----------------------------------------------------------------


def test_docker_compose_example(tmp_path):
    import subprocess

    from .test_action import IMAGE, _missing

    compose = shutil.which("docker-compose")
    reason = _missing() or (None if compose else "docker-compose is not installed")
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Compose example: {reason}")
        pytest.skip(reason)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLE, project / ".orchestrator_state.json")
    (project / "handoff").mkdir()
    shutil.copy(Path(__file__).parent.parent / "examples" / "docker-compose.yml", project)
    env = {
        **os.environ,
        "CONTEXT_HANDOFF_IMAGE": IMAGE,
        "UID": str(os.getuid()),
        "GID": str(os.getgid()),
        "LEVEL": "minimal",
        "COMPOSE_PROJECT_NAME": "chtest",
    }
    base = [str(compose), "-f", "docker-compose.yml"]
    run = subprocess.run(
        [*base, "run", "--rm", "handoff"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    payload = json.loads((project / "handoff" / "context_payload.json").read_text())
    assert payload["meta"]["level"] == "minimal"
    assert (project / "handoff" / "handoff_report.md").exists()
    try:
        up = subprocess.run(
            [*base, "up", "-d", "api"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(
                    "http://127.0.0.1:8000/api/handoff", params={"level": "minimal"}, timeout=5
                )
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["context"]["summary"]["tasks_total"] == 15
    finally:
        subprocess.run(
            [*base, "down", "--remove-orphans"],
            cwd=project,
            env=env,
            capture_output=True,
            timeout=120,
        )
