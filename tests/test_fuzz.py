"""Hostile states, generated: whatever a state holds, ``generate`` ends with exit 0, 1 or
2, in bounded time, never with a payload over its budget, and never prints a line that
a CI runner would read as a workflow command.

Each example mutates the example state (values replaced by hostile ones, keys deleted
or renamed, tasks added with odd ids and dependencies), writes it as JSON or YAML, and
runs the CLI at a level and a small budget. The explicit examples are the cases once
found broken.

Three more classes, a third as many examples each: what ``--since`` reads (snapshots,
hostile and random, and earlier states) with credentials planted in it, which must
reach no output; times anywhere in the calendar with any offset, in the state and as
``--now``; and report templates built from fragments that fail at run time. None may
end with exit 3, hang, or print a line a runner would read as a command.

CONTEXT_HANDOFF_FUZZ_EXAMPLES sets how many examples (300 by default);
CONTEXT_HANDOFF_FUZZ_SEED makes a run repeatable.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
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
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\u202egnp.exe",
    "\u2066x\u2069",
    "\n::warning title=x::injected",
    "%0A::error::y",
    "1. Use Docker",
    "- [ ] task",
    "# heading",
    "{{ 7*7 }}",
    "{% for x in y %}",
    "<script>alert(1)</script>",
    "@everyone",
    "```",
    "|a|b|",
    "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    'password: "a b c"',
    "postgres://u:p/w@h/db",
    "DB_PASSWORD",
    "x" * 5000,
    "word " * 2000,
    "é" * 3000,
    "s10_check_links",
    "pending",
    "running",
    "failed",
    "-1",
    "9" * 400,
    "2025-01-15T14:30:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "not a time",
)
HOSTILE_NUMBERS = (0, -1, 1, 2**63, 2**64, 10**400, -(10**400), 0.5, 1e308, -1e308)
KEYS = st.sampled_from(
    [
        "",
        "status",
        "tasks",
        "name",
        "password",
        "a.b",
        "$",
        "[0]",
        "\ud800",
        "\n::error::k",
        "x" * 300,
        "dependencies",
        "error",
    ]
) | st.text(max_size=8)

scalars = (
    st.none()
    | st.booleans()
    | st.sampled_from(HOSTILE_NUMBERS)
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(HOSTILE_STRINGS)
    | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in the document."""
    slots: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
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
        action = draw(
            st.sampled_from(
                [
                    "text",
                    "text",
                    "text",
                    "number",
                    "replace",
                    "delete",
                    "rename",
                    "task",
                    "task",
                    "cycle",
                ]
            )
        )
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
            tasks[new_id] = {
                "status": draw(
                    st.sampled_from(["pending", "done", "failed", "running", "blocked", "queued"])
                ),
                "dependencies": deps,
            }
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
_LAUGHS = (
    "l0: &l0 ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    + "tasks: {}\n"
)


def _doc(**extra: Any) -> bytes:
    return json.dumps({**copy.deepcopy(BASE), **extra}, ensure_ascii=True).encode()


def _tasks(tasks: dict[str, Any]) -> bytes:
    return json.dumps({"tasks": tasks}).encode()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(SEED)
