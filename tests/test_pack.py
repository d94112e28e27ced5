"""Packing: exact budgets, omitted accounts for every cut item, nothing silent."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context_handoff import pipeline
from context_handoff.errors import HandoffFailed
from context_handoff.layouts import LIMITS_BY_LEVEL, shorten
from context_handoff.layouts.view import View
from context_handoff.model import CompressionLevel
from context_handoff.pack import serialize
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
O200K = build_counter("o200k_base")


def _generate(write_state, doc, level="standard", budget=None, encoding="o200k_base"):
    path = write_state(doc)
    options = pipeline.GenerateOptions(
        state=path, level=level, budget=budget, encoding=encoding, now=NOW
    )
    return pipeline.generate(options)


def expected_totals(generated) -> dict[str, int]:
    """How many candidates each list had, from the facts (not from the packer)."""
    facts = generated.facts
    state = facts.state
    tasks = state.tasks.values()
    failed = [t for t in tasks if t.status == "failed"]
    failed_ids = {t.id for t in failed}
    with_error = {e.task_id for e in facts.recent_errors} | {
        t.id for t in failed if t.error_type or t.error_message
    }
    env = state.environment
    # the runs of one error type along failed_tasks (whose order the layout defines)
    runs = View(facts, LIMITS_BY_LEVEL[generated.payload.level]).failure_types()
    return {
        "execution_state.failure_types": len(runs),
        "failed": len(failed),
        "active": len(facts.active),
        "next": len(facts.ready),
        "pending_decisions": len(facts.pending_decisions),
        "execution_state.failed_tasks": len(failed),
        "execution_state.active_tasks": len(facts.active),
        "execution_state.next_eligible": len(facts.ready),
        "execution_state.blocked_tasks": len(facts.blocked),
        "critical_context.user_decisions": len(state.decisions),
        "critical_context.errors": len(failed_ids & with_error)
        + sum(e.task_id not in failed_ids for e in facts.recent_errors),
        "critical_context.warnings": len(facts.warnings),
        "dag_snapshot.critical_path": len(facts.critical_path),
        "dag_snapshot.phases_completed": sum(p.status == "done" for p in facts.phases),
        "dag_snapshot.phases": len(facts.phases),
        "file_state.artifacts": sum(bool(f.produced_by) for f in state.files),
        "file_state.required": sum(bool(f.required_by) and f.exists is True for f in state.files),
        "file_state.missing": sum(bool(f.required_by) and f.exists is False for f in state.files),
        "environment.packages": len({p.name for p in env.packages}) if env else 0,
        "environment.missing_dependencies": len(env.missing_dependencies) if env else 0,
    }


# details keyed by id: each key is an id the payload lists (or would, uncut), so a map has
# at most as many entries as its list had candidates
DETAIL_OF = {
    "failures": "failed",
    "execution_state.failures": "execution_state.failed_tasks",
    "execution_state.blocked_by": "execution_state.blocked_tasks",
}


def _lists(data: dict[str, Any], level: str) -> dict[str, list[Any]]:
    if level == "minimal":
        # an added list with nothing in it is left out
        out = {k: data.get(k, []) for k in ("failed", "active", "next", "pending_decisions")}
        # a cut payload writes the failures after the first five grouped by error type
        out["failed"] = out["failed"] + [
            t for ids in data.get("more_failed", {}).values() for t in ids
        ]
        return out
    out = {}
    for section in (
        "execution_state",
        "critical_context",
        "dag_snapshot",
        "file_state",
        "environment",
    ):
        for key, value in data.get(section, {}).items():
            if isinstance(value, list):
                out[f"{section}.{key}"] = value
    if level == "full":
        out["environment.packages"] = list(data["environment"]["packages"])
    return out


def assert_accounted(generated) -> None:
    payload = generated.payload
    totals = expected_totals(generated)
    for path, items in _lists(payload.data, payload.level.value).items():
        cut = payload.omitted.get(path, 0)
        if path == "failed":
            cut += payload.omitted.get("more_failed", 0)
        assert len(items) + cut == totals[path], path
    for path, listed in DETAIL_OF.items():
        head, _, key = path.rpartition(".")
        container = payload.data.get(head, {}) if head else payload.data
        if key in container:
            assert len(container[key]) + payload.omitted.get(path, 0) <= totals[listed], path


def assert_within_budget(generated) -> None:
    payload = generated.payload
    counter = build_counter(payload.encoding)
    assert payload.text == serialize(payload.data)
    assert counter.count(payload.text) == payload.tokens <= payload.budget


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_example_fits_with_nothing_omitted(write_state, example_doc, level):
    generated = _generate(write_state, example_doc, level)
    assert_within_budget(generated)
    assert generated.payload.omitted == {}
    assert_accounted(generated)


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_2000_tasks_150_failed_30_running(write_state, level, encoding):
    doc = make_state(2000, failed=150, active=30, seed=7)
    generated = _generate(write_state, doc, level, encoding=encoding)
    assert_within_budget(generated)
    assert_accounted(generated)
    payload = generated.payload
    assert payload.tokens >= 0.9 * payload.budget  # the budget is used, not wasted
    # 150 failures never all fit with their errors: something is cut, and says so
    cut = ("failed", "more_failed", "critical_context.errors")
    assert sum(payload.omitted.get(path, 0) for path in cut) > 0
    # every v1 id list got a share, not only the first one
    lists = _lists(payload.data, level)
    for key in (
        ("failed", "active", "next")
        if level == "minimal"
        else (
            "execution_state.failed_tasks",
            "execution_state.active_tasks",
            "execution_state.next_eligible",
            "execution_state.blocked_tasks",
            "critical_context.user_decisions",
            "dag_snapshot.critical_path",
        )
    ):
        assert lists[key], key


def test_failures_blocking_most_come_first(write_state):
    doc = {
        "tasks": {
            "f1": {"status": "failed"},
            "f2": {"status": "failed"},
            "a": {"status": "pending", "dependencies": ["f2"]},
            "b": {"status": "pending", "dependencies": ["a"]},
        }
    }
    data = _generate(write_state, doc).payload.data
    assert data["execution_state"]["failed_tasks"] == ["f2", "f1"]
    assert data["execution_state"]["failures"]["f2"]["blocks"] == 2


def test_too_small_a_budget_says_what_the_smallest_needs(write_state, example_doc):
    with pytest.raises(HandoffFailed, match=r"smallest minimal payload needs (\d+) tokens"):
        _generate(write_state, example_doc, "minimal", budget=50)


def _smallest(write_state, doc, level: str) -> int:
    """The tokens the smallest payload of ``level`` needs (from the packer's own refusal;
    the id and times may tokenize a few tokens differently at another budget)."""
    with pytest.raises(HandoffFailed) as refused:
        _generate(write_state, doc, level, budget=20)
    return int(re.search(r"needs (\d+) tokens", str(refused.value)).group(1))


def test_auto_picks_the_richest_level_whose_payload_fits(write_state, example_doc):
    """Not the level whose default budget the budget reaches: a standard payload fits
    well below standard's default budget, and auto then packs standard, not minimal."""
    full, standard = (_smallest(write_state, example_doc, lvl) for lvl in ("full", "standard"))
    assert standard < full < CompressionLevel.STANDARD.default_budget
    for budget, level in (
        (full + 8, "full"),
        (full - 8, "standard"),
        (standard + 8, "standard"),
        (standard - 8, "minimal"),
    ):
        generated = _generate(write_state, example_doc, "auto", budget)
        assert generated.payload.level.value == level, budget
        assert generated.payload.tokens <= budget


