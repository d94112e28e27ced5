"""``more``: the pages after a payload's items give back exactly what the budget cut."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from context_handoff import layouts, pipeline
from context_handoff.errors import InputError
from context_handoff.model import CompressionLevel, Facts, Payload
from context_handoff.more import held_order, page_section, page_text, payload_items
from context_handoff.pack import Header, pack_sections
from context_handoff.session import HandoffSession, SessionOptions
from context_handoff.synthetic import make_state
from context_handoff.tokens import build_counter

STAMP = "2025-01-15T15:00:00+00:00"


def _project(root: Path, tasks: int, **kwargs: Any) -> Path:
    state = root / ".orchestrator_state.json"
    state.write_text(json.dumps(make_state(tasks, **kwargs)), encoding="utf-8")
    return state


def _page_all(
    session: HandoffSession, section: str, offset: int, **kwargs: Any
) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages = 0
    while True:
        page = session.more(section, offset, **kwargs)
        assert page.offset == offset
        items += page.items
        offset += len(page.items)
        pages += 1
        assert page.remaining >= 0
        if page.remaining == 0:
            return items, pages
        assert page.items, "a page with items still to come must make progress"


@pytest.mark.parametrize("level", ["standard", "minimal", "full"])
def test_pages_after_the_payload_give_back_exactly_what_was_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    _project(tmp_path, 2000)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736953200")
    session = HandoffSession(SessionOptions(root=tmp_path, level=level))
    payload = session.handoff().payload
    # the same bytes generate writes (same settings, same clock)
    written = pipeline.generate(
        pipeline.GenerateOptions(state=Path(".orchestrator_state.json"), level=level)
    ).payload.text
    assert payload.text == written
    assert payload.omitted, "a 2,000-task state must overflow a default budget"
    uncut = uncut_terse(session.handoff().facts, level, layouts.is_grouped(payload.data))
    for section, cut in payload.omitted.items():
        held = payload_items(payload.data, section)
        # the default offset is where the payload stops
        assert session.more(section).offset == len(held)
        items, _ = _page_all(session, section, len(held))
        assert len(items) == cut, section
        # none twice, none missing: held + pages is, item for item and in order, what
        # the packer puts in the same (terse) form of the payload when nothing is cut
        assert held_order(held + items) == payload_items(uncut.data, section), section


def uncut_terse(facts: Facts, level: str, grouped: bool = True) -> Payload:
    """The payload packed in the terse form (the one a cut payload uses; at minimal with
    its failures grouped or not, as that payload's) with room for everything: the
    packer's own output, not ``full_sections``."""
    limits = layouts.terse(layouts.LIMITS_BY_LEVEL[CompressionLevel(level)])
    header = Header("", "", CompressionLevel(level), 10_000_000, "", "")
    payload = pack_sections(
        layouts.build_layout(facts, header, limits._replace(grouped=grouped)),
        header,
        build_counter(),
    )
    assert not payload.omitted
    return payload


def test_each_page_fits_its_token_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, 2000)
    monkeypatch.chdir(tmp_path)
    session = HandoffSession(SessionOptions(root=tmp_path, page_tokens=300))
    counter = build_counter()
    payload = session.handoff().payload
    section = "execution_state.blocked_tasks"
    offset = len(payload_items(payload.data, section))
    items, pages = _page_all(session, section, offset)
    assert len(items) == payload.omitted[section]
    assert pages > 3
    page = session.more(section, offset)
    assert counter.count(page_text(page)) <= 300
    limited = session.more(section, offset, limit=2)
    assert len(limited.items) == 2 and limited.remaining == payload.omitted[section] - 2


