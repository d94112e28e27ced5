"""The guide's Python API, used exactly as the guide's own pytest examples use it."""

from __future__ import annotations

import json
import shutil

import pytest

from context_handoff import CompressionLevel, ContextPayloadGenerator
from context_handoff.errors import HandoffError

from .conftest import EXAMPLE


@pytest.fixture
def example_state(tmp_path):
    """Create example state file"""
    state_file = tmp_path / ".orchestrator_state.json"
    shutil.copy(EXAMPLE, state_file)
    return str(state_file)


def test_minimal_context(example_state):
    """Test minimal context generation"""
    gen = ContextPayloadGenerator(example_state)
    context = gen.generate_context(CompressionLevel.MINIMAL)

    assert "summary" in context
    assert "active" in context
    assert "failed" in context
    assert "next" in context

    tokens = gen.get_token_count(context)
    assert tokens <= 500, f"Token count {tokens} exceeds minimal target"


def test_standard_context(example_state):
    """Test standard context generation"""
    gen = ContextPayloadGenerator(example_state)
    context = gen.generate_context(CompressionLevel.STANDARD)

    assert "version" in context
    assert "execution_state" in context
    assert "critical_context" in context
    assert "dag_snapshot" in context

    tokens = gen.get_token_count(context)
    assert tokens <= 1200, f"Token count {tokens} exceeds standard target"


def test_full_context(example_state):
    """Test full context generation"""
    gen = ContextPayloadGenerator(example_state)
    context = gen.generate_context(CompressionLevel.FULL)

    assert "file_state" in context
    assert "environment" in context

    tokens = gen.get_token_count(context)
    assert tokens <= 2000, f"Token count {tokens} exceeds full target"


def test_guide_style_level_lookup_and_save(example_state, tmp_path):
    gen = ContextPayloadGenerator(example_state)
    level_enum = getattr(CompressionLevel, "standard".upper())
    out = gen.save_context(tmp_path / "context_payload.json", level_enum)
    written = out.read_text(encoding="utf-8")
    assert gen.get_token_count(json.loads(written)) == gen.last.payload.tokens
    assert json.loads(written)["summary"]["progress"] == "53%"


def test_guide_summary_keys_feed_its_template_code(example_state):
    context = ContextPayloadGenerator(example_state).generate_context(CompressionLevel.STANDARD)
    summary = context["summary"]
    assert summary["project"] == "Docs Portal Migration"
    assert summary["current_phase"] == "p3_launch"
    assert (summary["tasks_complete"], summary["tasks_total"]) == (8, 15)
    assert summary["generated_at"].endswith("Z")
    assert context["handoff_id"]


def test_guide_catches_file_not_found(tmp_path):
    gen = ContextPayloadGenerator(str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError):
        gen.generate_context(CompressionLevel.STANDARD)
    with pytest.raises(HandoffError):
        gen.generate_context("standard")