@given(
    state=mutated_states(),
    level=st.sampled_from(LEVELS),
    budget=st.sampled_from(BUDGETS),
    error_format=st.sampled_from(["text", "github"]),
)
# the cases once found broken, each at a small budget
@example(
    state=(
        _tasks(
            {
                "x": {"status": "pending", "dependencies": ["b"]},
                "a": {"status": "pending", "dependencies": ["b"]},
                "b": {"status": "pending", "dependencies": ["a"]},
            }
        ),
        ".json",
    ),
    level="standard",
    budget=300,
    error_format="text",
)
@example(
    state=(
        _doc(filesystem_state={"disk_usage": {"total_bytes": 10**400, "used_bytes": 10**400}}),
        ".json",
    ),
    level="full",
    budget=700,
    error_format="text",
)
@example(
    state=(b"tasks:\n  a: {status: done, size: " + b"9" * 5000 + b"}\n", ".yaml"),
    level="minimal",
    budget=200,
    error_format="github",
)
@example(
    state=(b"tasks:\n  1: {status: done}\n  ~: {status: pending, dependencies: ['1']}\n", ".yaml"),
    level="minimal",
    budget=120,
    error_format="text",
)
@example(
    state=(b'{"tasks": {"a\\ud800": {"status": "done", "name": "\\udfff"}}}', ".json"),
    level="standard",
    budget=200,
    error_format="text",
)
@example(
    state=(b"tasks: &t {a: {status: done, x: *t}}\n", ".yaml"),
    level="full",
    budget=500,
    error_format="github",
)
@example(state=(_LAUGHS.encode(), ".yaml"), level="standard", budget=400, error_format="text")
@example(
    state=(_doc(context={"current_phase": "p" * 20000}), ".json"),
    level="minimal",
    budget=500,
    error_format="text",
)
@example(
    state=(_tasks({"a\n::warning::injected": {"status": "nope"}}), ".json"),
    level="minimal",
    budget=100,
    error_format="github",
)
@example(
    state=(
        _tasks(
            {
                "deploy ghp_" + "A" * 36: {"status": "done"},
                "deploy ghp_" + "B" * 36: {"status": "pending"},
            }
        ),
        ".json",
    ),
    level="full",
    budget=60,
    error_format="text",
)
def test_no_state_breaks_the_contract(
    state: tuple[bytes, str], level: str, budget: int, error_format: str
) -> None:
    data, suffix = state
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"state{suffix}"
        path.write_bytes(data)
        out, report = Path(folder) / "p.json", Path(folder) / "r.md"
        args = [
            "--error-format",
            error_format,
            "generate",
            "--state",
            str(path),
            "--level",
            level,
            "--budget",
            str(budget),
            "--output",
            str(out),
            "--report",
            str(report),
            "--now",
            "2025-01-15T15:00:00Z",
        ]
        with _no_hang(HANG_SECONDS):
            result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 1, 2), result.output
        event(f"exit {result.exit_code} ({suffix[1:]})")
        lines = (result.stdout + result.stderr).splitlines()
        assert not [
            line
            for line in lines
            if line.lstrip().startswith("::") and not line.startswith("::error ")
        ], lines
        if result.exit_code == 0:
            assert _COUNTER.count(out.read_text(encoding="utf-8")) <= budget
            assert report.read_text(encoding="utf-8")
        else:
            assert not out.exists() and not report.exists()
            assert result.stderr.startswith("error: ") and "Traceback" not in result.output


# --- what --since reads -------------------------------------------------------------

# credentials planted in a snapshot or an earlier state, each spaced from its
# neighbours as it would be in text; the value is what must never be seen
PLANTED = {
    "ghp_" + "Fz9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf9Ed8": "Fz9Yx8Wv7Ut6Sr5Qp4On3",
    "postgres://app:" + "Zr8@Qm4x@db:5432/app": "Qm4x",
    "DB_PASS=" + "Kp3-Vx9-Lm2w": "Kp3-Vx9",
    "AKIA" + "Q2W3E4R5T6Y7U8I9": "Q2W3E4R5T6Y7U8I9",
    "sk-ant-oat01-" + "Hn5Bg4Vf3Cd2Xs1Za0" * 2: "Hn5Bg4Vf3Cd2Xs1Za0",
    "xoxb-" + "112233445566-Yt7Rd5Ew3Qa1Zx9": "Yt7Rd5Ew3Qa1Zx9",
}
SNAPSHOT_STRINGS = (
    *HOSTILE_STRINGS,
    *PLANTED,
    "ready",
    "active",
    "failed",
    "done",
    "2025-01-15T11:00:00Z",
    "0001-01-01T00:00:00Z",
    "0123456789ab",
    "0123abcd",
)
texts = (
    st.sampled_from(SNAPSHOT_STRINGS)
    | st.text(max_size=20)
    | st.lists(st.sampled_from(SNAPSHOT_STRINGS), min_size=1, max_size=3).map(" ".join)
)
TASK_IDS = [*BASE["tasks"]]


