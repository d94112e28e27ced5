from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "orchestrator_state.example.json"
# The original tool's own example state, kept beside the repository (not in it): a real
# input that must work unchanged.
ORIGINAL_EXAMPLE = Path(
    os.environ.get(
        "CONTEXT_HANDOFF_ORIGINAL_EXAMPLE",
        ROOT.parent / "shared" / "compat" / "orchestrator_state.example.json",
    )
)


def beside(path: Path, what: str) -> Path:
    """A file kept beside the repository, not in it: skip without it, fail in CI.

    A CI whose checkout cannot have these files (the repository's own GitHub workflow)
    says so with CONTEXT_HANDOFF_BESIDE=optional.
    """
    if not path.exists():
        if os.environ.get("CI") and os.environ.get("CONTEXT_HANDOFF_BESIDE") != "optional":
            pytest.fail(f"{path}: {what} is missing (CI needs it beside the repository)")
        pytest.skip(f"{path}: {what} is not beside this clone")
    return path


# The real encodings, provided offline by `make encodings` (scripts/fetch_encodings.py).
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT / ".cache" / "tiktoken"))


def pytest_configure(config: pytest.Config) -> None:
    import tiktoken

    try:
        tiktoken.get_encoding("o200k_base")
        tiktoken.get_encoding("cl100k_base")
    except Exception as exc:
        raise pytest.UsageError(
            f"tokenizer encodings are not available offline ({exc}); run `make encodings`"
        ) from None


@pytest.fixture(autouse=True)
def _offline_and_homeless(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never reach the network beyond loopback, nor the real home directory."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("::1", "localhost") or host.startswith("/")
        ):
            raise OSError(f"test tried to reach {host}: tests are offline")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def example_doc() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def write_state(tmp_path: Path) -> Callable[..., Path]:
    """Write a state document (dict, or raw bytes) and return its path."""

    def write(doc: Any, name: str = "state.json") -> Path:
        path = tmp_path / name
        if isinstance(doc, bytes):
            path.write_bytes(doc)
        else:
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def code_blocks(text: str, lang: str) -> list[tuple[int, str]]:
    """The fenced code blocks of a Markdown text in ``lang``: (first line, code), as a
    CommonMark parser reads them."""
    from markdown_it import MarkdownIt

    return [
        (token.map[0] + 1 if token.map else 0, token.content)
        for token in MarkdownIt("commonmark").parse(text)
        if token.type == "fence" and token.info.strip() == lang
    ]
