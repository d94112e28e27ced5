"""Folder states (Backlog.md's backlog/, Conductor's conductor/) everywhere a state goes:
the MCP session, Claude Code's hooks, the web API and --since; and ids of tasks a file
gives none that follow the task, not its position or where the copy lives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff import cli, formats, hooks, load, pipeline
from context_handoff.session import HandoffSession, SessionOptions

from .conftest import ROOT

CASES = ROOT / "tests" / "formats"
FOLDERS = {"backlog": "backlog", "conductor": "conductor"}
NOW = "2025-03-06T00:00:00Z"


def _project(tmp_path: Path, name: str) -> Path:
    shutil.copytree(CASES / name / FOLDERS[name], tmp_path / FOLDERS[name])
    return tmp_path


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_the_session_reads_a_folder_as_generate_does(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, name)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741219200")
    session = HandoffSession(SessionOptions(root=root, state=Path(FOLDERS[name])))
    expected = pipeline.generate(pipeline.GenerateOptions(state=Path(FOLDERS[name])))
    got = session.handoff()
    assert got.payload.text == expected.payload.text
    # fresh on every call: a change to one file of the folder is seen
    edited = next(
        p
        for p in sorted((root / FOLDERS[name]).rglob("*.md"))
        if "- [ ] Task" in p.read_text() or "status: To Do" in p.read_text()
    )
    edited.write_text(
        edited.read_text()
        .replace("- [ ] Task", "- [x] Task")
        .replace("status: To Do", "status: Done")
    )
    assert session.handoff().payload.text != got.payload.text
    assert session.payload_text() == session.handoff().payload.text


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_the_hooks_and_mcp_accept_a_folder_state(tmp_path: Path, name: str) -> None:
    root = _project(tmp_path, name)
    stdin = json.dumps({"cwd": str(root), "source": "startup"})
    options = hooks.HookOptions(state=Path(FOLDERS[name]))
    context = json.loads(hooks.session_start(stdin, options))
    text = context["hookSpecificOutput"]["additionalContext"]
    assert "is a directory" not in text and "<handoff-data-" in text
    assert hooks.pre_compact(stdin, options) is None
    assert (root / ".context-handoff" / "snapshot.json").exists()
    runner = CliRunner()
    for args in (
        ["hook", "session-start", "--state", FOLDERS[name]],
        ["mcp", "--root", str(root), "--state", FOLDERS[name], "--help"],
    ):
        result = runner.invoke(cli.cli, args, input=stdin)
        assert result.exit_code == 0, result.output
        assert "is a directory" not in result.output


def test_the_web_api_serves_a_folder_inside_the_root_only(tmp_path: Path) -> None:
    from flask import Flask

    from context_handoff.web import create_blueprint

    root = _project(tmp_path / "states", "backlog")
    outside = _project(tmp_path / "elsewhere", "conductor")
    (root / "escape").symlink_to(outside / "conductor")
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(root))
    client = app.test_client()
    served = client.get("/api/handoff", query_string={"state_file": "backlog"})
    assert served.status_code == 200, served.get_json()
    assert "TASK-" in json.dumps(served.get_json()["context"])
    for bad in ("escape", "../elsewhere/conductor", str(outside / "conductor"), "."):
        refused = client.get("/api/handoff", query_string={"state_file": bad})
        assert refused.status_code in (400, 404), bad
        assert str(tmp_path) not in refused.get_data(as_text=True)


def _conductor_since(tmp_path: Path, state: str, earlier: str) -> dict[str, object]:
    result = CliRunner().invoke(
        cli.cli,
        [
            "generate",
            "--state",
            state,
            "--since",
            earlier,
            "--now",
            NOW,
            "--output",
            str(tmp_path / "p.json"),
            "--no-report",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "p.json").read_text())["changes"]  # type: ignore[no-any-return]


def test_since_an_earlier_copy_of_a_folder_or_plan_elsewhere_says_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "now", "conductor")
    shutil.copytree(project / "conductor", tmp_path / "old-copy")
    track = "conductor/tracks/search_20250301"
    shutil.copy(project / track / "plan.md", tmp_path / "old-plan.md")
    monkeypatch.chdir(project)
    folder = _conductor_since(tmp_path, "conductor", str(tmp_path / "old-copy"))
    plan = _conductor_since(tmp_path, f"{track}/plan.md", str(tmp_path / "old-plan.md"))
    own = _conductor_since(tmp_path, track, str(tmp_path / "old-copy/tracks/search_20250301"))
    for changes in (folder, plan, own):
        assert not any(
            changes.get(key) for key in ("removed", "newly_done", "started", "newly_ready")
        ), changes


def test_inserting_a_task_without_an_id_changes_no_other_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = CASES / "conductor" / "conductor" / "tracks" / "search_20250301" / "plan.md"
    before = plan.read_text()
    after = before.replace(
        "- [x] Task: Build the inverted index",
        "- [ ] Task: A task inserted first\n"
        "    - [x] Write tests for index updates\n"
        "- [x] Task: Build the inverted index",
        1,
    )
    assert after != before
    (tmp_path / "old.md").write_text(before)
    (tmp_path / "plan.md").write_text(after)
    monkeypatch.chdir(tmp_path)
    old = pipeline.generate(pipeline.GenerateOptions(state=Path("old.md"))).facts.state
    new = pipeline.generate(pipeline.GenerateOptions(state=Path("plan.md"))).facts.state
    added = set(new.tasks) - set(old.tasks)
    assert set(old.tasks) <= set(new.tasks) and len(added) == 2
    # the same text under another parent is another task; the same under one parent, too
    twice = "- [ ] Task: Same\n- [ ] Task: Same\n"
    (tmp_path / "twice.md").write_text(twice)
    ids = list(
        pipeline.generate(
            pipeline.GenerateOptions(state=Path("twice.md"), format="conductor")
        ).facts.state.tasks
    )
    assert len(ids) == 2 and ids[1] == f"{ids[0]}-2"
    changes = _conductor_since(tmp_path, "plan.md", "old.md")
    named = {
        tid
        for key in ("removed", "newly_done", "started", "newly_ready", "recovered")
        for tid in changes.get(key, [])
    }  # type: ignore[attr-defined]
    assert named and named <= added, changes  # only the inserted tasks are news


@pytest.mark.parametrize("forced", ["kiro", "speckit", "conductor", "backlog"])
def test_a_markdown_file_that_is_no_task_list_gets_one_true_line(
    tmp_path: Path, forced: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("plain.md").write_text("# Notes\n\nSome text.\n\n- a\n- b\n")
    result = CliRunner().invoke(
        cli.cli, ["generate", "--state", "plain.md", "--format", forced, "--no-report"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "JSON" not in lines[0] and "looked for" in lines[0], lines
    assert lines[0].startswith("error: plain.md: read as ") and f"--format {forced}" in lines[0]
    assert not Path("context_payload.json").exists()


def test_format_picks_among_the_discovered_places_and_tasks_folder_is_a_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "backlog")
    shutil.copy(CASES / "ralph" / "prd.json", project / "prd.json")
    monkeypatch.chdir(project)
    runner = CliRunner()
    several = runner.invoke(cli.cli, ["generate", "--no-report"])
    assert several.exit_code == 2 and "several task files" in several.output
    ralph = runner.invoke(cli.cli, ["generate", "--format", "ralph", "--no-report"])
    assert ralph.exit_code == 0, ralph.output
    assert json.loads(Path("context_payload.json").read_text())["meta"]["format"] == "ralph"
    none = runner.invoke(cli.cli, ["generate", "--format", "beads", "--no-report"])
    assert none.exit_code != 0 and "no beads state here" in none.output
    whole = pipeline.read_state(Path("backlog"))
    tasks = pipeline.read_state(Path("backlog/tasks"))
    assert tasks.format == "backlog" and tasks.tasks == whole.tasks
    assert tasks.project == whole.project == "Recipe Box"


def test_the_session_sees_a_change_to_backlog_root_config_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backlog init --config-location root`: the config lives beside the tasks' folder,
    outside it; a change to it alone is a new state to the session, as to generate."""
    shutil.copytree(CASES / "backlog" / "backlog" / "tasks", tmp_path / ".backlog" / "tasks")
    config = tmp_path / "backlog.config.yml"
    shutil.copy(CASES / "backlog" / "backlog" / "config.yml", config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741219200")
    session = HandoffSession(SessionOptions(root=tmp_path, state=Path(".backlog")))
    first = session.payload_text()
    assert "Recipe Box" in first
    config.write_text(config.read_text().replace("Recipe Box", "Pantry"))
    assert "Pantry" in session.payload_text()
    assert session.payload_text() == session.handoff().payload.text
    state = pipeline.read_state(Path(".backlog"))
    assert state.source.digest == formats.state_source(Path(".backlog")).digest
    assert state.source.digest != load.state_source(Path(".backlog")).digest  # config in it


def _backlog(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "backlog"
    (folder / "tasks").mkdir(parents=True)
    (folder / "config.yml").write_text('project_name: "demo"\nstatuses: ["To Do", "Done"]\n')
    for name, text in files.items():
        (folder / "tasks" / name).write_bytes(text.encode())
    return folder


def test_backlog_files_with_crlf_line_ends_are_read_as_the_cli_reads_them(tmp_path: Path) -> None:
    folder = _backlog(
        tmp_path,
        {"task-1 - A.md": "---\r\nid: TASK-1\r\ntitle: A\r\nstatus: To Do\r\n---\r\n\r\nbody\r\n"},
    )
    state = pipeline.read_state(folder)
    assert [(t.id, t.name, t.status) for t in state.tasks.values()] == [("TASK-1", "A", "pending")]


@pytest.mark.parametrize("value", ["[]", "[2025-01-02]", "{at: 2025-01-02}", "'not a time'"])
def test_a_backlog_date_that_is_no_time_is_unknown(tmp_path: Path, value: str) -> None:
    folder = _backlog(
        tmp_path,
        {
            "task-1 - A.md": f"---\nid: TASK-1\ntitle: A\nstatus: To Do\nupdated_date: {value}\n---\n"
        },
    )
    assert pipeline.read_state(folder).last_updated is None


def test_a_warning_quoting_a_file_name_is_redacted(tmp_path: Path) -> None:
    """Backlog.md names a task's file after its title: a warning quoting the file name
    must not carry a credential the title held."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    folder = _backlog(
        tmp_path,
        {
            f"task-1 - Rotate-{token}-now.md": "---\nid: TASK-1\ntitle: x\nstatus: To Do\n---\n",
            "task-1 - Other.md": "---\nid: TASK-1\ntitle: Other\nstatus: To Do\n---\n",
        },
    )
    generated = pipeline.generate(pipeline.GenerateOptions(state=folder, level="full"))
    assert any("id TASK-1 again" in w for w in generated.facts.warnings)
    assert token not in generated.payload.text
    assert "[REDACTED:github_token]" in generated.payload.text
