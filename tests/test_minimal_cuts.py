"""A minimal payload that cuts: how ``failed`` and ``more_failed`` share the failures,
which keys are left out, and how the reports, the resume check and ``more`` read it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from context_handoff import layouts, pipeline, render, report_view
from context_handoff.check_reply import check_reply
from context_handoff.errors import HandoffFailed
from context_handoff.layouts.view import terse
from context_handoff.model import CompressionLevel
from context_handoff.pack import Header, pack_sections
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter

from .test_mcp import _project, _text, _with_client

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orchestrator_state.example.json"


def _generate(write_state: Any, doc: Any, level: str, budget: int) -> pipeline.Generated:
    path = doc if isinstance(doc, Path) else write_state(doc)
    return pipeline.generate(
        pipeline.GenerateOptions(state=path, level=level, budget=budget, now=NOW)
    )


def _report(data: dict[str, Any], template: str) -> str:
    return render.render_report(render.ReportInput(data, 0), template).text


def _kinds(data: dict[str, Any]) -> set[str]:
    """The error types a minimal payload names (its ids here hold no ": ")."""
    kinds = {str(e).split(": ", 1)[1] for e in data.get("failed") or []}
    return kinds | set(data.get("more_failed") or {})


@pytest.mark.parametrize("template", sorted(render.BUILTIN_TEMPLATES))
@pytest.mark.parametrize(
    ("level", "budgets"),
    [
        ("minimal", (160, 200, 300, 500, 800)),
        ("standard", (700, 900, 1200, 2000)),
        ("full", (900, 1200, 2000, 4000)),
    ],
)
def test_every_template_renders_every_level_at_tight_budgets(write_state, template, level, budgets):
    path = write_state(make_state(2000, failed=150, active=30, seed=7))
    for budget in budgets:
        try:
            data = _generate(write_state, path, level, budget).payload.data
        except HandoffFailed:
            continue  # below the level's smallest payload: nothing to render
        text = _report(data, template)
        assert "Undefined" not in text and "No failed tasks." not in text, (level, budget)


def test_error_recovery_notes_the_failures_cut_into_more_failed(write_state):
    data = _generate(write_state, make_state(2000, failed=150, active=30, seed=7), "minimal", 775)
    assert data.payload.data.get("more_failed") or data.payload.omitted.get("more_failed")
    text = _report(data.payload.data, "error_recovery")
    assert "Showing" in text and "`more_failed`" in text
    data = _generate(write_state, make_state(2000, failed=150, active=30, seed=7), "minimal", 500)
    text = _report(data.payload.data, "error_recovery")
    assert not text.startswith("# Error recovery: ")  # the project name was cut


def test_failed_holds_every_failure_when_the_flat_form_fits_whole(write_state):
    data = _generate(write_state, make_state(60, failed=9, active=3, seed=3), "minimal", 600)
    payload = data.payload
    assert payload.omitted == {} and len(payload.data["failed"]) == 9
    assert "more_failed" not in payload.data


def _carried_failures(data: dict[str, Any]) -> int:
    more = data.get("more_failed") or {}
    return len(data.get("failed") or []) + sum(map(len, more.values()))


def test_more_failed_only_when_it_carries_more_failures(write_state):
    """Grouped only when it carries strictly more failures than the flat form and no
    fewer items overall: fewer items cut in all is not enough (it could trade failures
    for active ids)."""
    doc = make_state(2000, failed=150, active=30, seed=7)
    grouped_seen = flat_seen = False
    for budget in (200, 300, 350, 500, 800, 1500):
        generated = _generate(write_state, doc, "minimal", budget)
        payload = generated.payload
        meta = payload.data["meta"]
        header = Header(
            payload.data["handoff_id"],
            meta["generated_at"],
            CompressionLevel.MINIMAL,
            budget,
            meta["encoding"],
            meta["state_digest"],
        )
        forms = {}
        for form in (True, False):
            limits = terse(layouts.LIMITS_BY_LEVEL[CompressionLevel.MINIMAL])._replace(grouped=form)
            forms[form] = pack_sections(
                layouts.build_layout(generated.facts, header, limits), header, build_counter()
            )
        grouped_form, flat = forms[True], forms[False]
        expect_grouped = _carried_failures(grouped_form.data) > _carried_failures(
            flat.data
        ) and sum(grouped_form.omitted.values()) <= sum(flat.omitted.values())
        grouped = layouts.is_grouped(payload.data)
        grouped_seen |= grouped
        flat_seen |= not grouped
        assert grouped == expect_grouped, budget
        assert payload.data == (grouped_form if grouped else flat).data, budget
        assert _carried_failures(payload.data) >= _carried_failures(flat.data), budget
        if grouped:
            assert len(payload.data["failed"]) == 5, budget
    assert grouped_seen and flat_seen


def test_minimal_keeps_the_flat_failures_the_grouped_form_would_trade_away(write_state):
    doc = make_state(2000, failed=150, active=30, seed=7)
    for budget, kept in ((350, 7), (500, 13)):  # grouped: 5 and 12 failures
        data = _generate(write_state, doc, "minimal", budget).payload.data
        assert not layouts.is_grouped(data), budget
        assert len(data["failed"]) >= kept, budget


def test_more_pages_more_failed_by_ids_through_the_mcp_client(tmp_path):
    doc = make_state(2000, failed=150, active=30, seed=7)
    project = _project(tmp_path / "p", doc)
    args = {"level": "minimal", "budget": 800}

    async def body(client: Any) -> dict[str, Any]:
        tools = {t.name: t.description or "" for t in (await client.list_tools()).tools}
        payload = json.loads(_text(await client.call_tool("handoff", args)))
        held = sum(map(len, payload["more_failed"].values()))  # ids, as the tools say
        page = json.loads(
            _text(
                await client.call_tool(
                    "more", {**args, "section": "more_failed", "offset": held, "limit": 500}
                )
            )
        )
        return {"tools": tools, "payload": payload, "page": page}

    got = _with_client(project, body)
    for name in ("handoff", "more"):
        assert "not its keys" in got["tools"][name], name
    merged = got["payload"]["more_failed"]
    for item in got["page"]["items"]:  # append each id to its type's list, as documented
        ((kind, tid),) = item.items()
        merged.setdefault(kind, []).append(tid)
    ids = [t for group in merged.values() for t in group]
    ids += [e.split(": ")[0] for e in got["payload"]["failed"]]
    assert len(ids) == len(set(ids)) == 150 and got["page"]["remaining"] == 0


def test_check_reply_reads_more_failed():
    payload = {
        "summary": {"phase": "p1", "progress": "10%", "task": "a1"},
        "active": ["a1"],
        "failed": [f"f{i}: TimeoutError" for i in range(5)],
        "next": [],
        "more_failed": {"AssertionError": ["f5", "f6"]},
        "omitted": {},
    }
    verdict = check_reply(payload, "CONFIRMED - phase p1, resume a1, fix f0; f6 is done")
    assert not verdict.consistent
    assert any("f6" in p for p in verdict.problems)


def test_all_failures_cut_is_never_shown_as_none():
    payload = {
        "handoff_id": "h",
        "summary": {"phase": "p1", "progress": "10%", "task": None},
        "active": [],
        "failed": [],
        "next": [],
        "meta": {
            "level": "minimal",
            "encoding": "o200k_base",
            "budget": 150,
            "generated_at": "2025-01-15T15:00:00Z",
        },
        "omitted": {"failed": 150, "active": 30, "next": 51},
    }
    text = _report(payload, "minimal")
    assert "No failed tasks." not in text
    assert "150 failed tasks, none of them shown" in text
    assert "blocking errors: none" not in text and "next task: none" not in text
    assert "blocking errors: 150 failed, all cut" in text
    assert "next task: 81 active or ready, all cut" in text


def test_example_minimal_at_156_keeps_its_failure_and_no_empty_added_keys(write_state):
    payload = _generate(write_state, EXAMPLE, "minimal", 156).payload
    assert payload.data["failed"], payload.text
    for key in ("failures", "pending_decisions", "names", "more_failed", "missing_dependencies"):
        assert payload.data.get(key, [1]) not in ({}, []), key
    assert {"active", "failed", "next"} <= set(payload.data)  # v1 keys stay, empty or not


def _typed_failures(kinds: list[str]) -> dict[str, Any]:
    doc = make_state(60, failed=len(kinds), active=1, seed=3)
    failed = [tid for tid, t in doc["tasks"].items() if t["status"] == "failed"]
    for tid, kind in zip(failed, kinds, strict=True):
        doc["tasks"][tid]["error"]["type"] = kind
    return doc


def test_long_distinct_error_types_stay_distinct(write_state):
    base = "org.springframework.web.client.HttpClientErrorException$"
    doc = _typed_failures([base + "NotFound"] * 4 + [base + "Conflict"] * 4 + ["Error"] * 2)
    payload = _generate(write_state, doc, "minimal", 400).payload
    kinds = _kinds(payload.data)
    long_kinds = {k for k in kinds if k.startswith("org.")}
    assert len(long_kinds) == 2, kinds


def test_an_error_type_holding_a_colon_is_read_whole(write_state):
    doc = _typed_failures(["requests: HTTPError"])
    payload = _generate(write_state, doc, "minimal", 2000).payload
    (entry,) = payload.data["failed"]
    tid = entry.split(": ")[0]
    assert report_view.minimal_failed(payload.data) == [(tid, "requests: HTTPError")]
    report = _report(payload.data, "minimal")
    assert f"{tid}: requests \\| HTTPError" not in report and "requests: HTTPError" in report
    verdict = check_reply(payload.data, f"CONFIRMED - {tid} is done")
    assert any(tid in p and "failed" in p for p in verdict.problems), verdict.problems


def test_error_types_differing_in_white_space_are_one_type(write_state):
    doc = _typed_failures(["  Error", "Error ", "Error", "Error\tX"])
    for level, budget in (("minimal", 2000), ("standard", 4000)):
        payload = _generate(write_state, doc, level, budget).payload
        text = _report(payload.data, "standard")
        rows = [line for line in text.splitlines() if line.startswith("| Error |")]
        assert len(rows) <= 1, (level, rows)
        assert "  Error" not in payload.text and 'Error "' not in payload.text