@st.composite
def since_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A snapshot (well formed with hostile strings, or mutated, or random JSON), or an
    earlier state holding planted credentials."""
    kind = draw(st.sampled_from(["snapshot", "snapshot", "mutated", "random", "state"]))
    if kind == "state":
        doc = copy.deepcopy(BASE)
        for _ in range(draw(st.integers(1, 4))):
            task = doc["tasks"][draw(st.sampled_from(TASK_IDS))]
            task["name"] = draw(texts)
            task["status"] = draw(st.sampled_from(["pending", "done", "failed", "running"]))
        doc["tasks"][draw(texts)] = {"status": "done", "dependencies": []}
        doc["context"]["current_phase"] = draw(texts)
        return json.dumps(doc).encode(), ".json"
    words = st.sampled_from(["ready", "active", "failed", "done", "pending", "running"])
    tasks = draw(
        st.dictionaries(
            st.sampled_from(TASK_IDS) | texts,
            words
            | st.tuples(st.just("failed"), st.sampled_from(["0123abcd", "ffffffff"])).map(list),
            max_size=6,
        )
    )
    snapshot: dict[str, Any] = {
        "format": "context-handoff snapshot",
        "version": 1,
        "state_digest": draw(st.sampled_from(["0123456789ab", "x" * 12]) | texts),
        "taken_at": draw(st.sampled_from(["2025-01-15T11:00:00Z", "x" * 40_000]) | texts),
        "current_phase": draw(st.none() | texts),
        "tasks": tasks,
        "decisions": draw(
            st.dictionaries(st.sampled_from(["0123abcd", "00000000"]), texts, max_size=2)
        ),
        "scope": draw(st.sampled_from(["orchestrator||Docs Portal Migration", ""]) | texts),
    }
    if kind == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            parent, key = draw(st.sampled_from(_slots(snapshot)))
            parent[key] = draw(values | texts)
    elif kind == "random":
        snapshot = draw(st.dictionaries(KEYS | st.sampled_from(list(snapshot)), values, max_size=6))
        snapshot["format"] = "context-handoff snapshot"
    return json.dumps(snapshot).encode(), draw(st.sampled_from([".json", ".yaml"]))


def _run_checked(args: list[str], folder: Path) -> Any:
    """Run the CLI: exit 0, 1 or 2 in bounded time, no command line it did not build,
    and no planted credential in what it printed or wrote."""
    with _no_hang(HANG_SECONDS):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1, 2), result.output
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "unexpected error" not in out, out
    assert not [
        line
        for line in out.split("\n")
        if line.lstrip().startswith(("::", "##[")) and not line.startswith("::error ")
    ], out
    assert "\r" not in out
    written = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in folder.iterdir()
        if p.name.startswith("out.")
    )
    for leak in PLANTED.values():
        assert leak not in out and leak not in written, leak
    return result


@settings(
    max_examples=max(EXAMPLES // 3, 1),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(SEED)
@given(
    since=since_files(),
    level=st.sampled_from(LEVELS),
    as_json=st.booleans(),
    error_format=st.sampled_from(["text", "github"]),
)
def test_no_since_file_breaks_the_contract(
    since: tuple[bytes, str], level: str, as_json: bool, error_format: str
) -> None:
    data, suffix = since
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / f"since{suffix}").write_bytes(data)
        args = [
            "--error-format",
            error_format,
            "generate",
            "--state",
            str(EXAMPLE),
            "--level",
            level,
            "--budget",
            "2000",
            "--since",
            str(folder / f"since{suffix}"),
            "--output",
            str(folder / "out.payload.json"),
            "--report",
            str(folder / "out.report.md"),
            "--snapshot",
            str(folder / "out.snapshot.json"),
            "--now",
            "2025-01-15T15:00:00Z",
            *(["--json"] if as_json else []),
        ]
        result = _run_checked(args, folder)
        event(f"exit {result.exit_code} (since {suffix[1:]})")


# --- times -------------------------------------------------------------------------

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
EDGE_TIMES = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T13:59:59+14:00",
    "9999-12-31T10:00:00-13:59",
    "2025-01-15T14:30:00",
    "2025-02-30T00:00:00Z",
    "not a time",
    "",
)
times = st.sampled_from(EDGE_TIMES) | st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=OFFSETS
).map(datetime.isoformat)


@settings(
    max_examples=max(EXAMPLES // 3, 1),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(SEED)
@given(
    updated=times,
    started=times,
    now=times,
    max_age=st.sampled_from([None, "1h", "100000d"]),
    snapshot=st.booleans(),
)
@example(
    updated="0001-01-01T00:00:00+14:00",
    started="",
    now="2025-01-15T15:00:00Z",
    max_age=None,
    snapshot=True,
)
@example(
    updated="2025-01-15T14:30:00Z",
    started="",
    now="9999-12-31T23:59:59-14:00",
    max_age="1h",
    snapshot=False,
)
@example(
    updated="0001-01-01T00:00:00Z",
    started="",
    now="0001-01-01T00:00:00Z",
    max_age=None,
    snapshot=True,
)
def test_no_time_breaks_the_contract(
    updated: str, started: str, now: str, max_age: str | None, snapshot: bool
) -> None:
    doc = copy.deepcopy(BASE)
    doc["metadata"]["last_updated"] = updated
    doc["tasks"][TASK_IDS[0]]["started_at"] = started
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "state.json").write_text(json.dumps(doc), encoding="utf-8")
        args = [
            "generate",
            "--state",
            str(folder / "state.json"),
            "--budget",
            "2000",
            "--output",
            str(folder / "out.payload.json"),
            "--report",
            str(folder / "out.report.md"),
            *(["--now", now] if now else []),
            *(["--max-age", max_age] if max_age else []),
        ]
        if snapshot:  # the state's own snapshot, read back: its time goes through too
            args += ["--snapshot", str(folder / "snap.json"), "--since", str(folder / "snap.json")]
        result = _run_checked(args, folder)
        if snapshot and result.exit_code == 0:
            again = _run_checked(args, folder)
            assert again.exit_code == 0 and "no change" in again.stdout, again.output
        event(f"exit {result.exit_code} (times)")


# --- templates ---------------------------------------------------------------------

FRAGMENTS = (
    "# {{ meta.level }}\n",
    "{{ 1 / 0 }}",
    "{{ meta.level | join(',') }}",
    "{{ 'a' + 1 }}",
    "{% for t in [1, 2] %}{{ t }}{% endfor %}",
    "{{ nothing.attr.deeper }}",
    "{% if %}",
    "{{ meta.level | upper }}",
    "{{ '%d' % 'x' }}",
    "{{ range(10**9) | list }}",
    "{{ [][3] }}",
    "{{ ''.join }}",
    "{{ {}['k'] }}",
    "{{ x.__class__ }}",
    "{{ ().__class__.__base__ }}",
    "{{ '{:q}'.format(1) }}",
    "{{ 7 // 0 }}",
    "{{ 1.5 | round(precision='x') }}",
    "{% set n = namespace(a=1) %}{{ n.a / 0 }}",
    "{{ 2 ** 64 }}",
    "{% raw %}{{{% endraw %}",
    "{# open comment",
    "text\n",
    "\n",
    "::warning::from a template\n",
    "{{ summary }}",
    "{{ (tokens or 0) + 1 }}",
    "{% macro m() %}{{ 1/0 }}{% endmacro %}{{ m() }}",
    "{{ recursion }}",
    "{%- endfor %}",
)


@settings(
    max_examples=max(EXAMPLES // 3, 1),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(SEED)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), min_size=1, max_size=8),
    plain=st.booleans(),
)
def test_no_template_breaks_the_contract(parts: list[str], plain: bool) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        template = folder / ("t.md" if plain else "t.md.j2")
        template.write_text("".join(parts), encoding="utf-8")
        args = [
            "generate",
            "--state",
            str(EXAMPLE),
            "--now",
            "2025-01-15T15:00:00Z",
            "--output",
            str(folder / "out.payload.json"),
            "--report",
            str(folder / "out.report.md"),
            "--template",
            str(template),
        ]
        result = _run_checked(args, folder)
        assert result.exit_code in (0, 2)
        if result.exit_code == 2:  # the template's file and line
            assert re.match(rf"error: {re.escape(str(template))}:\d+: ", result.stderr), (
                result.stderr
            )
            assert not (folder / "out.payload.json").exists()
        event(f"exit {result.exit_code} ({'plain' if plain else 'jinja'} template)")