def test_bad_page_requests_are_input_errors() -> None:
    counter = build_counter()
    items = {"next": ["a", "b"]}
    with pytest.raises(InputError, match="section 'nope' is not one this payload can page"):
        page_section(items, "nope", 0, None, 500, counter)
    with pytest.raises(InputError, match="offset must be 0 or more, not -1"):
        page_section(items, "next", -1, None, 500, counter)
    with pytest.raises(InputError, match="limit must be 1 or more"):
        page_section(items, "next", 0, 0, 500, counter)
    past = page_section(items, "next", 5, None, 500, counter)
    assert past.items == [] and past.remaining == 0
    with pytest.raises(InputError, match="alone is over the page limit"):
        page_section({"next": ["x" * 4000]}, "next", 0, None, 100, counter)


def test_paths_stay_inside_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _project(project, 20)
    (tmp_path / "outside.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(project)
    session = HandoffSession(SessionOptions(root=project))
    with pytest.raises(InputError, match=re.escape("since ../outside.json is outside the project")):
        session.handoff(since="../outside.json")
    with pytest.raises(InputError, match="outside the project folder"):
        HandoffSession(SessionOptions(root=project, state=tmp_path / "outside.json"))
    (project / "link.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(InputError, match=re.escape("since link.json is outside")):
        session.handoff(since="link.json")


def test_the_state_is_read_fresh_on_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _project(tmp_path, 30, seed=1)
    monkeypatch.chdir(tmp_path)
    session = HandoffSession(SessionOptions(root=tmp_path))
    first = session.task(next(iter(make_state(30, seed=1)["tasks"])))
    doc = make_state(30, seed=1)
    tid = next(iter(doc["tasks"]))
    doc["tasks"][tid]["status"] = "failed"
    doc["tasks"][tid]["error"] = {"type": "ValueError", "message": "boom"}
    state.write_text(json.dumps(doc), encoding="utf-8")
    second = session.task(tid)
    assert first["status"] != "failed" and second["status"] == "failed"
    assert second["error"]["message"] == "boom"


def _renamed_state(root: Path, seed: int) -> None:
    doc = make_state(80, seed=seed)
    pending = next(t for t in doc["tasks"].values() if t.get("status") == "pending")
    pending["name"] = "Use the staging key"
    (root / ".orchestrator_state.json").write_text(json.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize("seed", [7, 3])
def test_pages_after_the_payload_are_what_omitted_counts_at_every_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Whichever form the packer settled on (the terse one may fit whole after the
    generous one cut), the pages after the payload hold exactly what ``omitted`` counts:
    none at all when it is empty, and never an item the payload already holds."""
    _renamed_state(tmp_path, seed)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736953200")
    session = HandoffSession(SessionOptions(root=tmp_path))
    for level in ("minimal", "standard", "full"):
        for budget in range(500, 3100, 100):
            payload = session.handoff(level, budget).payload
            for section in session._entry(level, budget, None).items:
                held = payload_items(payload.data, section)
                items, _ = _page_all(session, section, len(held), level=level, budget=budget)
                where = (level, budget, section)
                assert len(items) == payload.omitted.get(section, 0), where
                assert not [item for item in items if item in held], where


def test_task_gives_the_states_own_status_word_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = make_state(20, seed=2)
    done = next(tid for tid, t in doc["tasks"].items() if t["status"] == "success")
    (tmp_path / ".orchestrator_state.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    info = HandoffSession(SessionOptions(root=tmp_path)).task(done)
    assert info["status"] == "done"
    # the orchestrator reader keeps no word of its own: none is made up
    assert "source_status" not in info
    (tmp_path / ".orchestrator_state.json").unlink()
    (tmp_path / ".taskmaster" / "tasks").mkdir(parents=True)
    (tmp_path / ".taskmaster" / "tasks" / "tasks.json").write_text(
        json.dumps(
            {"tasks": [{"id": 1, "title": "Ship it", "status": "review", "dependencies": []}]}
        ),
        encoding="utf-8",
    )
    info = HandoffSession(SessionOptions(root=tmp_path)).task("1")
    assert (info["status"], info["source_status"]) == ("running", "review")
