"""benchmarks/agent.py runs, measures what it says, and renders its table."""

from __future__ import annotations

from benchmarks.agent import bench_agent, markdown


def test_the_agent_benchmark_measures_side_by_side() -> None:
    result = bench_agent(quick=True)
    assert result["tasks"] == 400 and result["rounds"] == 5
    for key in ("generate_s", "handoff_s", "more_s", "hook_s"):
        assert result[key] > 0
    assert result["handoff_to_generate"] == round(result["handoff_s"] / result["generate_s"], 2)
    assert result["hook_s"] < result["hook_timeout_s"]
    table = markdown(result, "python -m benchmarks.agent --quick")
    assert "| MCP `more`, one page |" in table and "All targets met:" in table
