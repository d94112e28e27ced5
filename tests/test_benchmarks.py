"""The benchmark harness runs and its scoring can tell good payloads from bad ones."""

from __future__ import annotations

import json

from benchmarks import baselines, fidelity
from benchmarks.run import render_markdown, run

from context_handoff import pipeline
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter


def test_generator_is_seeded_and_valid(tmp_path):
    assert make_state(200, seed=3) == make_state(200, seed=3)
    assert make_state(200, seed=3) != make_state(200, seed=4)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(make_state(500, failed=40, active=10)))
    state = pipeline.read_state(path)
    statuses = [t.status for t in state.tasks.values()]
    assert statuses.count("failed") == 40 and statuses.count("running") == 10


def test_fidelity_scores_what_is_in_the_text(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(make_state(300, seed=1)))
    generated = pipeline.generate(pipeline.GenerateOptions(state=path))
    facts = fidelity.critical_facts(generated.facts)
    full = fidelity.score(json.dumps(generated.facts.state._asdict(), default=str), facts, 1)
    empty = fidelity.score("{}", facts, 1)
    assert empty.weighted_recall == 0 and empty.missing_accounted == 0.0
    assert full.weighted_recall > empty.weighted_recall
    ours = fidelity.score(generated.payload.text, facts, generated.payload.tokens,
                          generated.payload.omitted)
    assert ours.missing_accounted == 1.0


def test_baselines(tmp_path):
    doc = make_state(300, seed=2)
    counter = build_counter("o200k_base")
    assert counter.count(baselines.whole_state_cut(doc, 500, counter)) <= 500
    original = json.loads(baselines.original_strategy(doc, "minimal"))
    assert len(original["next"]) <= 3


def test_quick_run_reports_every_size_within_budget(monkeypatch):
    monkeypatch.setattr("benchmarks.run.QUICK_SIZES", (15, 169))
    monkeypatch.setattr("benchmarks.run.FIDELITY_SIZE", 169)
    results = run(quick=True)
    for entry in results["sizes"].values():
        assert all(level["within_budget"] for level in entry["levels"].values())
    assert "fidelity" in results and results["example_process"]["ratio_to_floor"] > 0
    assert "| 169 |" in render_markdown(results)
