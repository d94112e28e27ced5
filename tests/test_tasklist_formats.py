"""The task-list formats, each on a file written for these tests in the shape its own
documentation gives (tests/formats/<format>/), checked against what the format's own
rule says is active and next (expected.json states the rule it applies).

Also: detection by content, discovery, the verdict on a Markdown file that is no task
list, payloads within budget at every level, and ids that stay the same between runs.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from context_handoff import formats, pipeline
from context_handoff.cli import cli
from context_handoff.derive import derive_facts
from context_handoff.errors import InputError

from .conftest import ROOT

CASES = ROOT / "tests" / "formats"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.json").exists())
NOW = datetime(2025, 3, 6, 9, 0, tzinfo=timezone.utc)


def _case(name: str) -> tuple[Path, dict[str, Any]]:
    expected = json.loads((CASES / name / "expected.json").read_text(encoding="utf-8"))
    return CASES / name / expected["state"], expected


def test_every_built_in_task_list_format_has_a_case():
    assert set(NAMES) == set(formats.builtin_format_names()) - {
        "auto",
        "orchestrator",
        "taskmaster",
    }


@pytest.mark.parametrize("name", NAMES)
def test_active_and_next_are_the_formats_own(name):
    path, expected = _case(name)
    state = pipeline.read_state(path)
    assert state.format == expected["format"]
    assert len(state.tasks) == expected["count"]
    facts = derive_facts(state, NOW)
    assert list(facts.active) == expected["active"], expected["rule"]
    assert list(facts.ready) == expected["next"], expected["rule"]
    for tid, word in expected["words"].items():
        assert state.tasks[tid].source_status == word
    assert facts.counts.get("failed", 0) == 0 and not facts.recent_errors
    for tid, part in expected.get("details", {}).items():  # the file's notes on the task
        assert part in (state.tasks[tid].details or "")


@pytest.mark.parametrize("name", NAMES)
def test_the_format_is_detected_by_content(name, tmp_path):
    path, expected = _case(name)
    copy = tmp_path / "renamed"
    if path.is_dir():
        shutil.copytree(path, copy)
    else:  # a neutral name: only the suffix says how to parse it
        copy = tmp_path / f"state{path.suffix}"
        shutil.copy(path, copy)
    assert pipeline.read_state(copy).format == expected["format"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_payloads_keep_their_budget_and_name_the_next_task(name, level, tmp_path):
    path, expected = _case(name)
    generated = pipeline.generate(pipeline.GenerateOptions(state=path, level=level, now=NOW))
    payload = generated.payload
    assert payload.tokens <= payload.budget
    assert payload.data["meta"]["format"] == expected["format"]
    text = payload.text
    for tid in [*expected["active"][:1], *expected["next"][:1]]:
        assert json.dumps(tid) in text
    # no failed status in these formats: the failure parts stay empty
    parts = _failure_parts(payload.data)
    assert parts and not any(parts.values()), parts
    report = pipeline.write_outputs(generated, tmp_path / "p.json", tmp_path / "r.md")
    assert report is not None and expected["next"][0] in report.text.replace("\\", "")


def _failure_parts(data: Any) -> dict[str, Any]:
    """Every part of a payload that lists failures, by its key."""
    found: dict[str, Any] = {}
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("failed", "failed_tasks", "failures", "recent_errors"):
                    found[key] = value
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_ids_are_the_same_on_every_run(name):
    path, _ = _case(name)
    assert list(pipeline.read_state(path).tasks) == list(pipeline.read_state(path).tasks)


# The line of each Markdown case's next task, and the same line with its box ticked.
TICKS = {
    "speckit": ("- [ ] T005 [P]", "- [x] T005 [P]"),
    "kiro": ("  - [ ] 3.1 Create", "  - [x] 3.1 Create"),
    "conductor": ("    - [ ] Implement the phrase", "    - [x] Implement the phrase"),
}


@pytest.mark.parametrize("name", sorted(TICKS))
def test_since_follows_tasks_without_ids_when_a_box_is_ticked(name, tmp_path):
    expected = _case(name)[1]
    copy = tmp_path / "copy"
    shutil.copytree(CASES / name, copy)
    state = copy / expected["state"]
    snapshot = tmp_path / "snapshot.json"
    generated = pipeline.generate(pipeline.GenerateOptions(state=state, now=NOW))
    pipeline.write_outputs(generated, tmp_path / "p.json", None, snapshot_path=snapshot)
    unchanged = pipeline.generate(pipeline.GenerateOptions(state=state, now=NOW, since=snapshot))
    assert unchanged.facts.changes is not None
    assert not (unchanged.facts.changes.newly_done or unchanged.facts.changes.removed)
    plan = state / "tracks" / "search_20250301" / "plan.md" if state.is_dir() else state
    before, after = TICKS[name]
    text = plan.read_text(encoding="utf-8")
    assert text.count(before) == 1
    plan.write_text(text.replace(before, after), encoding="utf-8")
    ticked = pipeline.generate(pipeline.GenerateOptions(state=state, now=NOW, since=snapshot))
    changes = ticked.facts.changes
    assert changes is not None and changes.removed == ()
    assert changes.newly_done == (expected["next"][0],)


def test_a_markdown_file_that_is_no_task_list_gets_one_line(tmp_path):
    notes = tmp_path / "NOTES.md"
    notes.write_text(
        "# Notes\n\n- milk\n- [x] call Sam\n\n```\n- [ ] T001 not a task\n```\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        pipeline.read_state(notes)
    assert caught.value.lines() == [
        f"{notes}: this Markdown file is no task list: 1 checkbox item, none with a task id; "
        "looked for spec-kit tasks (`- [ ] T001 ...`), Kiro tasks (`- [ ] 1. ...`) and a "
        "Conductor plan (`- [ ] Task: ...`); Backlog.md is read from its backlog/ folder"
    ]
    assert caught.value.exit_code == 2


def test_a_folder_without_task_files_gets_one_line(tmp_path):
    (tmp_path / "readme.md").write_text("# Hello\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        pipeline.read_state(tmp_path)
    assert len(caught.value.lines()) == 1
    assert "this folder holds no task files" in caught.value.lines()[0]


def test_markdown_and_jsonl_limits_are_one_line_errors(tmp_path):
    deep = tmp_path / "deep.md"
    deep.write_text("".join("  " * i + f"- [ ] {i + 1}. x\n" for i in range(40)), encoding="utf-8")
    long_line = tmp_path / "long.md"
    long_line.write_text("- [ ] T001 " + "x" * 1_000_001 + "\n", encoding="utf-8")
    broken = tmp_path / "issues.jsonl"
    broken.write_text('{"id": "a-1", "status": "open"}\n{"id": \n', encoding="utf-8")
    for path, start in (
        (deep, f"{deep}:33: lists nested more than 32"),
        (long_line, f"{long_line}:1: a line of 1,000,012 characters"),
        (broken, f"{broken}:2:8: invalid JSON"),
    ):
        with pytest.raises(InputError) as caught:
            pipeline.read_state(path)
        assert len(caught.value.lines()) == 1 and caught.value.lines()[0].startswith(start)


def test_a_forced_format_on_another_formats_file_names_the_right_one(tmp_path):
    path, _ = _case("ralph")
    with pytest.raises(InputError) as caught:
        pipeline.read_state(path, format="bmad")
    assert "try --format ralph or auto" in caught.value.lines()[0]


def test_discovery_finds_each_known_place_and_refuses_to_guess(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("beads", "ralph"):
        shutil.copytree(CASES / name, tmp_path, dirs_exist_ok=True)
    (tmp_path / "expected.json").unlink()
    result = CliRunner().invoke(cli, ["generate", "--now", NOW.isoformat()], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: several task files here: .beads/issues.jsonl, prd.json; name one with --state"
    )
    (tmp_path / "prd.json").unlink()
    assert formats.discover_state() == Path(".beads/issues.jsonl")
    shutil.copytree(CASES / "conductor" / "conductor", tmp_path / "conductor")
    shutil.rmtree(tmp_path / ".beads")
    assert formats.discover_state() == Path("conductor")
    result = CliRunner().invoke(
        cli, ["generate", "--now", NOW.isoformat(), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(Path("context_payload.json").read_text(encoding="utf-8"))
    assert payload["meta"]["format"] == "conductor"


def test_format_choices_have_one_home():
    """The action's and the GitLab component's format inputs list the registry's names."""
    names = formats.builtin_format_names()
    action = (ROOT / "action.yml").read_text(encoding="utf-8")
    gitlab = (ROOT / "templates" / "context-handoff.yml").read_text(encoding="utf-8")
    listed = ", ".join(names[1:-1]) + " or " + names[-1]
    assert f"auto (by content), {listed}." in action
    assert f"options: [{', '.join(names)}]" in gitlab


