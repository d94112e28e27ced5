"""Golden payloads and reports: each case folder's state, at every level, byte for byte.

The expected files are pretty-printed so a diff reads well; the payload written is the
compact form of the same JSON. Regenerate after an intended change with
``UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and read the diff before committing it;
read the reports rendered, too (``markdown-it expected_standard.md`` prints the HTML).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from context_handoff import pipeline, render

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())
NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_payload(case: Path, level: str) -> None:
    options = pipeline.GenerateOptions(state=case / "state.json", level=level, now=NOW)
    text = pipeline.generate(options).payload.text.replace(
        pipeline.read_state(case / "state.json").source.digest, "<digest>"
    )
    pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    expected = case / f"expected_{level}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(pretty, encoding="utf-8")
    assert pretty == expected.read_text(encoding="utf-8")
    assert text == pipeline.pack.serialize(json.loads(pretty))


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_report(case: Path, level: str) -> None:
    """The level's own report, as a person reads it (the Markdown, byte for byte)."""
    options = pipeline.GenerateOptions(state=case / "state.json", level=level, now=NOW)
    payload = pipeline.generate(options).payload
    text = render.render_report(pipeline.report_input_of(payload)).text.replace(
        pipeline.read_state(case / "state.json").source.digest, "<digest>"
    )
    expected = case / f"expected_{level}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")
    assert "\n\n\n" not in text  # no run of blank lines
