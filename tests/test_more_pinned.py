"""``more`` with the payload's ``handoff_id`` pages exactly that payload, wherever and
whenever it was made: the hook's payload comes from one process, its ``more`` calls go
to another, and a payload made at another moment may be packed in another form."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from context_handoff import layouts, pipeline
from context_handoff.errors import InputError
from context_handoff.hooks import more_calls
from context_handoff.more import payload_items
from context_handoff.session import HandoffSession, SessionOptions
from context_handoff.synthetic import make_state

SETTINGS: dict[str, Any] = {"level": "minimal", "budget": 500}


def _made_elsewhere(state: Path) -> tuple[int, dict[bool, dict[str, Any]]]:
    """A budget, and payloads of ``state`` at it made at different moments, one in each
    form (grouped ``more_failed`` or flat ``failed``), as another process made them: the
    state's age and the handoff id change with the moment, and with them the packing."""
    start = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
    for budget in range(650, 900, 25):
        found: dict[bool, dict[str, Any]] = {}
        for step in range(16):
            now = start + timedelta(days=37 * step, seconds=977 * step, microseconds=12345 * step)
            options = pipeline.GenerateOptions(state=state, level="minimal", budget=budget, now=now)
            data = pipeline.generate(options).payload.data
            found.setdefault(layouts.is_grouped(data), data)
            if len(found) == 2:
                return budget, found
    pytest.fail("no budget whose form depends on the moment")


def _failures_after_paging(session: HandoffSession, data: dict[str, Any], budget: int) -> list[str]:
    """Every failure id the payload holds, then those ``more`` gives for each section the
    payload cut, with the offsets and handoff_id the hook's more calls name."""
    ids = [entry.split(": ")[0] for entry in data["failed"]]
    ids += [tid for group in data.get("more_failed", {}).values() for tid in group]
    for section in ("failed", "more_failed"):
        if section not in data["omitted"]:
            continue
        page = session.more(
            section,
            len(payload_items(data, section)),
            10_000,
            handoff_id=data["handoff_id"],
            level="minimal",
            budget=budget,
        )
        assert page.remaining == 0
        for item in page.items:
            ids.append(item.split(": ")[0] if isinstance(item, str) else next(iter(item.values())))
    return ids


def test_more_pages_the_payload_held_in_either_form(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(make_state(2000, failed=150, active=30, seed=7)))
    budget, payloads = _made_elsewhere(state)
    for grouped, data in payloads.items():
        session = HandoffSession(SessionOptions(root=tmp_path, state=Path("state.json")))
        session.handoff("minimal", budget)  # its own, of this moment
        ids = _failures_after_paging(session, data, budget)
        assert len(ids) == len(set(ids)) == 150, grouped


def test_the_hooks_more_calls_name_the_handoff_id(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(make_state(2000, failed=150, active=30, seed=7)))
    payload = pipeline.generate(pipeline.GenerateOptions(state=state, **SETTINGS)).payload
    assert f'handoff_id "{payload.data["handoff_id"]}"' in more_calls(payload, "minimal", None)


def test_a_handoff_id_of_another_state_or_settings_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(make_state(200, failed=20, seed=3)))
    data = pipeline.generate(pipeline.GenerateOptions(state=state, **SETTINGS)).payload.data
    session = HandoffSession(SessionOptions(root=tmp_path, state=Path("state.json")))
    with pytest.raises(InputError, match="not this state's handoff at level minimal, budget 400"):
        session.more("failed", 0, handoff_id=data["handoff_id"], level="minimal", budget=400)
    with pytest.raises(InputError, match="is not a handoff id"):
        session.more("failed", 0, handoff_id="yesterday", **SETTINGS)
    state.write_text(json.dumps(make_state(200, failed=21, seed=3)))
    with pytest.raises(InputError, match="the state changed since it was made"):
        session.more("failed", 0, handoff_id=data["handoff_id"], **SETTINGS)


def test_paging_a_pinned_payload_makes_it_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(make_state(2000, failed=150, active=30, seed=7)))
    made = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)
    options = pipeline.GenerateOptions(state=state, level="minimal", budget=500, now=made)
    data = pipeline.generate(options).payload.data
    session = HandoffSession(SessionOptions(root=tmp_path, state=Path("state.json")))
    calls = []
    generate = pipeline.generate
    monkeypatch.setattr(pipeline, "generate", lambda o: calls.append(o) or generate(o))
    offset = len(payload_items(data, "failed"))
    for _ in range(3):
        page = session.more(
            "failed", offset, 5, level="minimal", budget=500, handoff_id=data["handoff_id"]
        )
        offset += len(page.items)
    assert len(calls) == 1 and page.remaining == data["omitted"]["failed"] - 15
