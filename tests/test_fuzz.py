"""Hostile states, generated: whatever a state holds, ``generate`` ends with exit 0, 1 or
2, in bounded time, never with a payload over its budget, and never prints a line that
a CI runner would read as a workflow command.

Each example mutates the example state (values replaced by hostile ones, keys deleted
or renamed, tasks added with odd ids and dependencies), writes it as JSON or YAML, and
runs the CLI at a level and a small budget. The explicit examples are the cases once
found broken. CONTEXT_HANDOFF_FUZZ_EXAMPLES sets how many examples (300 by default);
CONTEXT_HANDOFF_FUZZ_SEED makes a run repeatable.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, seed, settings
from hypothesis import strategies as st

from context_handoff.cli import cli
from context_handoff.tokens import build_counter

from .conftest import EXAMPLE

EXAMPLES = int(os.environ.get("CONTEXT_HANDOFF_FUZZ_EXAMPLES", "300"))
SEED = int(os.environ.get("CONTEXT_HANDOFF_FUZZ_SEED", "0")) or None
HANG_SECONDS = 60  # far beyond any real run; only a hang gets there
BASE: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
LEVELS = ("minimal", "standard", "full", "auto")
BUDGETS = (1, 60, 200, 300, 400, 500, 500, 700, 900, 1200, 1200, 1600, 2000, 2000)

HOSTILE_STRINGS = (
    "", " ", "\ud800", "a\udfffb", "\x00", "\x1b[31mred\x1b[0m", "\u202egnp.exe", "\u2066x\u2069",
    "\n::warning title=x::injected", "%0A::error::y", "1. Use Docker", "- [ ] task", "# heading",
    "{{ 7*7 }}", "{% for x in y %}", "<script>alert(1)</script>", "@everyone", "```", "|a|b|",
    "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "password: \"a b c\"",
    "postgres://u:p/w@h/db", "DB_PASSWORD", "x" * 5000, "word " * 2000, "é" * 3000,
    "s10_check_links", "pending", "running", "failed", "-1", "9" * 400,
    "2025-01-15T14:30:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "not a time",
)
HOSTILE_NUMBERS = (0, -1, 1, 2**63, 2**64, 10**400, -(10**400), 0.5, 1e308, -1e308)
KEYS = st.sampled_from(["", "status", "tasks", "name", "password", "a.b", "$", "[0]", "\ud800",
                        "\n::error::k", "x" * 300, "dependencies", "error"]) | st.text(max_size=8)

scalars = (st.none() | st.booleans() | st.sampled_from(HOSTILE_NUMBERS)
           | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
           | st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in the document."""
    slots: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, value in items:
            slots.append((node, key))
            stack.append(value)
    return slots


@st.composite
def mutated_states(draw: st.DrawFn) -> tuple[bytes, str]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 6))):
        slots = _slots(doc)
        if not slots:
            break
        parent, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["text", "text", "text", "number", "replace", "delete",
                                       "rename", "task", "task", "cycle"]))
        if action == "text" and isinstance(parent[key], str):  # the schema still holds
            hostile = draw(st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=40))
            parent[key] = draw(st.sampled_from([hostile, parent[key] + hostile]))
        elif action == "number" and type(parent[key]) in (int, float):
            parent[key] = draw(st.sampled_from(HOSTILE_NUMBERS) | st.integers(0, 2**80))
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(key)
        elif action in ("task", "cycle") and isinstance(doc.get("tasks"), dict):
            tasks = doc["tasks"]
            ids = list(tasks)
            new_id = draw(KEYS | st.sampled_from(HOSTILE_STRINGS))
            deps = draw(st.lists(st.sampled_from([*ids, new_id, "ghost"]), max_size=4))
            tasks[new_id] = {"status": draw(st.sampled_from(
                ["pending", "done", "failed", "running", "blocked", "queued"])),
                "dependencies": deps}
            if action == "cycle" and ids:
                first = tasks[ids[0]]
                if isinstance(first, dict):
                    first["dependencies"] = [new_id]
    if draw(st.booleans()):
        return json.dumps(doc, ensure_ascii=True).encode(), ".json"
    try:
        return yaml.safe_dump(doc, allow_unicode=False).encode(), ".yaml"
    except (yaml.YAMLError, UnicodeError):
        return json.dumps(doc, ensure_ascii=True).encode(), ".json"


