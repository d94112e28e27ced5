"""Helpers for testing an orchestrator's handoffs (also loaded as a pytest plugin).

def test_my_orchestrator_hands_off(handoff_state):
    state = handoff_state(tasks=300, failed=20, active=5)
    context = ContextPayloadGenerator(state).generate_context(CompressionLevel.STANDARD)
    assert_handoff_within_budget(context, "standard")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Loaded as a plugin into every pytest run where the package is installed: what the
# helpers need (the tokenizer, the packer) is imported when they are used, not here.
from .model import CompressionLevel


def assert_handoff_within_budget(
    context_or_path: dict[str, Any] | str | Path,
    level: CompressionLevel | str,
    budget: int | None = None,
    encoding: str | None = None,
) -> int:
    """Fail with tokens, budget and the costliest sections when a payload is over budget.

    Returns the payload's exact token count.
    """
    from .pack import section_tokens, serialize
    from .tokens import DEFAULT_ENCODING, build_counter

    if isinstance(context_or_path, dict):
        context = context_or_path
        text = serialize(context)
    else:
        text = Path(context_or_path).read_text(encoding="utf-8")
        context = json.loads(text)
    level = CompressionLevel(level.value if isinstance(level, CompressionLevel) else level)
    meta = context.get("meta") or {}
    encoding = encoding or meta.get("encoding") or DEFAULT_ENCODING
    budget = budget if budget is not None else level.default_budget
    counter = build_counter(encoding)
    tokens = counter.count(text)
    if tokens > budget:
        costs = sorted(
            ((cost, key) for key, cost in section_tokens(context, counter).items()), reverse=True
        )
        biggest = ", ".join(f"{key} {cost}" for cost, key in costs[:3])
        pytest.fail(
            f"{level.value} handoff is {tokens} {encoding} tokens, over the budget of "
            f"{budget} by {tokens - budget}; biggest sections: {biggest}",
            pytrace=False,
        )
    return tokens


@pytest.fixture
def handoff_state(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``handoff_state(tasks=300, failed=20, active=5, seed=0) -> Path``.

    Writes a valid, realistic orchestrator state into ``tmp_path`` and returns its path.
    """
    count = 0

    def make(tasks: int = 300, **options: Any) -> Path:
        from .synthetic import make_state

        nonlocal count
        count += 1
        path = tmp_path / f"orchestrator_state_{count}.json"
        path.write_text(
            json.dumps(make_state(tasks, **options), ensure_ascii=False), encoding="utf-8"
        )
        return path

    return make