def test_long_strings_are_shortened_with_a_marker_not_mid_character():
    text = "é" * 50 + "😀" * 200
    short = shorten(text, 100)
    assert len(short) <= 100 and short.endswith(f"…(+{len(text) - 84} chars)")
    assert short.encode("utf-8").decode("utf-8") == short
    assert shorten("tiny", 100) == "tiny"


def test_non_ascii_is_written_as_is(write_state):
    doc = {"tasks": {"a": {"status": "failed", "error": {"type": "E", "message": "データベース"}}}}
    payload = _generate(write_state, doc).payload
    assert "データベース" in payload.text and "\\u" not in payload.text
    assert payload.text.endswith("}\n") and payload.text.count("\n") == 1


def test_special_token_text_is_counted_as_text(write_state):
    doc = {"tasks": {"a": {"status": "failed", "name": "<|endoftext|> <|im_start|>"}}}
    payload = _generate(write_state, doc).payload
    assert "<|endoftext|>" in payload.text
    assert O200K.count(payload.text) == payload.tokens


def test_same_state_and_time_give_identical_bytes(write_state, example_doc):
    first = _generate(write_state, example_doc).payload.text
    second = _generate(write_state, example_doc).payload.text
    assert first == second


def test_handoff_ids_differ_within_one_second(write_state, example_doc):
    path = write_state(example_doc)
    ids = set()
    for micro in range(5):
        options = pipeline.GenerateOptions(state=path, now=NOW.replace(microsecond=micro))
        ids.add(pipeline.generate(options).payload.data["handoff_id"])
    assert len(ids) == 5


# --- properties over random states ---------------------------------------------

