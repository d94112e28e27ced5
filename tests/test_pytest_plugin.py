"""The pytest plugin, used as a user's test file would use it."""

from __future__ import annotations

pytest_plugins = ["pytester"]

USER_TESTS = """
from context_handoff import CompressionLevel, ContextPayloadGenerator
from context_handoff.testing import assert_handoff_within_budget


def test_handoff_fits(handoff_state):
    state = handoff_state(tasks=300, failed=20, active=5)
    gen = ContextPayloadGenerator(state)
    context = gen.generate_context(CompressionLevel.STANDARD)
    assert len(context["execution_state"]["failed_tasks"]) + context["omitted"].get(
        "execution_state.failed_tasks", 0) == 20
    assert assert_handoff_within_budget(context, "standard") <= 1200


def test_over_budget_is_explained(handoff_state, tmp_path):
    gen = ContextPayloadGenerator(handoff_state(tasks=300), budget=1200)
    out = gen.save_context(tmp_path / "p.json", "standard")
    assert_handoff_within_budget(out, "standard", budget=300)
"""


def test_plugin_fixture_and_assertion(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*standard handoff is * o200k_base tokens, over the budget of 300 by *; "
            "biggest sections: critical_context *"
        ]
    )


def test_the_plugin_loads_nothing_heavy_until_used():
    """pytest loads the plugin into every run where the package is installed."""
    import subprocess
    import sys

    code = (
        "import sys, context_handoff.testing; "
        "print(sorted({'tiktoken', 'jinja2', 'fastjsonschema', 'jsonschema', 'requests', "
        "'yaml'} & set(sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
