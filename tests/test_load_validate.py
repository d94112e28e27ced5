"""Loading and validating: every bad input is one clear error with file and JSON path."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from context_handoff import changes, pipeline
from context_handoff.errors import InputError
from context_handoff.load import decode_text, load_document

from .conftest import EXAMPLE


def _error_for(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        pipeline.read_state(path)
    return caught.value


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n\t ", "the file is empty"),
        (
            b'{"tasks": {"a": {"status": "pending", "name": "\xff\xfe"}}}',
            "not valid UTF-8 (byte 47",
        ),
        (b'{"tasks": {"a": {"status": "pend', ":1:"),
        (b"[" * 100_000 + b"]" * 100_000, "::$: nested too deeply"),
        (b'{"tasks": {"a": {"status": "pending", "x": NaN}}}', "NaN is not a JSON value"),
    ],
    ids=["empty", "blank", "invalid-utf8", "truncated", "deep-nesting", "nan"],
)
def test_unparseable_files_are_one_line_errors(write_state, content, expected):
    path = write_state(content)
    error = _error_for(path)
    assert expected in error.lines()[0]
    assert error.lines()[0].startswith(str(path))
    assert error.exit_code == 2
    assert all("\n" not in line for line in error.lines())


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf{}",
        b"{}",
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
        b"\xef\xbb\xbf{\xff}",
        b"{\xff}",
        b"\xef\xbb",
    ],
)
def test_text_is_decoded_as_utf_8_sig_decodes_it(data):
    """A leading BOM dropped, and a bad byte's place counted after it, as "utf-8-sig"."""
    try:
        expected = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        with pytest.raises(InputError, match=rf"^f: not valid UTF-8 \(byte {exc.start}: "):
            decode_text(data, "f")
    else:
        assert decode_text(data, "f") == expected


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        ([1, 2], "$", "is not of type 'object'"),
        ({}, "$", "'tasks' is a required property"),
        (
            {"tasks": {"t1": {"status": "finished"}}},
            "$.tasks.t1.status",
            "'finished' is not one of",
        ),
        (
            {"tasks": {"t7": {"status": "done", "dependencies": 5}}},
            "$.tasks.t7.dependencies",
            "5 is not of type 'array', 'null'",
        ),
        (
            {"tasks": {"t1": {"status": "done"}}, "context": {"active_tasks": "t1"}},
            "$.context.active_tasks",
            "is not of type 'array', 'null'",
        ),
        (
            {"tasks": {}, "user_customizations": {"runtime_decisions": [{"prompt": 3}]}},
            "$.user_customizations.runtime_decisions[0].prompt",
            "3 is not of type",
        ),
    ],
    ids=["top-level-list", "no-tasks", "unknown-status", "bad-deps", "bad-context", "bad-prompt"],
)
def test_schema_problems_name_file_and_json_path(write_state, doc, path, message):
    state = write_state(doc)
    error = _error_for(state)
    assert any(
        line.startswith(f"{state}::{path}: ") and message in line for line in error.lines()
    ), error.lines()


def test_unknown_status_lists_the_accepted_ones(write_state):
    error = _error_for(write_state({"tasks": {"t1": {"status": "finished"}}}))
    for accepted in ("success", "in_progress", "queued", "cancelled"):
        assert accepted in error.lines()[0]


def test_all_problems_are_reported_at_once(write_state):
    doc = {
        "tasks": {
            "a": {"status": "nope"},
            "b": {"status": "done", "dependencies": {}},
            "c": {"name": "no status"},
        }
    }
    error = _error_for(write_state(doc))
    paths = [line.split("::")[1].split(": ")[0] for line in error.lines()]
    assert paths == ["$.tasks.a.status", "$.tasks.b.dependencies", "$.tasks.c"]