def test_the_web_api_reads_task_master_ids_and_markdown_states(tmp_path):
    """``"id": 1.0`` on an in-progress parent once answered 500; a tasks.md is a state."""
    import requests

    from context_handoff.web import create_app

    from .conftest import serve_app

    root = tmp_path / "states"
    shutil.copytree(ROOT / "tests" / "taskmaster" / "float-ids", root / "tm")
    shutil.copy(CASES / "speckit" / "specs" / "002-photo-albums" / "tasks.md", root / "tasks.md")
    for url in serve_app(create_app(root)):
        got = requests.get(f"{url}/api/handoff", params={"state_file": "tm/tasks.json"}, timeout=30)
        assert got.status_code == 200, got.text
        assert got.json()["context"]["execution_state"]["next_eligible"][0] == "1.2"
        got = requests.get(f"{url}/api/handoff", params={"state_file": "tasks.md"}, timeout=30)
        assert got.status_code == 200, got.text
        assert got.json()["context"]["execution_state"]["next_eligible"][:2] == ["T005", "T006"]


def test_the_checkpointer_reads_a_folder_state(tmp_path):
    from context_handoff.checkpoint import HandoffCheckpointer

    shutil.copytree(CASES / "backlog" / "backlog", tmp_path / "backlog")
    checkpointer = HandoffCheckpointer(
        tmp_path / "backlog", tmp_path / "out", threshold=10, format="backlog"
    )
    assert checkpointer.track_tokens(8, 4)
    latest = json.loads((tmp_path / "out" / "latest.json").read_text(encoding="utf-8"))
    assert latest["meta"]["format"] == "backlog"
    assert latest["execution_state"]["next_eligible"][0] == "TASK-3"


def test_a_conductor_track_is_read_from_its_folder_or_its_plan_alone():
    track = CASES / "conductor" / "conductor" / "tracks" / "search_20250301"
    whole = pipeline.read_state(CASES / "conductor" / "conductor")
    for path, prefix in ((track, "search_20250301/"), (track / "plan.md", "")):
        state = pipeline.read_state(path)
        assert state.format == "conductor"
        # a plan read alone has no track id: its ids are the digests alone
        ids = {f"search_20250301/{tid.removeprefix(prefix)}" for tid in state.tasks}
        assert [f"search_20250301/{tid.removeprefix(prefix)}" for tid in state.next_order] == list(
            whole.next_order
        )
        assert ids < set(whole.tasks)


@pytest.mark.parametrize("name", ["kiro", "beads", "backlog"])
def test_the_notes_of_active_and_next_tasks_reach_the_payload(name):
    path, expected = _case(name)
    generated = pipeline.generate(pipeline.GenerateOptions(state=path, level="standard", now=NOW))
    details = generated.payload.data["execution_state"]["details"]
    for tid, part in expected["details"].items():
        assert part in details[tid]