class Hang(BaseException):
    """Not an Exception: nothing in the CLI may catch it."""


@contextmanager
def _no_hang(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_COUNTER = build_counter("o200k_base")
_LAUGHS = ("l0: &l0 [" + ",".join(['"lol"'] * 9) + "]\n"
           + "".join(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
           + "tasks: {}\n")


def _doc(**extra: Any) -> bytes:
    return json.dumps({**copy.deepcopy(BASE), **extra}, ensure_ascii=True).encode()


def _tasks(tasks: dict[str, Any]) -> bytes:
    return json.dumps({"tasks": tasks}).encode()


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@seed(SEED)
@given(state=mutated_states(), level=st.sampled_from(LEVELS), budget=st.sampled_from(BUDGETS),
       error_format=st.sampled_from(["text", "github"]))
# the cases once found broken, each at a small budget
@example(state=(_tasks({"x": {"status": "pending", "dependencies": ["b"]},
                        "a": {"status": "pending", "dependencies": ["b"]},
                        "b": {"status": "pending", "dependencies": ["a"]}}), ".json"),
         level="standard", budget=300, error_format="text")
@example(state=(_doc(filesystem_state={"disk_usage": {"total_bytes": 10**400,
                                                       "used_bytes": 10**400}}), ".json"),
         level="full", budget=700, error_format="text")
@example(state=(b"tasks:\n  a: {status: done, size: " + b"9" * 5000 + b"}\n", ".yaml"),
         level="minimal", budget=200, error_format="github")
@example(state=(b"tasks:\n  1: {status: done}\n  ~: {status: pending, dependencies: ['1']}\n",
                ".yaml"), level="minimal", budget=120, error_format="text")
@example(state=(b'{"tasks": {"a\\ud800": {"status": "done", "name": "\\udfff"}}}', ".json"),
         level="standard", budget=200, error_format="text")
@example(state=(b"tasks: &t {a: {status: done, x: *t}}\n", ".yaml"), level="full", budget=500,
         error_format="github")
@example(state=(_LAUGHS.encode(), ".yaml"), level="standard", budget=400, error_format="text")
@example(state=(_doc(context={"current_phase": "p" * 20000}), ".json"), level="minimal",
         budget=500, error_format="text")
@example(state=(_tasks({"a\n::warning::injected": {"status": "nope"}}), ".json"),
         level="minimal", budget=100, error_format="github")
@example(state=(_tasks({"deploy ghp_" + "A" * 36: {"status": "done"},
                        "deploy ghp_" + "B" * 36: {"status": "pending"}}), ".json"),
         level="full", budget=60, error_format="text")
def test_no_state_breaks_the_contract(state: tuple[bytes, str], level: str, budget: int,
                                      error_format: str) -> None:
    data, suffix = state
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"state{suffix}"
        path.write_bytes(data)
        out, report = Path(folder) / "p.json", Path(folder) / "r.md"
        args = ["--error-format", error_format, "generate", "--state", str(path),
                "--level", level, "--budget", str(budget), "--output", str(out),
                "--report", str(report), "--now", "2025-01-15T15:00:00Z"]
        with _no_hang(HANG_SECONDS):
            result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 1, 2), result.output
        event(f"exit {result.exit_code} ({suffix[1:]})")
        lines = (result.stdout + result.stderr).splitlines()
        assert not [line for line in lines if line.lstrip().startswith("::")
                    and not line.startswith("::error ")], lines
        if result.exit_code == 0:
            assert _COUNTER.count(out.read_text(encoding="utf-8")) <= budget
            assert report.read_text(encoding="utf-8")
        else:
            assert not out.exists() and not report.exists()
            assert result.stderr.startswith("error: ") and "Traceback" not in result.output
