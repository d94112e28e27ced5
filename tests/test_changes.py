"""What changed since the last handoff: snapshots and their difference, on generated states."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timezone
from typing import Any

import pytest

from context_handoff import changes, derive, pipeline
from context_handoff.errors import InputError
from context_handoff.model import Source
from context_handoff.synthetic import make_state

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
DONE = {"success", "completed", "done"}


def _facts(doc: dict[str, Any]) -> Any:
    state = pipeline.state_from_document(doc, Source("state.json", "0" * 12, None))
    return derive.derive_facts(state, NOW)


def _later(doc: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same run a few hours on: some tasks finished, failed, recovered or started."""
    rng = random.Random(seed)
    later = copy.deepcopy(doc)
    for task in later["tasks"].values():
        roll = rng.random()
        if task["status"] == "failed" and roll < 0.3:
            task["status"], task["error"] = "success", None
        elif task["status"] == "running" and roll < 0.5:
            task["status"] = "success"
        elif task["status"] == "pending" and roll < 0.05:
            task["status"] = "running"
        elif task["status"] == "pending" and roll < 0.08:
            task["status"], task["error"] = "failed", {"type": "E", "message": "new"}
    later["context"]["active_tasks"] = []  # the task statuses say what runs
    return later


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {tid: t["status"] for tid, t in doc["tasks"].items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changes_list_exactly_the_tasks_that_changed(seed: int) -> None:
    doc = make_state(400, seed=seed)
    doc["context"]["active_tasks"] = []
    later = _later(doc, seed)
    before_facts, after_facts = _facts(doc), _facts(later)
    before = changes.take_snapshot(before_facts, "2025-01-15T11:00:00Z")
    # the snapshot survives its file format
    before = changes.parse_snapshot(json.loads(changes.snapshot_text(before)), "snap.json")
    after = changes.take_snapshot(after_facts, "2025-01-15T15:00:00Z")
    found = changes.changes_since(before, after_facts, after)

    was, now = _statuses(doc), _statuses(later)
    assert set(found.recovered) == {t for t in now if was[t] == "failed" and now[t] != "failed"}
    assert set(found.newly_failed) == {t for t in now if now[t] == "failed" and was[t] != "failed"}
    assert set(found.newly_done) == {
        t for t in now if now[t] in DONE and was[t] not in DONE and was[t] != "failed"
    }
    assert set(found.started) == {t for t in now if now[t] == "running" and was[t] != "running"}
    ready_before, ready_after = set(before_facts.ready), set(after_facts.ready)
    assert set(found.newly_ready) == ready_after - ready_before
    assert found.recovered and found.newly_done and found.newly_failed  # the test has teeth
    assert found.removed == ()
    assert found.since_at == "2025-01-15T11:00:00Z" and not found.phase_moved


def test_no_change_is_no_change() -> None:
    doc = make_state(200, seed=5)
    facts = _facts(doc)
    snap = changes.take_snapshot(facts, "t")
    found = changes.changes_since(snap, facts, snap)
    assert not any(
        (
            found.newly_failed,
            found.recovered,
            found.newly_done,
            found.started,
            found.newly_ready,
            found.decided,
        )
    )


def test_decisions_made_and_phase_moved() -> None:
    doc = make_state(100, seed=4)
    later = copy.deepcopy(doc)
    decisions = later["user_customizations"]["runtime_decisions"]
    pending = [d for d in decisions if d["decision"]["choice"] == "pending"]
    assert pending
    pending[0]["decision"] = {"choice": "approved", "decided_at": "2025-01-15T14:00:00Z"}
    later["context"]["current_phase"] = "phase_09"
    facts = _facts(later)
    found = changes.changes_since(
        changes.take_snapshot(_facts(doc), "t"), facts, changes.take_snapshot(facts, "u")
    )
    assert found.decided == (pending[0]["prompt"],)
    assert found.phase_moved and found.phase_to == "phase_09"


def test_a_failure_with_a_new_error_is_newly_failed() -> None:
    doc = {"tasks": {"a": {"status": "failed", "error": {"type": "E", "message": "one"}}}}
    later = {"tasks": {"a": {"status": "failed", "error": {"type": "E", "message": "two"}}}}
    facts = _facts(later)
    found = changes.changes_since(
        changes.take_snapshot(_facts(doc), "t"), facts, changes.take_snapshot(facts, "u")
    )
    assert found.newly_failed == ("a",)


def test_a_broken_snapshot_names_its_path() -> None:
    with pytest.raises(InputError) as caught:
        changes.parse_snapshot(
            {
                "format": changes.SNAPSHOT_FORMAT,
                "version": 1,
                "state_digest": "x",
                "taken_at": "t",
                "tasks": {"a": 3},
            },
            "snap.json",
        )
    assert [str(p).split(":", 3)[:3] for p in caught.value.problems] == [
        ["snap.json", "", "$.state_digest"],
        ["snap.json", "", "$.taken_at"],
        ["snap.json", "", "$.tasks.a"],
    ]


def test_generate_since_a_snapshot_then_a_state_file(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from context_handoff.cli import cli

    monkeypatch.chdir(tmp_path)
    doc = make_state(300, seed=9)
    doc["context"]["active_tasks"] = []
    (tmp_path / "s.json").write_text(json.dumps(doc))
    runner = CliRunner()
    first = runner.invoke(
        cli,
        [
            "generate",
            "--state",
            "s.json",
            "--since",
            "snap.json",
            "--snapshot",
            "snap.json",
            "--now",
            "2025-01-15T15:00:00Z",
        ],
        catch_exceptions=False,
    )
    assert first.exit_code == 0, first.output
    assert "note: no earlier handoff at snap.json" in first.output
    assert "changes" not in json.loads((tmp_path / "context_payload.json").read_text())
    assert changes.is_snapshot(json.loads((tmp_path / "snap.json").read_text()))

    later = _later(doc, 9)
    (tmp_path / "s.json").write_text(json.dumps(later))
    for since in ("snap.json", "old-state.json"):
        (tmp_path / "old-state.json").write_text(json.dumps(doc))
        result = runner.invoke(
            cli,
            [
                "generate",
                "--state",
                "s.json",
                "--since",
                since,
                "--now",
                "2025-01-15T19:00:00Z",
                "--level",
                "full",
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        payload = json.loads((tmp_path / "context_payload.json").read_text())
        was, now = _statuses(doc), _statuses(later)
        recovered = {t for t in now if was[t] == "failed" and now[t] != "failed"}
        assert set(payload["changes"]["recovered"]) == recovered, since
        assert "## Since the last handoff" in (tmp_path / "handoff_report.md").read_text()


def test_changes_are_cut_and_counted_within_the_budget(tmp_path) -> None:
    doc = make_state(2000, failed=150, active=30, seed=7)
    later = copy.deepcopy(doc)
    for task in list(later["tasks"].values())[:1500]:
        task["status"], task["error"] = "success", None
    (tmp_path / "a.json").write_text(json.dumps(doc))
    (tmp_path / "b.json").write_text(json.dumps(later))
    payload = pipeline.generate(
        pipeline.GenerateOptions(
            state=tmp_path / "b.json", since=tmp_path / "a.json", level="standard"
        )
    ).payload
    assert payload.tokens <= payload.budget
    done = payload.data["changes"]["newly_done"]
    assert done and len(done) + payload.omitted["changes.newly_done"] > 500


def test_the_api_and_the_checkpointer_say_what_changed(tmp_path) -> None:
    from context_handoff import ContextPayloadGenerator
    from context_handoff.checkpoint import HandoffCheckpointer

    doc = make_state(200, seed=11)
    doc["context"]["active_tasks"] = []
    state = tmp_path / "state.json"
    state.write_text(json.dumps(doc))
    first = ContextPayloadGenerator(state)
    snap = first.save_snapshot(tmp_path / "snap.json")
    checkpointer = HandoffCheckpointer(state, tmp_path / "handoffs", threshold=10)
    assert checkpointer.track_tokens(5, 5)
    assert "changes" not in json.loads((tmp_path / "handoffs" / "latest.json").read_text())
    later = _later(doc, 11)
    state.write_text(json.dumps(later))
    context = ContextPayloadGenerator(state, since=snap).generate_context("standard")
    assert context["changes"]["newly_done"] or context["changes"]["recovered"]
    assert checkpointer.track_tokens(5, 5)
    latest = json.loads((tmp_path / "handoffs" / "latest.json").read_text())
    assert latest["changes"]["recovered"] == context["changes"]["recovered"]


def test_a_reversed_decision_is_a_decision_made() -> None:
    doc = {
        "tasks": {"a": {"status": "done"}},
        "user_customizations": {
            "runtime_decisions": [{"prompt": "Same?", "decision": {"choice": "approved"}}]
        },
    }
    later = copy.deepcopy(doc)
    later["user_customizations"]["runtime_decisions"][0]["decision"]["choice"] = "rejected"
    facts = _facts(later)
    found = changes.changes_since(
        changes.take_snapshot(_facts(doc), "t"), facts, changes.take_snapshot(facts, "u")
    )
    assert found.decided == ("Same?",)


def test_a_snapshot_of_another_project_is_not_compared(tmp_path) -> None:
    doc = make_state(50, seed=1)
    other = copy.deepcopy(doc)
    other["metadata"]["project_name"] = "Another project"
    (tmp_path / "a.json").write_text(json.dumps(other))
    (tmp_path / "b.json").write_text(json.dumps(doc))
    generated = pipeline.generate(
        pipeline.GenerateOptions(state=tmp_path / "b.json", since=tmp_path / "a.json")
    )
    assert generated.facts.changes is None
    assert any("another project" in note for note in generated.notes)


def test_times_are_stamped_in_utc(tmp_path) -> None:
    from datetime import timedelta

    doc = make_state(30, seed=2)
    earlier = copy.deepcopy(doc)
    earlier["metadata"]["last_updated"] = "2025-01-15T10:00:00+05:00"
    (tmp_path / "a.json").write_text(json.dumps(earlier))
    (tmp_path / "b.json").write_text(json.dumps(doc))
    now = datetime(2025, 1, 15, 15, 0, tzinfo=timezone(timedelta(hours=5)))
    generated = pipeline.generate(
        pipeline.GenerateOptions(state=tmp_path / "b.json", since=tmp_path / "a.json", now=now)
    )
    assert generated.facts.changes.since_at == "2025-01-15T05:00:00Z"
    assert generated.payload.data["summary"]["generated_at"] == "2025-01-15T10:00:00Z"
    assert generated.payload.data["handoff_id"].startswith("20250115T100000")


def test_the_api_sees_a_new_snapshot_and_a_new_tag(tmp_path) -> None:
    from context_handoff import ContextPayloadGenerator

    doc = make_state(60, seed=4)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(doc))
    gen = ContextPayloadGenerator(state, since=tmp_path / "snap.json")
    assert "changes" not in gen.generate_context()
    gen.save_snapshot(tmp_path / "snap.json")
    assert "changes" in gen.generate_context()  # the same generator, now with a snapshot


def test_removed_tasks_are_listed_and_empty_kinds_left_out(tmp_path) -> None:
    doc = make_state(40, seed=6)
    later = copy.deepcopy(doc)
    gone = next(iter(later["tasks"]))
    del later["tasks"][gone]
    for task in later["tasks"].values():
        task["dependencies"] = [d for d in task.get("dependencies") or [] if d != gone]
        task["dependents"] = [d for d in task.get("dependents") or [] if d != gone]
    (tmp_path / "a.json").write_text(json.dumps(doc))
    (tmp_path / "b.json").write_text(json.dumps(later))
    payload = pipeline.generate(
        pipeline.GenerateOptions(
            state=tmp_path / "b.json", since=tmp_path / "a.json", level="minimal"
        )
    ).payload
    assert payload.data["changes"]["removed"] == [gone]
    assert all(
        payload.data["changes"][key]
        for key in payload.data["changes"]
        if key not in ("since", "phase")
    )  # no empty kinds


GHP_A, GHP_B = "ghp_" + "A1b2" * 9, "ghp_" + "Z9y8" * 9


def _generate(tmp_path, state: dict[str, Any], *extra: str):
    from click.testing import CliRunner

    from context_handoff.cli import cli

    (tmp_path / "state.json").write_text(json.dumps(state))
    args = [
        "generate",
        "--state",
        str(tmp_path / "state.json"),
        "--now",
        "2025-01-15T15:00:00Z",
        "--output",
        str(tmp_path / "p.json"),
        "--report",
        str(tmp_path / "r.md"),
        *extra,
    ]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_the_same_tasks_in_another_order_report_no_change(tmp_path) -> None:
    """Redaction markers are numbered by the secrets, not by where they come first: a
    still-failed task is not "recovered", a done one not "newly failed"."""
    tasks = {
        f"deploy {GHP_A}": {"status": "done"},
        f"deploy {GHP_B}": {"status": "failed", "error": {"type": "E", "message": "x"}},
    }
    first = _generate(tmp_path, {"tasks": tasks}, "--snapshot", str(tmp_path / "snap.json"))
    assert first.exit_code == 0, first.stderr
    reordered = dict(reversed(list(tasks.items())))
    again = _generate(tmp_path, {"tasks": reordered}, "--since", str(tmp_path / "snap.json"))
    assert again.exit_code == 0, again.stderr
    assert "no change" in again.stdout
    payload = json.loads((tmp_path / "p.json").read_text())
    assert not {k: v for k, v in payload["changes"].items() if k != "since"}
    snapshot = (tmp_path / "snap.json").read_text()
    assert GHP_A not in snapshot and GHP_B not in snapshot


def test_markers_do_not_depend_on_order_and_tell_nothing_of_the_value() -> None:
    from context_handoff.redact import Redactor

    one = Redactor().redact_document({"tasks": {GHP_A: {}, GHP_B: {}}})
    other = Redactor().redact_document({"tasks": {GHP_B: {}, GHP_A: {}}})
    assert (
        sorted(one["tasks"])
        == sorted(other["tasks"])
        == ["[REDACTED:github_token:2]", "[REDACTED:github_token]"]
    )
    # which secret gets which number follows their digests, not their text or place
    assert "A1b2" not in str(one) and "Z9y8" not in str(one)


def _snapshot(**fields: Any) -> dict[str, Any]:
    return {
        "format": changes.SNAPSHOT_FORMAT,
        "version": 1,
        "state_digest": "0123456789ab",
        "taken_at": "2025-01-15T11:00:00Z",
        "tasks": {"a": "done"},
        **fields,
    }


def test_a_snapshot_is_redacted_and_shortened_on_the_way_in(tmp_path) -> None:
    phase = f"deploy with {GHP_A}\n::warning::injected " + "p" * 50_000
    snap = _snapshot(
        current_phase=phase,
        tasks={f"t {GHP_B}": "failed", "a": "done"},
        scope=f"orchestrator||{GHP_A}",
        decisions={"0123abcd": GHP_B},
    )
    (tmp_path / "snap.json").write_text(json.dumps(snap))
    result = _generate(
        tmp_path,
        {"tasks": {"a": {"status": "done"}}},
        "--since",
        str(tmp_path / "snap.json"),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    written = (tmp_path / "p.json").read_text() + (tmp_path / "r.md").read_text()
    out = result.stdout + result.stderr
    for text in (written, out):
        assert GHP_A not in text and GHP_B not in text
    assert "p" * (changes.SNAPSHOT_TEXT_CHARS + 1) not in written + out
    parsed = changes.parse_snapshot(json.loads(json.dumps(snap)), "snap.json")
    assert len(parsed.current_phase or "") <= changes.SNAPSHOT_TEXT_CHARS
    # two secrets of one kind in the snapshot: the task's is the second by digest
    assert parsed.tasks == {"t [REDACTED:github_token:2]": ("failed", None), "a": ("done", None)}
    assert not any(line.lstrip().startswith("::") for line in out.splitlines())


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"taken_at": "2025-01-15T11:00:00Z" + "x" * 40_000}, "$.taken_at"),
        ({"taken_at": "9" * 40_000}, "$.taken_at"),
        ({"state_digest": "not hex"}, "$.state_digest"),
        ({"tasks": {"a": ["failed", "not a fingerprint"]}}, "$.tasks.a"),
        ({"tasks": {"a": "Done\n::warning::x"}}, "$.tasks.a"),
        ({"decisions": {"x": "y"}}, "$.decisions"),
        ({"surprise": 1}, "$"),
        ({"current_phase": "p" * 100_001}, "$.current_phase"),  # size limits
        ({"decisions": {f"{n:08x}": "x" for n in range(100_001)}}, "$.decisions"),
    ],
)
def test_a_snapshot_that_breaks_its_schema_is_bad_input(tmp_path, fields, path) -> None:
    (tmp_path / "snap.json").write_text(json.dumps(_snapshot(**fields)))
    result = _generate(
        tmp_path, {"tasks": {"a": {"status": "done"}}}, "--since", str(tmp_path / "snap.json")
    )
    assert result.exit_code == 2
    assert f"snap.json::{path}" in result.stderr
    assert len(result.stderr) < 2000 and not (tmp_path / "p.json").exists()


