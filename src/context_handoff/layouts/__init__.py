"""What each level holds: every key of the v1 payloads, then what context-handoff adds.

One module per level (``minimal``, ``standard``, ``full``), the view of the facts
they share (``view``), and the ``changes`` every level may carry.

A payload keeps the key paths and JSON types of the original tool's v1 payloads, so
prompts, templates and validators written against v1 keep working (docs/payload.md
lists them). What context-handoff adds lives under new keys and never repeats a fact
the v1 keys already carry: ids sit in the v1 lists, and details are keyed by id.

Packing order, the same at every level (pack.py): first every section's head (its
first item, then each one's second, up to its ``head``; ``changes`` first), then tier
by tier:

1. the v1 id lists: failed (the failure blocking the most first, ``failure_types``
   giving the runs of one error type along them), active, the first ready tasks,
   pending decisions, the head of the critical path, the first blocked tasks, completed
   phases; names where ids do not say them;
2. the v1 detail lists: each failure's error (type and message), warnings, the first
   few changes of each kind, and the rest of the ready and blocked tasks;
3. the details: what was tried for each failure and what it blocks, past decisions,
   the phase table, files and packages.

So at no budget is a section empty while another carries more than its head (unless
the empty one's first item does not fit). ``full_sections`` gives every section's whole
ordered list: a payload keeps a prefix of each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import CompressionLevel, Facts, Payload
from ..pack import Header, Layout, pack_sections
from ..tokens import TokenCounter
from .changes import add_changes
from .full import full
from .minimal import minimal
from .standard import PAYLOAD_VERSION, standard
from .view import LIMITS_BY_LEVEL, Limits, View, short_id, shorten, terse

__all__ = [
    "LAYOUTS_BY_LEVEL",
    "LIMITS_BY_LEVEL",
    "PAYLOAD_VERSION",
    "Limits",
    "build_layout",
    "full_sections",
    "is_grouped",
    "pack_payload",
    "short_id",
    "shorten",
    "terse",
]

LAYOUTS_BY_LEVEL: dict[CompressionLevel, Callable[[View, Header], Layout]] = {
    CompressionLevel.MINIMAL: minimal,
    CompressionLevel.STANDARD: standard,
    CompressionLevel.FULL: full,
}


def pack_payload(facts: Facts, header: Header, counter: TokenCounter) -> Payload:
    """The richest payload for ``header.level`` whose text fits ``header.budget`` tokens.

    Packed first in the generous form; when that has to leave anything out, packed
    again in the terse form (names that only restate the id dropped, fewer detailed
    failures, shorter messages), which carries more items in the same budget. At the
    minimal level the terse form writes every failure in ``failed`` as v1 did, unless
    grouping those after the first five by error type (``more_failed``) carries
    strictly more failures at that budget (``failed`` and ``more_failed`` together)
    without carrying fewer items overall: fewer items cut in all sections is not
    enough, as grouping could win that by trading failures for other ids.
    """
    limits = LIMITS_BY_LEVEL[header.level]
    payload = pack_sections(build_layout(facts, header, limits), header, counter)
    if not payload.omitted:
        return payload
    grouped = pack_sections(build_layout(facts, header, terse(limits)), header, counter)
    if "more_failed" not in grouped.omitted and "more_failed" not in grouped.data:
        return grouped._replace(terse=True)  # nothing grouped: the same as the v1 form
    flat = pack_sections(
        build_layout(facts, header, terse(limits)._replace(grouped=False)), header, counter
    )
    better = (
        grouped if _failures(grouped) > _failures(flat) and _cut(grouped) <= _cut(flat) else flat
    )
    return better._replace(terse=True)


def _failures(payload: Payload) -> int:
    """How many failures a minimal payload carries: ``failed``'s and ``more_failed``'s."""
    more = payload.data.get("more_failed") or {}
    return len(payload.data.get("failed") or []) + sum(map(len, more.values()))


def _cut(payload: Payload) -> int:
    """How many items a payload left out (of the same candidates in either form)."""
    return sum(payload.omitted.values())


def is_grouped(data: dict[str, Any]) -> bool:
    """Whether a minimal payload was packed with ``more_failed`` (its key written, or all
    of its items cut)."""
    return "more_failed" in data or "more_failed" in (data.get("omitted") or {})


def full_sections(
    facts: Facts,
    level: CompressionLevel,
    *,
    terse_form: bool = True,
    grouped: bool = True,
) -> dict[str, list[Any]]:
    """Every section of ``level``'s payload, unbudgeted: section path (as ``omitted`` names
    it) -> all its items, in the order packing keeps them and in the payload's shape: a
    list's values; a map's entries one by one, each a one-entry object ``{key: value}``
    (what the payload's object holds, so merging them into it gives the uncut map).
    Whatever a payload keeps of a section is a prefix of this list, so the items
    ``omitted`` counts are ``items[len(kept):]``: the MCP server's ``more`` pages them.

    ``terse_form`` is the form the payload was packed in (``Payload.terse``): the terse
    one whenever the generous form had to cut, even if the terse one then fits whole;
    ``grouped`` whether its failures after the first five are in ``more_failed``
    (``is_grouped``).
    """
    limits = LIMITS_BY_LEVEL[level]
    header = Header("", "", level, 0, "", "")
    if terse_form:
        limits = terse(limits)._replace(grouped=grouped)
    layout = build_layout(facts, header, limits)
    return {
        s.path: [
            _entry(item) if s.keyed or s.grouped else item for item in map(s.to_json, s.candidates)
        ]
        for s in layout.sections
        if s.candidates
    }


def _entry(pair: tuple[str, Any]) -> dict[str, Any]:
    key, value = pair
    return {key: value}


def build_layout(facts: Facts, header: Header, limits: Limits) -> Layout:
    view = View(facts, limits)
    layout = LAYOUTS_BY_LEVEL[header.level](view, header)
    if facts.changes is not None:
        add_changes(layout, view, facts.changes)
    return layout
