"""Input formats: chosen by content, Task Master's tasks.json read as Task Master means
it, and a file no format reads answered with a verdict and a few short lines."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from context_handoff import ContextPayloadGenerator, formats, pipeline
from context_handoff.cli import cli
from context_handoff.derive import derive_facts
from context_handoff.errors import InputError

from .conftest import EXAMPLE, ROOT

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
CASES = ROOT / "tests" / "taskmaster"


def _task(
    tid: Any,
    status: str,
    priority: str = "medium",
    deps: tuple[Any, ...] = (),
    subtasks: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    return {
        "id": tid,
        "title": f"Task {tid}",
        "description": "d",
        "status": status,
        "priority": priority,
        "dependencies": list(deps),
        "subtasks": list(subtasks),
    }


def _sub(sid: Any, status: str | None, deps: tuple[Any, ...] = ()) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": sid, "title": f"Step {sid}", "dependencies": list(deps)}
    if status is not None:
        raw["status"] = status
    return raw


def _taskmaster_project(root: Path, doc: Any, current_tag: str | None = None) -> Path:
    path = root / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    if current_tag is not None:
        (root / ".taskmaster" / "state.json").write_text(
            json.dumps({"currentTag": current_tag}), encoding="utf-8"
        )
    return path


def _error(path: Path, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        pipeline.read_state(path, **kwargs)
    return caught.value


# --- choosing a format -------------------------------------------------------------


def test_the_format_is_chosen_by_content_not_by_name(tmp_path):
    tagged = CASES / "tagged-current-tag" / "tasks.json"
    disguised = tmp_path / ".orchestrator_state.json"
    disguised.write_bytes(tagged.read_bytes())
    assert pipeline.read_state(disguised).format == "taskmaster"
    named_like_task_master = tmp_path / "tasks.json"
    named_like_task_master.write_bytes(EXAMPLE.read_bytes())
    assert pipeline.read_state(named_like_task_master).format == "orchestrator"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"tasks": {"a": {"status": "done"}}}, "orchestrator"),
        ({"tasks": [_task(1, "pending")]}, "taskmaster"),
        ({"master": {"tasks": []}, "feature": {"tasks": [_task(1, "done")]}}, "taskmaster"),
        ({"context": {"current_phase": "x"}}, "orchestrator"),  # an orchestrator state gone wrong
        ({"items": [1]}, None),
        ([{"tasks": {}}], None),
    ],
)
def test_detection(doc, expected):
    found, _ = formats.detect_format(doc)
    assert (found.name if found is not None else None) == expected


def test_a_forced_format_that_does_not_fit_says_which_would(write_state):
    path = write_state({"tasks": [_task(1, "pending")]})
    error = _error(path, format="orchestrator")
    assert error.lines()[0] == (
        f"{path}: read as an orchestrator state (--format orchestrator), 1 problem stops it "
        "being read; it looks like a Task Master tasks.json: try --format taskmaster or auto"
    )
    assert error.lines()[1] == f"{path}::$.tasks: array of 1 item is not of type 'object'"


def test_a_forced_format_on_a_file_like_no_format(write_state):
    path = write_state({"items": []})
    assert _error(path, format="taskmaster").lines()[0] == (
        f"{path}: read as a Task Master tasks.json (--format taskmaster), 1 problem stops it "
        "being read; it looks like a JSON object with keys 'items' and no 'tasks'"
    )


def test_a_file_partly_like_a_format_says_so(write_state):
    path = write_state({"context": {"current_phase": "build"}})
    assert _error(path).lines() == [
        f"{path}: this looks partly like an orchestrator state, but 1 problem stops it being read",
        f"{path}::$: 'tasks' is a required property",
    ]


def test_an_unknown_format_name_lists_the_known_ones(write_state):
    error = _error(write_state({"tasks": {}}), format="jira")
    assert error.lines() == [
        "--format jira: unknown format; known: auto, orchestrator, "
        "taskmaster, speckit, kiro, beads, backlog, bmad, ralph, conductor"
    ]


# --- files no format reads ---------------------------------------------------------
# Home-grown formats of the kinds found in the wild, each written for these tests.


def _checklist() -> list[dict[str, Any]]:
    return [{"todo": f"write chapter {i}", "done": i < 3, "notes": "n" * 900} for i in range(40)]


def _notebook() -> dict[str, Any]:
    return {
        "project": {"name": "lab", "owner": "ops"},
        "items": [{"key": f"LAB-{i}", "state": "open"} for i in range(12)],
        "log": ["started"] * 5,
    }


def _lookalike(count: int) -> dict[str, Any]:
    """An orchestrator-shaped file whose tasks use other words: one problem per task."""
    return {
        "tasks": {f"step-{i}": {"state": "finished", "title": "t" * 2000} for i in range(count)}
    }


@pytest.mark.parametrize(
    ("doc", "verdict"),
    [
        (
            _checklist(),
            "this looks like a JSON array of 40 items (objects with keys 'todo', "
            "'done', 'notes'); expected a task file of a known format (orchestrator, "
            "taskmaster, speckit",
        ),
        (
            _notebook(),
            "this looks like a JSON object with keys 'project', 'items', 'log' and no "
            "'tasks'; expected a task file of a known format (orchestrator, ",
        ),
        (
            {"tasks": "see TODO.md"},
            "this looks like a JSON object whose 'tasks' is a string, 'see TODO.md'",
        ),
        ("just text", "this looks like a single JSON value, 'just text'"),
    ],
    ids=["checklist-array", "notebook-object", "tasks-string", "scalar"],
)
def test_an_unsupported_file_gets_a_verdict_first(write_state, doc, verdict):
    path = write_state(doc)
    lines = _error(path).lines()
    assert lines[0].startswith(f"{path}: {verdict}")
    assert 2 <= len(lines) <= 25
    assert all(line.startswith(f"{path}::$") for line in lines[1:])
    assert all(len(line) < len(str(path)) + 300 for line in lines)


def test_hundreds_of_problems_are_twenty_lines_and_a_count(write_state):
    path = write_state(_lookalike(773))
    lines = _error(path).lines()
    assert len(lines) == 21
    assert lines[-1] == "(+753 more)"
    assert lines[0] == f"{path}::$.tasks['step-0']: 'status' is a required property"


def test_a_long_value_never_hides_the_reason(write_state):
    path = write_state(
        {
            "tasks": {
                "t1": {"status": "done", "dependencies": {"x": "y" * 5000}},
                "t2": {"status": "z" * 5000},
            }
        }
    )
    lines = _error(path).lines()
    assert lines[0] == (
        f"{path}::$.tasks.t1.dependencies: object with keys 'x' is not of type 'array', 'null'"
    )
    assert lines[1].startswith(
        f"{path}::$.tasks.t2.status: 'zzzzzzzzzzzzzzzzzzzzzzzz'… "
        "(string, 5,000 chars) is not one of ['success'"
    )


def test_the_cli_prints_an_unsupported_file_in_few_lines(chdir_tmp):
    Path("state.json").write_text(json.dumps(_lookalike(500)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["generate", "--state", "state.json"], catch_exceptions=False)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 21 and lines[-1] == "error: (+480 more)"
    assert sum(len(line) for line in lines) < 2500
    assert not Path("context_payload.json").exists()


# --- Task Master: layouts, tags, ids, statuses --------------------------------------


def test_statuses_map_onto_ours_and_the_original_word_stays(write_state):
    words = [
        "pending",
        "in-progress",
        "review",
        "done",
        "completed",
        "deferred",
        "cancelled",
        "blocked",
    ]
    doc = {
        "tasks": [
            _task(i, word, "critical" if i == 1 else "low") for i, word in enumerate(words, 1)
        ]
    }
    state = pipeline.read_state(write_state(doc))
    assert [(t.status, t.source_status) for t in state.tasks.values()] == [
        ("pending", "pending"),
        ("running", "in-progress"),
        ("running", "review"),
        ("done", "done"),
        ("done", "completed"),
        ("skipped", "deferred"),
        ("cancelled", "cancelled"),
        ("blocked", "blocked"),
    ]
    assert state.tasks["1"].priority == "critical" and state.tasks["2"].priority == "low"
    assert not any(t.error_message for t in state.tasks.values())


def test_ids_subtasks_and_their_dependencies(write_state):
    doc = {
        "tasks": [
            _task(1, "done", subtasks=(_sub(1, "done"),)),
            _task(
                "2",
                "in-progress",
                "high",
                deps=("1",),
                subtasks=(
                    _sub(1, None),
                    _sub("2", "pending", (1,)),
                    _sub(3, "pending", ("2", "1.1")),
                ),
            ),
            _task(3, "pending", deps=(1, "2.3", 99)),
        ]
    }
    state = pipeline.read_state(write_state(doc))
    assert list(state.tasks) == ["1", "1.1", "2", "2.1", "2.2", "2.3", "3"]
    assert state.tasks["2.1"].source_status == "pending"  # no status: pending
    assert state.tasks["2.2"].dependencies == ("2.1",)  # a bare number: a sibling
    assert state.tasks["2.3"].dependencies == ("2.2", "1.1")  # a numeric string too; dotted: full
    assert state.tasks["2.3"].parent == "2" and state.tasks["2.3"].priority == "high"
    assert state.tasks["3"].dependencies == ("1", "2.3", "99")
    facts = derive_facts(state, NOW)
    assert "tasks.3: unknown or self dependency '99'" in facts.warnings  # dangling: a warning
    assert state.context_active == ("2",)


def test_a_repeated_id_is_a_warning_and_the_first_is_kept(write_state):
    doc = {"tasks": [_task(1, "pending"), {**_task(1, "done"), "title": "again"}]}
    state = pipeline.read_state(write_state(doc))
    assert state.tasks["1"].name == "Task 1"
    assert state.warnings == ("tasks[1]: id 1 again; the first one is kept",)


def test_the_tag_comes_from_the_option_then_state_json_then_master(tmp_path):
    doc = {
        "master": {"tasks": [_task(1, "pending")]},
        "feature-x": {"tasks": [_task(1, "done"), _task(2, "pending", deps=(1,))]},
        "spike": {"tasks": []},
    }
    path = _taskmaster_project(tmp_path, doc)
    assert pipeline.read_state(path).tag == "master"
    _taskmaster_project(tmp_path, doc, current_tag="feature-x")
    state = pipeline.read_state(path)
    assert (state.tag, state.tags, list(state.tasks)) == (
        "feature-x",
        ("master", "feature-x", "spike"),
        ["1", "2"],
    )
    assert pipeline.read_state(path, tag="spike").tasks == {}


def test_without_master_the_first_tag_is_read(tmp_path):
    path = _taskmaster_project(
        tmp_path, {"alpha": {"tasks": [_task(7, "pending")]}, "beta": {"tasks": []}}
    )
    assert pipeline.read_state(path).tag == "alpha"


def test_a_tag_that_is_not_there_is_named_with_those_that_are(tmp_path):
    path = _taskmaster_project(
        tmp_path, {"master": {"tasks": []}, "ui": {"tasks": []}}, current_tag="gone"
    )
    assert _error(path).lines() == [
        f"{path}: no tag 'gone' (currentTag in {tmp_path / '.taskmaster' / 'state.json'}); "
        "the tags in it: 'master', 'ui'"
    ]
    assert "no tag 'nope' (--tag)" in _error(path, tag="nope").lines()[0]


def test_a_tag_option_on_a_file_without_tags(write_state):
    path = write_state({"tasks": [_task(1, "pending")]})
    assert pipeline.read_state(path, tag="master").tag == "master"
    assert _error(path, tag="feature").lines() == [
        f"--tag feature: {path} has no tags (all its tasks are in 'master')"
    ]


def test_task_master_problems_name_the_tag_in_the_json_path(tmp_path):
    doc = {
        "master": {"tasks": []},
        "feature-x": {"tasks": [_task("1a", "finished"), _task(2, "done", deps=(2.5,))]},
    }
    path = _taskmaster_project(tmp_path, doc, current_tag="feature-x")
    assert _error(path).lines() == [
        f"{path}::$[\"feature-x\"].tasks[0].id: '1a' does not match '^[0-9]+$'",
        f"{path}::$[\"feature-x\"].tasks[0].status: 'finished' is not one of ['pending', "
        "'in-progress', 'done', 'review', 'deferred', 'cancelled', 'blocked', 'completed']",
        f"{path}::$[\"feature-x\"].tasks[1].dependencies[0]: 2.5 is not of type 'integer', "
        "'string'",
    ]


# --- payloads and reports, every level ---------------------------------------------


def _big_task_master(count: int) -> dict[str, Any]:
    statuses = ["done", "done", "pending", "in-progress", "review", "deferred", "blocked"]
    priorities = ["low", "medium", "high", "critical"]
    tasks = []
    for i in range(1, count + 1):
        subs = tuple(
            _sub(j, statuses[(i + j) % len(statuses)], (j - 1,) if j > 1 else ())
            for j in range(1, 4)
        )
        deps = tuple(d for d in (i - 1, i - 7) if d > 0)
        tasks.append(
            {
                **_task(i, statuses[i % len(statuses)], priorities[i % 4], deps, subs),
                "title": f"Implement part {i} of the billing service " + "x" * (i % 50),
                "details": "Longer notes " * 20,
            }
        )
    return {
        "master": {"tasks": tasks, "metadata": {"updated": "2025-03-02T16:30:00Z"}},
        "release-2": {"tasks": [_task(1, "pending")]},
    }


def _flat(tagged: dict[str, Any]) -> dict[str, Any]:
    return dict(tagged["master"])


def _first_of(section: dict[str, Any], *keys: str) -> Any:
    return next(section[key] for key in keys if key in section)


def _ids(items: list[Any]) -> list[str]:
    return [item if isinstance(item, str) else item["id"] for item in items]


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
@pytest.mark.parametrize("size", [3, 300])
@pytest.mark.parametrize("layout", ["tagged", "flat"])
def test_task_master_payloads_keep_their_budget_at_every_level(tmp_path, level, size, layout):
    doc = _big_task_master(size)
    path = _taskmaster_project(tmp_path, doc if layout == "tagged" else _flat(doc))
    options = pipeline.GenerateOptions(state=path, level=level, now=NOW)
    generated = pipeline.generate(options)
    payload = generated.payload
    assert payload.tokens <= payload.budget
    data = payload.data
    assert data["meta"]["format"] == "taskmaster"
    assert (data["meta"]["tag"], data["meta"]["other_tags"]) == (
        "master",
        ["release-2"] if layout == "tagged" else [],
    )
    state = generated.facts.state
    in_progress = [t.id for t in state.tasks.values() if t.source_status == "in-progress"]
    listed_next = _ids(
        data["next"]
        if level == "minimal"
        else _first_of(data["execution_state"], "next_eligible", "next_tasks")
    )
    listed_active = _ids(
        data["active"] if level == "minimal" else data["execution_state"]["active_tasks"]
    )
    assert listed_next[0] == state.next_order[0]  # type: ignore[index]
    assert set(in_progress[:3]) <= set(listed_active)
    assert any("." in tid for tid in listed_active)  # subtasks are active work too
    if size == 300:
        assert payload.omitted, "a 1,200-task file cannot fit whole"
    else:
        assert set(in_progress) <= set(listed_active)
    report = pipeline.write_outputs(generated, tmp_path / "p.json", tmp_path / "r.md")
    assert report is not None and listed_next[0] in report.text


def test_task_master_payload_at_tiny_budget_counts_what_it_left_out(tmp_path):
    path = _taskmaster_project(tmp_path, _big_task_master(300))
    generated = pipeline.generate(
        pipeline.GenerateOptions(state=path, level="minimal", budget=260, now=NOW)
    )
    assert generated.payload.tokens <= 260
    assert sum(generated.payload.omitted.values()) > 100


# --- where the state is found, and the CLI and API options ---------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_without_a_state_task_masters_file_is_found(chdir_tmp):
    _taskmaster_project(chdir_tmp, _big_task_master(3), current_tag=None)
    result = run("generate", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(Path("context_payload.json").read_text(encoding="utf-8"))
    assert payload["meta"]["format"] == "taskmaster"
    assert ContextPayloadGenerator().generate_context("minimal")["meta"]["format"] == "taskmaster"
    Path(".orchestrator_state.json").write_bytes(EXAMPLE.read_bytes())  # now two
    result = run("generate")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: several task files here: .orchestrator_state.json, "
        ".taskmaster/tasks/tasks.json; name one with --state (and its reader with "
        "--format, if auto does not know it)\n"
    )


def test_without_any_state_the_message_names_every_place(chdir_tmp):
    result = run("generate")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: no state file here: none of {', '.join(map(str, formats.DISCOVERED_PATHS))}"
        " exists; name one with --state\n"
    )
    assert ".beads/issues.jsonl" in result.stderr and "conductor/tracks.md" in result.stderr
    with pytest.raises(FileNotFoundError):
        ContextPayloadGenerator().generate_context()


def test_format_and_tag_options(chdir_tmp):
    path = _taskmaster_project(
        chdir_tmp,
        {"master": {"tasks": [_task(1, "pending")]}, "ui": {"tasks": [_task(5, "in-progress")]}},
    )
    result = run("generate", "--state", path, "--format", "taskmaster", "--tag", "ui")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(Path("context_payload.json").read_text(encoding="utf-8"))
    assert (payload["meta"]["tag"], payload["meta"]["other_tags"]) == ("ui", ["master"])
    gen = ContextPayloadGenerator(path, format="taskmaster", tag="ui")
    assert gen.generate_context("minimal")["meta"]["tag"] == "ui"
    result = run("generate", "--state", path, "--format", "orchestrator")
    assert result.exit_code == 2 and "try --format taskmaster or auto" in result.stderr


# --- a format from another package, through its entry point --------------------------

KANBAN = '''
"""A kanban board: {"board": {"todo": [...], "doing": [...], "done": [...]}}."""
from context_handoff.model import State, Task

name = "kanban"
label = "a kanban board"
_STATUS = {"todo": "pending", "doing": "running", "done": "done"}


def detect(document):
    board = document.get("board") if isinstance(document, dict) else None
    return 2 if isinstance(board, dict) and set(board) <= set(_STATUS) else 0


def check(document, source, options):
    return []


def to_state(document, source, options, redact):
    board = redact(document)["board"]
    tasks = {card: Task(card, card, _STATUS[column], (), (), None, None, None, None, None)
             for column, cards in board.items() for card in cards}
    return State(source, "board", None, None, (), (), (), tasks, (), (), (), (),
                 None, None, {}, (), format=name)
'''


@pytest.fixture
def installed_plugins(tmp_path, monkeypatch):
    """A real distribution on sys.path whose entry points add a format and a broken one."""
    site = tmp_path / "site"
    (site / "kanban_format").mkdir(parents=True)
    (site / "kanban_format" / "__init__.py").write_text(KANBAN, encoding="utf-8")
    dist = site / "kanban_format-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kanban-format\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[context_handoff.formats]\nkanban = kanban_format\nbroken = kanban_missing\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    formats._plugins.cache_clear()
    yield
    formats._plugins.cache_clear()
    sys.modules.pop("kanban_format", None)


@pytest.mark.usefixtures("installed_plugins")
def test_a_format_installed_by_another_package(write_state):
    path = write_state({"board": {"todo": ["write docs"], "doing": ["ship"], "done": ["plan"]}})
    assert formats.format_names() == [*formats.builtin_format_names(), "kanban"]
    state = pipeline.read_state(path)
    assert state.format == "kanban" and state.tasks["ship"].status == "running"
    generated = pipeline.generate(pipeline.GenerateOptions(state=path, level="minimal", now=NOW))
    assert generated.payload.data["meta"]["format"] == "kanban"
    assert pipeline.read_state(path, format="kanban").format == "kanban"
    unknown = _error(write_state({"cards": []}, "other.json"))
    assert unknown.lines()[0].endswith("ralph, conductor, kanban)")
    assert "failed to load (ModuleNotFoundError" in _error(path, format="broken").lines()[0]


def test_the_notebook_magic_finds_and_reads_task_master(chdir_tmp):
    pytest.importorskip("IPython")
    from context_handoff.jupyter import HandoffMagics

    _taskmaster_project(
        chdir_tmp,
        {"master": {"tasks": [_task(1, "pending")]}, "ui": {"tasks": [_task(5, "in-progress")]}},
    )
    context = HandoffMagics(shell=None).handoff("minimal --tag ui")
    assert (context["meta"]["format"], context["meta"]["tag"]) == ("taskmaster", "ui")


def test_an_orchestrator_state_with_a_task_list_is_told_which_format_took_it(write_state):
    path = write_state(
        {
            "context": {"current_phase": "build"},
            "tasks": [{"id": "a", "name": "A", "status": "completed"}],
        }
    )
    with pytest.raises(InputError) as caught:
        pipeline.read_state(path)
    verdict = caught.value.lines()[0]
    assert "read as a Task Master tasks.json by its content (its tasks a list" in verdict
    assert "parts of an orchestrator state (its tasks an object keyed by task id)" in verdict
    assert "--format orchestrator says what to fix" in verdict