def test_a_snapshot_from_a_no_redact_run_is_redacted_when_read(tmp_path) -> None:
    state = {
        "tasks": {f"push {GHP_A}": {"status": "failed", "error": {"type": "E", "message": "x"}}}
    }
    first = _generate(tmp_path, state, "--no-redact", "--snapshot", str(tmp_path / "snap.json"))
    assert first.exit_code == 0 and GHP_A in (tmp_path / "snap.json").read_text()
    state["tasks"] = {"other": {"status": "done"}}
    later = _generate(tmp_path, state, "--since", str(tmp_path / "snap.json"))
    assert later.exit_code == 0, later.stderr
    payload = (tmp_path / "p.json").read_text()
    assert GHP_A not in payload + later.stdout + (tmp_path / "r.md").read_text()
    assert "[REDACTED:github_token]" in payload  # the removed task, as a marker


def test_the_snapshot_schema_is_printed_and_holds_what_generate_writes(tmp_path) -> None:
    from click.testing import CliRunner

    from context_handoff import validate
    from context_handoff.cli import cli

    printed = CliRunner().invoke(cli, ["schema", "snapshot"], catch_exceptions=False)
    assert json.loads(printed.stdout)["title"] == "context-handoff snapshot"
    doc = make_state(200, seed=4)
    written = json.loads(
        changes.snapshot_text(changes.take_snapshot(_facts(doc), "2025-01-15T15:00:00Z"))
    )
    assert validate.find_problems(written, "snapshot", "snap.json") == []
