"""A value the payload cut is never shown as absent: no report says a section is empty
(no warnings, nothing in progress, ...) while the payload's ``omitted`` counts items it
cut there, and a failure whose type was cut is not grouped under an invented type."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from context_handoff import pipeline, render
from context_handoff.errors import HandoffFailed
from context_handoff.synthetic import make_state

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
TEMPLATES = Path(render.__file__).resolve().parent / "templates"

# each "empty" sentence the built-in templates print -> the omitted paths that say the
# section was cut, not empty (a path ending in "." is a prefix)
EMPTY = {
    "Nothing is in progress.": ("execution_state.active_tasks", "active"),
    "No task is ready.": ("execution_state.next_eligible", "next"),
    "No failed tasks.": ("execution_state.failed_tasks", "failed", "more_failed"),
    "No blocked tasks.": ("execution_state.blocked_tasks",),
    "No decisions recorded.": ("critical_context.user_decisions", "pending_decisions"),
    "No unfinished chain: every task is done.": ("dag_snapshot.critical_path",),
    "No warnings.": ("critical_context.warnings",),
    "Nothing changed.": ("changes.",),
    "Nothing was left out.": ("",),
}


def _empty_sentences() -> set[str]:
    found = set()
    for path in TEMPLATES.glob("*.md.j2"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"^((?:No|Nothing) [^{}\n]*\.)$", text, re.M))
        found |= set(re.findall(r'"((?:No|Nothing) [^"{}]*\.)"', text))
    return found


def test_the_empty_sentences_are_all_checked():
    assert _empty_sentences() == set(EMPTY)


def _cut(omitted: dict[str, int], paths: tuple[str, ...]) -> int:
    return sum(
        n
        for key, n in omitted.items()
        for path in paths
        if key == path or ((path.endswith(".") or not path) and key.startswith(path))
    )


def _payloads(write_state: Any) -> list[tuple[str, int, dict[str, Any]]]:
    path = write_state(make_state(2000, failed=150, active=30, seed=7))
    budgets = (160, 167, 200, 250, 300, 350, 400, 500, 600, 800, 1000, 1200, 1600)
    out = []
    for level in ("minimal", "standard", "full"):
        for budget in budgets:
            options = pipeline.GenerateOptions(state=path, level=level, budget=budget, now=NOW)
            try:
                out.append((level, budget, pipeline.generate(options).payload.data))
            except HandoffFailed:
                continue  # below the level's smallest payload
    return out


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: Any) -> list[tuple[str, int, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("states")

    def write_state(doc: Any) -> Path:
        path = folder / "state.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        return path

    return _payloads(write_state)


@pytest.mark.parametrize("template", sorted(render.BUILTIN_TEMPLATES))
def test_no_cut_section_is_shown_as_empty(payloads, template):
    seen_cut = set()
    for level, budget, data in payloads:
        omitted = data.get("omitted") or {}
        text = render.render_report(render.ReportInput(data, 0), template).text
        lines = set(text.splitlines())
        for sentence, paths in EMPTY.items():
            cut = _cut(omitted, paths)
            if cut:
                seen_cut.add(sentence)
            assert not (cut and sentence in lines), (level, budget, sentence, cut)
    assert {"No warnings.", "No blocked tasks.", "Nothing is in progress."} <= seen_cut


def test_a_failure_whose_type_was_cut_is_not_grouped_as_error(payloads):
    checked = 0
    for level, budget, data in payloads:
        omitted = data.get("omitted") or {}
        if level == "minimal" or not omitted.get("execution_state.failure_types"):
            continue
        if data["execution_state"].get("failure_types"):
            continue  # some runs kept
        for template in sorted(render.BUILTIN_TEMPLATES):
            text = render.render_report(render.ReportInput(data, 0), template).text
            if "by error type" not in text:
                continue
            checked += 1
            assert not re.search(r"^\| Error \| \d+ \|", text, re.M), (level, budget, template)
            assert "| type cut |" in text, (level, budget, template)
    assert checked


NOT_CARRIED = {  # what a minimal payload has no key for at all, and the macro showing it
    "No blocked tasks.": ("blocked_table", "does not carry the blocked tasks"),
    "No unfinished chain: every task is done.": ("critical_path", "does not carry the longest"),
    "No warnings.": ("warnings", "does not carry the warnings"),
}


@pytest.mark.parametrize("template", ["standard", "error_recovery", "multiday_resumption"])
def test_a_minimal_payload_read_by_a_fuller_template_says_what_it_does_not_carry(
    payloads, template
):
    """The state has 830 blocked tasks and warnings; a minimal payload carries neither:
    a template made for the other levels says so rather than "No blocked tasks."."""
    source = (TEMPLATES / f"{template}.md.j2").read_text(encoding="utf-8")
    checked = 0
    for level, budget, data in payloads:
        if level != "minimal":
            continue
        text = render.render_report(render.ReportInput(data, 0), template).text
        for sentence, (macro, instead) in NOT_CARRIED.items():
            if f"parts.{macro}()" not in source:
                continue
            assert sentence not in text.splitlines(), (budget, template, sentence)
            assert f"A minimal payload {instead}" in text, (budget, template, macro)
            checked += 1
    assert checked


def test_what_a_payload_does_not_carry_is_not_reported_as_absent(payloads):
    """A minimal payload has no other errors' key, a standard one no environment: the
    reports say they are not carried, not "No other errors recorded" or nothing."""
    checked = 0
    for level, budget, data in payloads:
        if level == "minimal":
            text = render.render_report(render.ReportInput(data, 0), "standard").text
            assert "No other errors recorded" not in text, budget
            assert "does not carry the errors of tasks that did not fail" in text, budget
            checked += 1
        if level == "standard":
            text = render.render_report(render.ReportInput(data, 0), "multiday_resumption").text
            environment = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
            assert "does not carry the environment" in environment, budget
            checked += 1
    assert checked