def _mutations(doc: Any, rng: random.Random, count: int) -> list[Any]:
    """``doc`` changed in one place each: a key dropped, a value of another type, an
    extra key, a list emptied: some stay valid, some do not."""
    replacements = [None, 1, -1, 1.5, True, "x", "", [], {}, [1], {"k": 1}]
    out = []
    for _ in range(count):
        copy = json.loads(json.dumps(doc))
        node: Any = copy
        while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = rng.choice(keys)
            if not isinstance(node[key], (dict, list)) or not node[key]:
                break
            node = node[key]
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            action = rng.randrange(3)
            if action == 0:
                del node[key]
            elif action == 1:
                node[key] = rng.choice(replacements)
            else:
                node[f"extra_{key}"] = rng.choice(replacements)
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = rng.choice(replacements)
        out.append(copy)
    return out


def _gate_and_jsonschema_agree(schema: str, doc: Any) -> None:
    """The compiled gate accepts exactly what jsonschema accepts, both ways, on ``doc``
    and 300 mutations of it: nothing the gate passes is invalid, and nothing it refuses
    is valid; both verdicts are seen."""
    from jsonschema import Draft202012Validator

    from context_handoff.validate import _fast_check, load_schema

    full = Draft202012Validator(load_schema(schema))
    verdicts = set()
    for variant in [doc, *_mutations(doc, random.Random(schema), 300)]:
        try:
            _fast_check(schema)(variant)
            fast = True
        except Exception:
            fast = False
        assert fast == full.is_valid(variant), variant
        verdicts.add(fast)
    assert verdicts == {True, False}


@pytest.mark.parametrize("schema", ["state", "minimal", "standard", "full"])
def test_fast_gate_and_jsonschema_agree(example_doc, schema):
    if schema == "state":
        doc: Any = example_doc
    else:
        doc = pipeline.generate(pipeline.GenerateOptions(state=EXAMPLE, level=schema)).payload.data
    _gate_and_jsonschema_agree(schema, doc)


_FORMAT_FILES = {
    "taskmaster": "taskmaster/flat-priorities/tasks.json",
    "beads": "formats/beads/.beads/issues.jsonl",
    "bmad": "formats/bmad/sprint-status.yaml",
    "ralph": "formats/ralph/prd.json",
}


@pytest.mark.parametrize("schema", [*_FORMAT_FILES, "snapshot"])
def test_every_compiled_gate_agrees_with_jsonschema(schema):
    """As above, for the other formats' schemas and the snapshot's: the compiled gates
    are rewritten after compiling (scripts/compile_schemas.py)."""
    if schema == "snapshot":
        generated = pipeline.generate(pipeline.GenerateOptions(state=EXAMPLE))
        assert generated.snapshot is not None
        doc: Any = json.loads(changes.snapshot_text(generated.snapshot))
    else:
        doc = load_document(Path(__file__).parent / _FORMAT_FILES[schema]).document
    _gate_and_jsonschema_agree(schema, doc)


def test_the_gate_reads_a_status_as_jsonschema_does():
    """Enums of strings are checked as one look-up in a set (scripts/compile_schemas.py):
    every value of the enum passes, anything else (another case, a blank, a number, a
    string subclass of a listed value) is judged as jsonschema judges it."""
    from jsonschema import Draft202012Validator

    from context_handoff.validate import _fast_check, load_schema

    class Named(str):
        pass

    full = Draft202012Validator(load_schema("state"))
    enum = load_schema("state")["$defs"]["task"]["properties"]["status"]["enum"]
    for status in [*enum, "Done", "done ", "", 1, None, True, Named("done")]:
        doc = {"tasks": {"a": {"status": status}}}
        try:
            _fast_check("state")(doc)
            fast = True
        except Exception:
            fast = False
        assert fast == full.is_valid(doc), status


def test_the_original_tools_quirks_are_accepted(write_state, example_doc):
    doc = example_doc
    doc["context"]["active_tasks"] = []
    task = doc["tasks"]["s16_switch_dns"]
    task["dependencies"] = None
    task["error"] = None
    del task["dependents"]
    doc["error_tracking"]["errors"].append({"task_id": "s10_check_links", "error_type": "Timeout"})
    doc["environment_config"]["dependencies"]["python_packages"].append({"name": "rich"})
    state = pipeline.read_state(write_state(doc))
    assert state.tasks["s16_switch_dns"].dependencies == ()
    assert state.decisions[2].decided_at is None and state.decisions[2].pending


