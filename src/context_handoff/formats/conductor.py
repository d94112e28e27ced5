"""Conductor's ``conductor/`` folder (the Gemini CLI extension gemini-cli-extensions/
conductor: commands/conductor/newTrack.toml and implement.toml).

``tracks.md`` lists the tracks, each a section with ``[ ]`` (new), ``[~]`` (in
progress) or ``[x]`` (done) before ``Track: <description>`` and a link to its folder
``tracks/<track_id>/``. Each folder holds ``plan.md``, phases (``## Phase 1: ...``) of
checklist tasks (``- [ ] Task: ...``, sub-steps nested under them) with the same three
boxes, and ``metadata.json`` (``track_id``, ``status``, ``description``, times).

Conductor implements the first track that is not done, its plan's tasks one after the
other: the next task is the first open one of that track, once the task before it is
done. The tasks have no ids: each gets its track's id (``metadata.json``'s
``track_id``, else its folder under ``tracks/``; none for a plan.md read alone) and a
digest of its text and its parent's id (``auth_20250101/9f1c2a``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import Problem
from ..load import FolderDocument
from ..markdown import MarkdownDocument
from ..model import Phase, Source, State, Task
from . import tasklist
from .base import MAYBE, NO, SURE, ReadOptions

name = "conductor"
label = "a Conductor folder"
telltale = "tracks/<id>/plan.md with `- [ ] Task:` lines"  # what detect() is sure by
REGISTRY = "tracks.md"
_TRACK = re.compile(r"\[([ xX~])\]\s*\**\s*Track:\s*(.*?)\s*\**\s*$")
_LINK = re.compile(r"tracks/([^/\s\)\]]+)/")
_PLAN = re.compile(r"(?:.*/)?tracks/([^/]+)/plan\.md")
_TRACK_FILES = frozenset({"plan.md", "metadata.json"})  # a track's own folder
_NOISE = re.compile(r"<!--.*?-->|\s*\[[0-9a-f]{7,40}\]\s*$")


class _Track(NamedTuple):
    track_id: str
    title: str
    word: str  # the registry's box, or metadata.json's status


def detect(document: Any) -> int:
    if isinstance(document, MarkdownDocument):  # one plan.md
        boxes = document.checkboxes[:50]
        tasks = sum(1 for item in boxes if item.text.startswith("Task:"))
        return SURE if boxes and tasks * 2 >= len(boxes) else NO
    if not isinstance(document, FolderDocument):
        return NO
    plans = [path for path in document.files if _PLAN.fullmatch(path)]
    if (plans and REGISTRY in document.files) or document.files.keys() >= _TRACK_FILES:
        return SURE
    return MAYBE if plans or REGISTRY in document.files else NO


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    if isinstance(document, MarkdownDocument):
        return [] if document.checkboxes else tasklist.no_checklist(source, document, "")
    if not isinstance(document, FolderDocument):
        return [
            Problem(
                source,
                "$",
                "Conductor keeps its tracks in a folder: name the "
                "conductor/ folder, a track's folder or its plan.md with --state",
            )
        ]
    if not _plans(document):
        return [
            Problem(
                source,
                "$",
                "no tracks/<track_id>/plan.md in this folder; Conductor writes one for each track",
            )
        ]
    return []


def to_state(
    document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
) -> State:
    tasks: dict[str, Task] = {}
    phases: list[Phase] = []
    warnings: list[str] = []
    next_order: tuple[str, ...] | None = None
    for track, plan in _tracks_and_plans(document, source):
        found, found_phases, ready = _plan(track, plan, redact, warnings)
        tasks.update(found)
        phases += found_phases
        if next_order is None and track.word not in ("[x]", "[X]", "completed"):
            next_order = ready  # Conductor works on the first track that is not done
    times = (
        [_updated(document, track_id) for track_id in _plans(document)]
        if isinstance(document, FolderDocument)
        else []
    )
    return tasklist.build_state(
        tasklist.Parts(
            tasks,
            tuple(phases),
            next_order or (),
            project=None,
            last_updated=max((t for t in times if t is not None), default=None),
            warnings=tuple(warnings),
        ),
        source,
        name,
    )


def _tracks_and_plans(document: Any, source: Source) -> list[tuple[_Track, MarkdownDocument]]:
    """Each track to read with its parsed plan: a plan.md alone is one track without an
    id (its ids then need no folder name: a copy elsewhere has the same ones)."""
    if isinstance(document, MarkdownDocument):
        return [
            (
                _Track("", _heading(document) or Path(source.name).parent.name or "plan", ""),
                document,
            )
        ]
    found = []
    plans = _plans(document)
    for track in _tracks(document):
        plan = document.parse(plans[track.track_id])
        if isinstance(plan, MarkdownDocument):
            found.append((track, plan))
    return found


def _heading(plan: MarkdownDocument) -> str | None:
    """The plan's own title (``# Implementation Plan: Search``), if it has one."""
    headings = next((item.headings for item in plan.items if item.headings), ())
    return headings[0] if headings else None


