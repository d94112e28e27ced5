"""The benchmark harness runs and its scoring can tell good payloads from bad ones."""

from __future__ import annotations

import json

from benchmarks import baselines, fidelity
from benchmarks.run import render_markdown, run, run_scale

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
    ours = fidelity.score(
        generated.payload.text, facts, generated.payload.tokens, generated.payload.omitted
    )
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
    assert "fidelity" in results
    assert "| 169 |" in render_markdown(results)
    # the equal-token comparison with the original, and all probes at 1,200 on 400 tasks
    for rows in results["probes"].values():
        for level in ("standard", "full"):
            row = rows[level]
            assert row["ours_at_original_tokens"]["share"] >= row["original"]["share"], level
            assert abs(row["ours_at_original_tokens"]["tokens"] - row["original"]["tokens"]) < 20
            own = row["own"]
            assert own["ours_at_original_tokens"]["share"] >= own["original"]["share"], level
    assert results["probes"]["400 tasks"]["standard"]["ours_at_budget"]["share"] == 1.0
    assert results["changes"]["omitted"] == {} and results["changes"]["kept"]["newly_failed"]
    assert "## Resume probes" in render_markdown(results)


def test_the_formats_benchmark_writes_each_format_it_times(tmp_path):
    """Each generated file is read as its own format, with every task in it."""
    from benchmarks import formats as format_bench

    for name, writer in format_bench.WRITERS.items():
        folder = tmp_path / name
        folder.mkdir()
        state = pipeline.read_state(writer(folder, 120))
        assert state.format == name
        assert len(state.tasks) >= 120
    text = format_bench.render_markdown(format_bench.run(60))
    assert all(f"| {name} |" in text for name in format_bench.WRITERS)


def test_scale_run_measures_again_and_keeps_the_rest(monkeypatch):
    monkeypatch.setattr("benchmarks.run.SIZES", (15,))
    monkeypatch.setattr("benchmarks.run.PAIRED_SIZE", 15)
    previous = {
        "command": "python -m benchmarks.run",
        "date": "earlier",
        "sizes": {},
        "machine": {"cpu": "x", "cores": 2, "python": "3", "tiktoken": "0", "context_handoff": "1"},
    }
    results = run_scale(previous)
    entry = results["sizes"]["15"]
    assert entry["process_standard"]["cpu_seconds"] > 0
    assert results["paired_20000"]["ratio"] > 0 and results["date"] == "earlier"
    text = render_markdown(results)
    assert "measured again with `python -m benchmarks.run --scale`" in text
    assert "load average" in text and "| 15 |" in text