def test_status_synonyms_are_normalised(write_state):
    statuses = {
        "success": "done",
        "completed": "done",
        "done": "done",
        "failed": "failed",
        "error": "failed",
        "running": "running",
        "in_progress": "running",
        "active": "running",
        "pending": "pending",
        "todo": "pending",
        "queued": "pending",
        "skipped": "skipped",
        "cancelled": "cancelled",
        "blocked": "blocked",
    }
    doc = {"tasks": {raw: {"status": raw} for raw in statuses}}
    state = pipeline.read_state(write_state(doc))
    assert {tid: t.status for tid, t in state.tasks.items()} == statuses


def test_yaml_states_keep_times_as_strings(write_state):
    text = b"metadata:\n  last_updated: 2025-01-15T14:30:00Z\ntasks:\n  a: {status: done}\n"
    state = pipeline.read_state(write_state(text, "state.yaml"))
    assert state.last_updated is not None and state.last_updated.hour == 14


def test_yaml_errors_have_line_and_column(write_state):
    path = write_state(b"tasks:\n  a: {status: done\n", "state.yml")
    assert _error_for(path).lines()[0].startswith(f"{path}:3:")


def test_missing_file_is_also_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_document(tmp_path / "nope.json")


def test_unreadable_times_become_warnings(write_state):
    doc = {"metadata": {"last_updated": "yesterday"}, "tasks": {"a": {"status": "done"}}}
    state = pipeline.read_state(write_state(doc))
    assert state.last_updated is None
    assert any("metadata.last_updated" in w for w in state.warnings)


def test_digest_is_the_files_sha256_prefix(write_state, example_doc):
    import hashlib

    path = write_state(example_doc)
    assert load_document(path).source.digest == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert json.loads(path.read_text())  # unchanged on disk


def test_precompiled_validators_match_the_schemas():
    import subprocess
    import sys

    from .conftest import ROOT

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_schemas.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_payload_schemas_match_their_source():
    import subprocess
    import sys

    from .conftest import ROOT

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "payload_schemas.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tasks: &t {a: {status: done, x: *t}}\n",
            "a YAML alias refers to a node that contains it",
        ),
        (
            'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            + "".join(
                f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)
            ),
            "aliases expand to more than 1,000,000 nodes",
        ),
        ("tasks:\n  a: {status: done, size: " + "9" * 5000 + "}\n", "more than 4,300 digits"),
        (
            "tasks: {}\ncontext: {elapsed_hours: .inf}\n",
            "::$.context.elapsed_hours: inf is not a JSON value",
        ),
    ],
    ids=["recursive-alias", "billion-laughs", "huge-integer", "infinity"],
)
def test_hostile_yaml_is_refused_quickly(write_state, text, expected):
    error = _error_for(write_state(text.encode(), "state.yaml"))
    assert expected in error.lines()[0]
    assert error.exit_code == 2


def test_yaml_keys_that_are_not_strings_become_json_keys(write_state):
    path = write_state(
        b"tasks:\n  1: {status: done}\n  ~: {status: pending, dependencies: ['1']}\n", "state.yml"
    )
    state = pipeline.read_state(path)
    assert list(state.tasks) == ["1", "null"]
    assert state.tasks["null"].dependencies == ("1",)


def test_shared_yaml_anchors_still_load(write_state):
    path = write_state(b"defaults: &d {status: done}\ntasks:\n  a: *d\n  b: *d\n", "state.yml")
    assert [t.status for t in pipeline.read_state(path).tasks.values()] == ["done", "done"]


def test_lone_surrogates_become_replacement_characters(write_state):
    path = write_state(
        b'{"tasks": {"a\\ud800": {"status": "done", "name": "x\\uDFFFy\\ud83d\\ude00"}}}'
    )
    state = pipeline.read_state(path)
    assert state.tasks["a\ufffd"].name == "x\ufffdy\U0001f600"


def test_json_integers_too_long_to_read_are_input_errors(write_state):
    error = _error_for(write_state(b'{"tasks": {}, "x": ' + b"9" * 5000 + b"}"))
    assert "more than 4,300 digits" in error.lines()[0]