def _plans(document: FolderDocument) -> dict[str, str]:
    """track id -> its plan's path; a track's own folder is the one track it holds."""
    plans = {m.group(1): path for path in document.files if (m := _PLAN.fullmatch(path))}
    if not plans and document.files.keys() >= _TRACK_FILES:
        # a track's own folder: its id is metadata.json's, not the folder's name (a copy
        # elsewhere keeps its ids)
        try:
            meta = json.loads(document.files["metadata.json"])
        except ValueError:
            meta = None
        track_id = meta.get("track_id") if isinstance(meta, dict) else None
        plans[track_id if isinstance(track_id, str) and track_id else "track"] = "plan.md"
    return plans


def _tracks(document: FolderDocument) -> list[_Track]:
    """The tracks in the registry's order; without a registry, the plans' folders."""
    plans = _plans(document)
    listed: list[_Track] = []
    if REGISTRY in document.files:
        title, word = None, ""
        for line in document.files[REGISTRY].splitlines():
            found = _TRACK.search(line)
            if found:
                title, word = found.group(2), f"[{found.group(1)}]"
            link = _LINK.search(line)
            if title is not None and link and link.group(1) in plans:
                listed.append(_Track(link.group(1), title, word))
                title = None
    seen = {track.track_id for track in listed}
    listed += [
        _Track(
            tid,
            _metadata(document, tid).get("description") or tid,
            str(_metadata(document, tid).get("status") or ""),
        )
        for tid in sorted(plans)
        if tid not in seen
    ]
    return listed


def _metadata(document: FolderDocument, track_id: str) -> dict[str, Any]:
    plan = _plans(document)[track_id]
    text = document.files.get(plan[: -len("plan.md")] + "metadata.json")
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _updated(document: FolderDocument, track_id: str) -> Any:
    meta = _metadata(document, track_id)
    return tasklist.parse_time(meta.get("updated_at") or meta.get("created_at"))


def _plan(
    track: _Track, plan: MarkdownDocument, redact: Callable[[Any], Any], warnings: list[str]
) -> tuple[dict[str, Task], list[Phase], tuple[str, ...]]:
    items = tasklist.redact_items(plan.items, redact)
    tasks: dict[str, Task] = {}
    children: dict[str, list[str]] = {}
    ids: dict[int, str] = {}
    phase_of: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    prefix = f"{track.track_id}/" if track.track_id else ""
    for index, item in enumerate(items):
        if item.mark is None:
            continue
        parent = ids.get(item.parent) if item.parent is not None else None
        heading = item.headings[-1] if item.headings else "Plan"
        text = _NOISE.sub("", item.text).strip()
        tid = tasklist.text_id(prefix, parent, text, seen)
        status, word = tasklist.box_status(item)
        tasks[tid] = tasklist.make_task(tid, _name(text), status, word, parent=parent)
        ids[index] = tid
        phase_of.setdefault(heading, []).append(tid)
        if parent is not None:
            children.setdefault(parent, []).append(tid)
    ready = tasklist.in_sequence(tasks, children)
    phases = [
        Phase(f"{prefix}{i}", f"{redact([track.title])[0]}: {title}", tuple(ids_), None)
        for i, (title, ids_) in enumerate(phase_of.items(), 1)
    ]
    return tasks, phases, ready


def _name(text: str) -> str:
    return text[len("Task:") :].strip() if text.startswith("Task:") else text
