"""The web API under hostile requests: limits, 4xx for every bad input, a bounded
shutdown. A real uvicorn server on 127.0.0.1 (and Flask's test client)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from context_handoff.synthetic import make_state

from .conftest import EXAMPLE, free_port, serve_app

SRC = Path(__file__).parents[1] / "src"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "states"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / ".orchestrator_state.json")
    (folder / "recursive.yaml").write_text("tasks: &t {a: {status: done, x: *t}}\n")
    (folder / "big.json").write_text(json.dumps(make_state(3000)))
    return folder


@pytest.fixture
def server(root: Path) -> Iterator[str]:
    from context_handoff.web import create_app

    yield from serve_app(create_app(root, max_body_bytes=100_000))


def test_a_recursive_yaml_state_is_a_quick_422(server):
    got = requests.get(f"{server}/api/handoff", params={"state_file": "recursive.yaml"}, timeout=10)
    assert got.status_code == 422
    assert "recursive document" in got.json()["error"]


def test_a_body_over_the_limit_is_413_before_it_is_parsed(server):
    body = json.dumps({"state": {"tasks": {}, "pad": "x" * 200_000}}).encode()
    declared = requests.post(
        f"{server}/api/handoff", data=body, timeout=10, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and "over 100,000 bytes" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    streamed = requests.post(
        f"{server}/api/handoff",
        data=chunks(),
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    small = requests.post(
        f"{server}/api/handoff", timeout=10, json={"state": {"tasks": {"a": {"status": "done"}}}}
    )
    assert small.status_code == 200


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"state_file": "a\0b.json"}, 400),
        ({"state_file": "x" * 5000}, 400),
        ({"state_file": "d/" * 2000 + "s.json"}, 400),
        ({"budget": "0"}, 422),
        ({"budget": "lots"}, 422),
        ({"level": "huge"}, 400),
    ],
)
def test_bad_query_inputs_are_4xx_without_a_traceback(server, params, status):
    got = requests.get(f"{server}/api/handoff", params=params, timeout=10)
    assert got.status_code == status
    assert "Traceback" not in got.text and got.json()


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "text",
        {"state": [1]},
        {"state": {"tasks": 5}},
        {"state_file": 7},
        {"state": {"tasks": {}}, "budget": -1},
        {"state": {"tasks": {}}, "state_file": "x.json"},
    ],
)
def test_bad_bodies_are_4xx(server, body):
    got = requests.post(f"{server}/api/handoff", json=body, timeout=10)
    assert 400 <= got.status_code < 500, got.text
    assert "Traceback" not in got.text


def test_a_slow_handoff_is_answered_503_in_time(root):
    from context_handoff.web import create_app

    for url in serve_app(create_app(root, request_seconds=0.05, max_concurrent=1)):
        start = time.monotonic()
        late = requests.get(f"{url}/api/handoff", params={"state_file": "big.json"}, timeout=10)
        assert late.status_code == 503 and "longer than 0.05 s" in late.json()["error"]
        assert time.monotonic() - start < 5
        busy = requests.get(f"{url}/api/handoff", params={"state_file": "big.json"}, timeout=10)
        assert busy.status_code in (503,)  # the late one still holds the only slot, or is late


def test_flask_blueprint_reads_budget_and_refuses_bad_bodies(root):
    from flask import Flask

    from context_handoff.web import create_blueprint

    app = Flask(__name__)
    app.register_blueprint(create_blueprint(root, max_body_bytes=100_000))
    client = app.test_client()
    fitted = client.post(
        "/api/handoff",
        json={"state_file": ".orchestrator_state.json", "level": "minimal", "budget": 300},
    )
    assert fitted.status_code == 200 and fitted.get_json()["context"]["meta"]["budget"] == 300
    assert fitted.get_json()["tokens"] <= 300
    assert (
        client.get("/api/handoff", query_string={"budget": "300", "level": "minimal"}).get_json()[
            "context"
        ]["meta"]["budget"]
        == 300
    )
    assert client.post("/api/handoff", json=[1, 2]).status_code == 400
    assert (
        client.post("/api/handoff", json={"state": {"tasks": {}}, "budget": "x"}).status_code == 400
    )
    assert client.get("/api/handoff", query_string={"state_file": "a\0b"}).status_code == 400
    big = client.post(
        "/api/handoff", data=b"{" + b" " * 200_000 + b"}", content_type="application/json"
    )
    assert big.status_code == 413


def test_a_late_handoff_never_holds_up_the_exit(tmp_path):
    """The limiter's threads are daemons: an interpreter whose handoff is still running
    exits as soon as its main thread is done."""
    script = (
        "import time\n"
        "from context_handoff.web import Limiter, ApiError\n"
        "limiter = Limiter(seconds=0.1)\n"
        "try:\n"
        "    limiter.run(lambda: time.sleep(600))\n"
        "except ApiError as exc:\n"
        "    print(exc.status)\n"
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert proc.stdout.strip() == "503"
    assert time.monotonic() - start < 30


def test_serve_shuts_down_within_5_s_of_sigterm_with_handoffs_in_flight(tmp_path):
    folder = tmp_path / "states"
    folder.mkdir()
    state = json.dumps({"state": make_state(8000)}).encode()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "context_handoff",
            "serve",
            "--state-root",
            str(folder),
            "--port",
            str(port),
        ],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        answers: list[int] = []

        def post() -> None:
            try:
                answers.append(
                    requests.post(
                        f"{url}/api/handoff",
                        data=state,
                        timeout=60,
                        headers={"Content-Type": "application/json"},
                    ).status_code
                )
            except requests.RequestException:
                answers.append(0)

        posts = [threading.Thread(target=post) for _ in range(6)]
        for thread in posts:
            thread.start()
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        stopped = time.monotonic() - start
        for thread in posts:
            thread.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert stopped < 5 + 1.5, f"{stopped:.1f} s"
    assert len(answers) == 6