STATUSES = ["success", "failed", "running", "pending", "blocked", "skipped", "todo"]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@st.composite
def states(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 60))
    ids = [f"t{i}" for i in range(n)]
    tasks = {}
    for i, tid in enumerate(ids):
        deps = draw(st.lists(st.sampled_from(ids[:i] or ["t0"]), max_size=3)) if i else []
        task: dict[str, Any] = {
            "status": draw(st.sampled_from(STATUSES)),
            "dependencies": deps,
            "name": draw(text),
        }
        if task["status"] == "failed":
            task["error"] = {
                "type": draw(st.sampled_from(["E", "TimeoutError"])),
                "message": draw(text),
            }
        tasks[tid] = task
    errors = [
        {
            "task_id": draw(st.sampled_from(ids)),
            "error_type": "E",
            "message": draw(text),
            "attempted_fixes": draw(st.lists(text, max_size=5)),
        }
        for _ in range(draw(st.integers(0, 8)))
    ]
    decisions = [
        {
            "prompt": draw(text),
            "decision": {
                "choice": draw(st.sampled_from(["approved", "pending", "rejected"])),
                "decided_at": None,
            },
        }
        for _ in range(draw(st.integers(0, 6)))
    ]
    return {
        "metadata": {"project_name": draw(text)},
        "tasks": tasks,
        "error_tracking": {"errors": errors},
        "user_customizations": {"runtime_decisions": decisions},
        "environment_config": {
            "dependencies": {
                "python_packages": [
                    {"name": draw(text) or "p", "version": "1"}
                    for _ in range(draw(st.integers(0, 10)))
                ],
                "missing_dependencies": draw(st.lists(text, max_size=4)),
            }
        },
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    doc=states(),
    level=st.sampled_from(["minimal", "standard", "full"]),
    budget=st.integers(120, 2500),
)
def test_budget_holds_and_omitted_accounts_for_every_cut(write_state, doc, level, budget):
    try:
        generated = _generate(write_state, doc, level, budget)
    except HandoffFailed as exc:
        needed = int(exc.message.split("needs ")[1].split(" ")[0])
        assert needed > budget
        return
    assert_within_budget(generated)
    assert_accounted(generated)
    json.loads(generated.payload.text)


def test_names_that_restate_the_id():
    from context_handoff.layouts.view import restates as _restates

    assert _restates("Deploy to Kubernetes", "task_045_deploy_kubernetes")
    assert _restates("Render auth (step 695)", "task_0695_render_auth")
    assert not _restates("Setup Development Environment", "task_001_setup_env")
    assert not _restates("Deploy to Kubernetes", "t7")


def test_terse_form_only_under_pressure(write_state):
    doc = {
        "tasks": {
            f"task_{i:03d}_deploy_api": {"status": "running", "name": f"Deploy api {i}"}
            for i in range(60)
        }
    }
    roomy = _generate(write_state, doc, "standard", budget=4000).payload
    assert roomy.omitted == {}
    assert len(roomy.data["execution_state"]["names"]) == 60
    tight = _generate(write_state, doc, "standard", budget=600).payload
    assert tight.omitted["execution_state.active_tasks"] > 0
    assert tight.data["execution_state"]["names"] == {}  # names restate the ids: left out


def test_details_take_only_their_head_under_pressure(write_state):
    doc = make_state(400, seed=3)
    payload = _generate(write_state, doc, "standard", budget=700).payload
    execution = payload.data["execution_state"]
    assert execution["failed_tasks"] and execution["active_tasks"] and execution["next_eligible"]
    assert len(execution["failures"]) <= 2 and payload.omitted["execution_state.failures"] > 0


def test_slack_left_by_estimates_is_used(write_state):
    doc = make_state(1000, seed=1000)
    payload = _generate(write_state, doc, "standard").payload
    assert payload.tokens >= payload.budget - 40


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_every_string_from_the_state_can_be_shortened(write_state, level):
    long = "x" * 20_000
    tid = "task_" + "y" * 5_000
    doc = {
        "metadata": {"project_name": long},
        "context": {"current_phase": long, "active_tasks": [tid]},
        "tasks": {
            tid: {"name": long, "status": "failed", "error": {"type": long, "message": long}},
            "t2": {"name": long, "status": "pending", "dependencies": [tid]},
        },
        "dag": {"phases": {long: {"name": long, "tasks": [tid, "t2"]}}},
        "user_customizations": {
            "runtime_decisions": [{"prompt": long, "decision": {"choice": long}, "rationale": long}]
        },
        "filesystem_state": {
            "files": {long: {"exists": False, "required_by": [tid], "produced_by": tid}}
        },
        "environment_config": {
            "system_info": {"os": {"type": long, "version": long}, "architecture": long},
            "runtime_environment": {"python": {"version": long}},
            "dependencies": {
                "python_packages": [{"name": long, "version": long}],
                "missing_dependencies": [long],
            },
        },
    }
    payload = _generate(write_state, doc, level).payload
    assert payload.tokens <= payload.budget
    assert "x" * 1000 not in payload.text and "y" * 1000 not in payload.text


