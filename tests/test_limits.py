"""Inputs at their limits are bad input (exit 2, naming the file), never a crash or a
wait: times at the calendar's ends, a template's runtime errors, FIFOs and devices, a
dotenv path refused before anything is written, and the web API kept to its root."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from context_handoff.cli import cli

from .conftest import EXAMPLE

NOW = "2025-01-15T15:00:00Z"
EDGES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:30:00+00:31",
    "9999-12-31T23:59:59.999999-00:01",
]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _state(path: Path, stamp: str, where: str = "metadata") -> Path:
    doc = json.loads(EXAMPLE.read_text())
    if where == "metadata":
        doc["metadata"]["last_updated"] = stamp
    else:
        next(iter(doc["tasks"].values()))["started_at"] = stamp
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("stamp", EDGES)
def test_times_past_the_calendar_in_utc_are_bad_input(chdir_tmp: Path, stamp: str) -> None:
    cases = [
        (["--state", _state(Path("edge.json"), stamp)], "edge.json::$.metadata.last_updated"),
        (["--state", _state(Path("task.json"), stamp, "task")], "task.json::$.tasks."),
        (["--state", EXAMPLE, "--since", _state(Path("old.json"), stamp)], "old.json::$."),
        (["--state", EXAMPLE, "--now", stamp], "Invalid value for '--now'"),
        (["--state", EXAMPLE, "--committed-at", stamp], "'--committed-at'"),
    ]
    for args, named in cases:
        extra = [] if "--now" in args else ["--now", NOW]
        result = run("generate", *args, *extra, "--max-age", "2d")
        assert result.exit_code == 2, (args, result.output)
        assert named in result.stderr and "outside the calendar in UTC" in result.stderr
        assert "unexpected" not in result.stderr and not Path("context_payload.json").exists()


def test_the_calendar_s_own_ends_in_utc_still_work(chdir_tmp: Path) -> None:
    for stamp in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        result = run(
            "generate",
            "--state",
            _state(Path("s.json"), stamp),
            "--now",
            stamp,
            "--snapshot",
            "snap.json",
            "--since",
            "snap.json",
        )
        assert result.exit_code == 0, result.output


def test_the_python_api_refuses_such_a_now(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from context_handoff import pipeline
    from context_handoff.errors import InputError

    edge = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(InputError, match="outside the calendar"):
        pipeline.generate(pipeline.GenerateOptions(state=EXAMPLE, now=edge))


@pytest.mark.parametrize(
    ("source", "line", "kind"),
    [
        ("# {{ meta.level }}\n\n{{ 1 / 0 }}\n", 3, "ZeroDivisionError"),
        ("{% for t in [1, 2] %}\n{{ t }}\n{{ t | join(',') }}\n{% endfor %}\n", 3, "TypeError"),
        ("a\nb\n{{ 'x' + 1 }}", 3, "TypeError"),
        ("{{ '%d' % 'x' }}", 1, "TypeError"),
        ("one\n{{ [1][5] }}", 2, "UndefinedError"),
        ("one\ntwo\n{{ {}['k'] }}\n", 3, "UndefinedError"),
        ("{{ range(10**9) | list }}", 1, "OverflowError"),
        ("x\n{{ '{:q}'.format(1) }}", 2, "ValueError"),
    ],
)
def test_template_runtime_errors_name_the_file_and_line(
    chdir_tmp: Path, source: str, line: int, kind: str
) -> None:
    Path("t.md.j2").write_text(source)
    result = run("generate", "--state", EXAMPLE, "--now", NOW, "--template", "t.md.j2")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: t.md.j2:{line}: {kind}"), result.stderr
    assert not Path("context_payload.json").exists()  # nothing written


def test_the_dotenv_check_comes_before_any_write(chdir_tmp: Path) -> None:
    Path("context_payload.json").write_text("last good payload")
    Path("handoff_report.md").write_text("last good report")
    result = run(
        "generate",
        "--state",
        EXAMPLE,
        "--now",
        NOW,
        "--dotenv",
        "h.env",
        "--output",
        "new\npayload.json",
    )
    assert result.exit_code == 2 and "holds a line break" in result.stderr
    assert not Path("new\npayload.json").exists() and not Path("h.env").exists()
    assert Path("handoff_report.md").read_text() == "last good report"


@pytest.mark.parametrize("option", ["--state", "--since", "--template"])
def test_a_fifo_is_refused_at_once(chdir_tmp: Path, option: str) -> None:
    os.mkfifo("pipe.json")
    args = {
        "--state": ["--state", "pipe.json"],
        "--since": ["--state", EXAMPLE, "--since", "pipe.json"],
        "--template": ["--state", EXAMPLE, "--template", "pipe.json"],
    }[option]
    done = threading.Event()
    outcome = []

    def work() -> None:
        outcome.append(run("generate", "--now", NOW, *args))
        done.set()

    threading.Thread(target=work, daemon=True).start()
    if not done.wait(30):
        with open("pipe.json", "w"):  # let the blocked reader go, then fail
            pass
        pytest.fail("a FIFO blocked the read")
    result = outcome[0]
    assert result.exit_code == 2
    assert "pipe.json: is a FIFO (named pipe), not a regular file" in result.stderr


def test_a_device_is_refused(chdir_tmp: Path) -> None:
    result = run("generate", "--state", "/dev/zero", "--now", NOW)
    assert result.exit_code == 2 and "is a character device" in result.stderr


def test_the_web_api_reads_no_current_tag_outside_its_root(tmp_path: Path) -> None:
    from context_handoff.metrics import HandoffMetrics
    from context_handoff.web import handle_handoff

    tagged = Path(__file__).parent / "taskmaster" / "tagged-current-tag" / "tasks.json"
    doc = json.loads(tagged.read_text())
    root = tmp_path / "tasks"  # the root is named like Task Master's tasks folder
    root.mkdir()
    (root / "tasks.json").write_text(json.dumps(doc))
    tags = [tag for tag in doc if tag != "master"]
    # outside the root, a state.json that names another tag
    (tmp_path / "state.json").write_text(json.dumps({"currentTag": tags[0]}))
    answer = handle_handoff(root, HandoffMetrics(), state_file="tasks.json")
    assert answer["context"]["meta"]["tag"] == "master"


def test_the_web_api_never_echoes_server_paths(tmp_path: Path) -> None:
    from context_handoff.metrics import HandoffMetrics
    from context_handoff.web import ApiError, handle_handoff

    root = tmp_path / "states"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "bad.json").write_text(json.dumps({"tasks": {"a": {"status": "nope"}}}))
    (root / "sub" / "broken.json").write_text("{")
    project = root / ".taskmaster"  # a tag named in the root's own state.json, missing
    (project / "tasks").mkdir(parents=True)
    shutil.copy(
        Path(__file__).parent / "taskmaster" / "tagged-current-tag" / "tasks.json",
        project / "tasks" / "tasks.json",
    )
    (project / "state.json").write_text(json.dumps({"currentTag": "gone"}))
    for name in ("sub/bad.json", "sub/broken.json", ".taskmaster/tasks/tasks.json"):
        with pytest.raises(ApiError) as caught:
            handle_handoff(root, HandoffMetrics(), state_file=name)
        body = json.dumps(caught.value.body)
        assert caught.value.status == 422 and str(tmp_path) not in body, body
        assert name in body


def test_a_task_list_time_past_the_calendar_is_read_as_unknown(chdir_tmp: Path) -> None:
    """The task-list formats (beads, Backlog.md, BMAD, ...) treat an unreadable time as
    unknown; one whose offset takes it past the calendar is one of those, never a crash."""
    issues = Path(__file__).parent / "formats" / "beads" / ".beads" / "issues.jsonl"
    lines = [json.loads(line) for line in issues.read_text().splitlines() if line.strip()]
    for line in lines:
        line.update(created_at=EDGES[0], updated_at=EDGES[1])
    Path("issues.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    for args in (["--state", "issues.jsonl"], ["--state", EXAMPLE, "--since", "issues.jsonl"]):
        result = run("generate", "--now", NOW, *args)
        assert result.exit_code == 0, result.output