def test_long_ids_stay_distinct_when_cut(write_state):
    a, b = "x" * 90 + "_aaaaaaaaaaA", "x" * 90 + "_aaaaaaaaaaB"
    doc = {
        "tasks": {
            a: {
                "status": "failed",
                "name": "Alpha fails",
                "error": {"type": "E", "message": "one"},
            },
            b: {"status": "failed", "name": "Beta fails", "error": {"type": "E", "message": "two"}},
            "c": {"status": "pending", "dependencies": [a]},
            "d": {"status": "pending", "dependencies": [b]},
        }
    }
    for level in ("minimal", "standard", "full"):
        payload = _generate(write_state, doc, level).payload
        failed = (
            payload.data["failed"]
            if level == "minimal"
            else payload.data["execution_state"]["failed_tasks"]
        )
        assert len(set(failed)) == 2 and all(len(f) <= 100 + len(": E") for f in failed)
        if level != "minimal":
            assert len(payload.data["execution_state"]["failures"]) == 2


def _pack(sections: list[Any], budget: int) -> Any:
    from context_handoff.pack import Header, Layout, pack_sections

    header = Header("h", "t", CompressionLevel.MINIMAL, budget, "o200k_base", "d")
    skeleton = {"summary": {}, "failed": [], "more": {}}
    return pack_sections(Layout(skeleton, sections), header, build_counter())


def test_a_map_of_lists_writes_each_key_once_and_counts_its_items():
    from context_handoff.pack import Section

    kinds = ["TimeoutError", "ImportError", "TimeoutError", "TimeoutError", "ImportError"]
    ids = [f"task_{i:03d}" for i in range(len(kinds))]
    pairs = list(zip(kinds, ids, strict=True))
    grouped = Section("more", pairs, lambda p: p, 1, grouped=True)
    whole = _pack([grouped], 200)
    assert whole.data["more"] == {
        "TimeoutError": ["task_000", "task_002", "task_003"],
        "ImportError": ["task_001", "task_004"],
    }
    cut = _pack([grouped], whole.tokens - 6)
    kept = [t for group in cut.data["more"].values() for t in group]
    assert 0 < len(kept) < len(ids)
    assert sorted(kept) == ids[: len(kept)]  # a prefix, grouped by key
    assert cut.omitted["more"] == len(ids) - len(kept)
    assert cut.tokens <= whole.tokens - 6


def test_pinned_items_are_always_kept_and_a_follower_waits_for_its_leader():
    from context_handoff.pack import Section

    summary = [("phase", "p1"), ("progress", "5%"), ("project", "A long project name " * 3)]
    failed = [f"task_{i:03d}: TimeoutError" for i in range(6)]
    sections = [
        Section("failed", failed, lambda f: f, 1, head=1),
        Section(
            "more",
            [("E", f"task_9{i:02d}") for i in range(3)],
            lambda p: p,
            3,
            grouped=True,
            head=0,
            follows="failed",
        ),
        Section("summary", summary, lambda p: p, 1, keyed=True, head=0, pinned=2),
    ]
    tight = _pack(sections, 60)
    assert list(tight.data["summary"]) == ["phase", "progress"]  # never cut, never counted
    assert tight.omitted["summary"] == 1
    for budget in (60, 70, 80, 90):
        cut = _pack(sections, budget)
        assert len(cut.data["failed"]) < len(failed), budget
        assert cut.data["more"] == {}, budget  # nothing of it before its leader is whole
    roomy = _pack(sections, 400)
    assert roomy.omitted == {} and roomy.data["more"] == {"E": ["task_900", "task_901", "task_902"]}


@pytest.mark.parametrize("budget", [250, 300, 400, 500, 800])
def test_minimal_keeps_no_failure_while_one_blocking_more_is_cut(write_state, budget):
    doc = make_state(5000, seed=5)
    generated = _generate(write_state, doc, "minimal", budget=budget)
    data, facts = generated.payload.data, generated.facts
    ids = [e.rpartition(": ")[0] for e in data["failed"]]
    ids += [t for group in data.get("more_failed", {}).values() for t in group]
    kept = set(ids)
    reach = [facts.blocks_count.get(t, 0) for t in ids]
    cut = [
        facts.blocks_count.get(t.id, 0)
        for t in facts.state.tasks.values()
        if t.status == "failed" and t.id not in kept
    ]
    assert ids and cut and max(cut) <= min(reach)
