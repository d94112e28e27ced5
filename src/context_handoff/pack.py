"""Stage 5: a level's layout + budget + a token counter -> a Payload within budget.

A layout (the layouts package) gives the payload's skeleton (summary, meta and every list
empty) and its sections: the lists and maps to fill, each with its candidates in
the order they should be kept (a section's first few may be pinned: a map's required
keys, always kept, counted with the skeleton). The skeleton, with ``omitted`` counting everything,
is counted exactly first: if even that exceeds the budget the handoff fails and says
what the smallest payload needs. Every section first gets its head (its first item,
then every section's second, up to each one's ``head``), so no section is starved by
a long one before it; the rest is then filled tier by tier (the v1 id
lists first, then the v1 detail lists, then what context-handoff adds), by weighted
rounds within a tier, each item's cost counted once on its own; a section may take
only its first few items in an early tier and the rest in a later one. Each section
keeps a prefix of its candidates, so ``omitted[path]`` is exactly how many were left
out. The whole text is then counted exactly; if boundary effects pushed it over, the
last items added are taken back until it fits. The file written never exceeds the
budget.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .errors import HandoffFailed
from .jsontext import compact_json
from .model import CompressionLevel, Payload
from .tokens import TokenCounter

_MAX_PASSES = 6
_STAMP_MARGIN = 8  # tokens: how much the id and times of two runs can differ, and more


class Header(NamedTuple):
    """What identifies a payload, fixed before packing."""

    handoff_id: str
    generated_at: str
    level: CompressionLevel
    budget: int
    encoding: str
    state_digest: str


class Section(NamedTuple):
    """One list (or map) of the payload, filled with a prefix of its candidates."""

    path: str  # dotted path in the payload
    candidates: Sequence[Any]  # in the order they should be kept
    to_json: Callable[[Any], Any]  # candidate -> JSON value; called only for those considered
    weight: float  # items a round; below 1, an item every few rounds
    tier: int = 1  # the first tier it takes part in; it stays in every later one
    caps: Mapping[int, int] = {}  # tier -> most items kept by the end of that tier
    keyed: bool = False  # to_json gives (key, value) pairs, written as a JSON object
    # to_json gives (key, value) pairs, written as a JSON object of lists: each key once,
    # its values in the order kept (``{"TimeoutError": ["t1", "t4"], ...}``)
    grouped: bool = False
    head: int = 1  # items taken in the heads rounds, before any section's tail
    # the first items are the skeleton's own (a map's required keys): always kept, never
    # counted in ``omitted``; ``head`` and ``caps`` count the items after them
    pinned: int = 0
    # an earlier section it continues: it takes items only once that one holds all of its own
    follows: str | None = None
    # a top-level key written only once it holds an item: its first item pays for the key
    optional: bool = False


class Layout(NamedTuple):
    skeleton: dict[str, Any]
    sections: list[Section]


def serialize(data: dict[str, Any]) -> str:
    """The exact text written for a payload: compact JSON, UTF-8 as is, one newline."""
    return compact_json(data) + "\n"


def section_tokens(data: Mapping[str, Any], counter: TokenCounter) -> dict[str, int]:
    """Top-level key -> the tokens of that part of the payload alone."""
    return {key: counter.count(serialize({key: value})) for key, value in data.items()}


def pack_sections(layout: Layout, header: Header, counter: TokenCounter) -> Payload:
    """The payload holding as much of ``layout`` as ``header.budget`` tokens allow."""
    packer = _Packer(
        layout.skeleton, [s for s in layout.sections if s.candidates], counter, header.budget
    )
    text, tokens = packer.run(header.level)
    data = packer.assemble()
    return Payload(
        level=header.level,
        data=data,
        text=text,
        tokens=tokens,
        budget=header.budget,
        encoding=header.encoding,
        omitted=dict(data["omitted"]),
        section_tokens=section_tokens(data, counter),
    )


class _Packer:
    def __init__(
        self,
        skeleton: dict[str, Any],
        sections: list[Section],
        counter: TokenCounter,
        budget: int,
    ) -> None:
        self.skeleton = skeleton
        self.sections = sections
        self.counter = counter
        self.budget = budget
        self.items: dict[str, list[Any]] = {
            s.path: [s.to_json(c) for c in s.candidates[: s.pinned]] for s in sections
        }
        # a pinned item costs nothing more: the skeleton's count already holds it
        self.costs: dict[str, list[int]] = {s.path: [0] * s.pinned for s in sections}
        # Sections whose items were taken back by _trim stay closed; a section that only
        # ran out of room may take more in the next pass, once the exact count shows slack.
        self.closed: set[str] = set()
        self.by_path = {s.path: s for s in sections}
        self.added: list[str] = []  # section paths, in the order items were added
        # grouped sections: whether each item is the first of its key (it then pays for
        # the key too); kept items are a prefix, so that is fixed per index
        self.opens: dict[str, list[bool]] = {s.path: [] for s in sections if s.grouped}
        self.keys_seen: dict[str, set[Any]] = {s.path: set() for s in sections if s.grouped}

    def run(self, level: CompressionLevel) -> tuple[str, int]:
        text = serialize(self.assemble())
        tokens = self.counter.count(text)
        if tokens > self.budget:
            # the handoff id and the times tokenize a little differently each run: the
            # advice leaves room for that, so following it works the next time too
            advice = (
                f"raise --budget to at least {tokens + _STAMP_MARGIN} ({_STAMP_MARGIN} more "
                "than this run needed, for the next run's id and times)"
            )
            if level is not CompressionLevel.MINIMAL:
                advice += " or choose a smaller level"
            raise HandoffFailed(
                f"even the smallest {level.value} payload needs {tokens} "
                f"tokens, over the budget of {self.budget}; {advice}"
            )
        for _ in range(_MAX_PASSES):
            if not self._fill(self.budget - tokens):
                break
            text = serialize(self.assemble())
            tokens = self.counter.count(text)
            text, tokens = self._trim(text, tokens)
        return text, tokens

    def _fill(self, room: int) -> bool:
        """Add every section's head, then items tier by tier while their cost fits ``room``."""
        room, added = self._fill_heads(room)
        # a capped section takes its tail in the tier after its last cap, even where no
        # section starts in that tier
        tiers = {s.tier for s in self.sections} | {t + 1 for s in self.sections for t in s.caps}
        for tier in sorted(tiers):
            taking = [s for s in self.sections if s.tier <= tier and s.path not in self.closed]
            room, added_here = self._fill_tier(taking, tier, room)
            added = added or added_here
        return added

    def _fill_heads(self, room: int) -> tuple[int, bool]:
        """Fair shares: round after round, each section's next item up to its head, in
        layout order, so no section's tail is taken before every section has its head."""
        added = False
        heads = {s.path: s.pinned + min(s.head, s.caps.get(s.tier, s.head)) for s in self.sections}
        for index in range(max(heads.values(), default=0)):
            for section in self.sections:
                if (
                    section.path in self.closed
                    or index >= heads[section.path]
                    or len(self.costs[section.path]) != index
                    or not self._open(section)
                ):
                    continue
                cost = self._next_cost(section)
                if cost is None or cost > room:
                    continue
                room -= cost
                self.costs[section.path].append(cost)
                self.added.append(section.path)
                added = True
        return room, added

    def _fill_tier(self, sections: list[Section], tier: int, room: int) -> tuple[int, bool]:
        """Weighted rounds: each section earns ``weight`` items a round until it runs out
        of candidates, of room, or of its cap for this tier."""
        credit = dict.fromkeys((s.path for s in sections), 0.0)
        added = False
        while sections:
            still_open: list[Section] = []
            for section in sections:
                credit[section.path] += section.weight
                cap = section.pinned + section.caps.get(tier, math.inf)
                stopped = False
                while credit[section.path] >= 1:
                    credit[section.path] -= 1
                    if not self._open(section):
                        # wait for the section it follows (earlier in the layout, so
                        # already through this round) while that one still takes items
                        stopped = all(s.path != section.follows for s in still_open)
                        break
                    if len(self.costs[section.path]) >= cap:
                        stopped = True
                        break
                    cost = self._next_cost(section)
                    if cost is None:
                        self.closed.add(section.path)
                        stopped = True
                        break
                    if cost > room:
                        stopped = True
                        break
                    room -= cost
                    self.costs[section.path].append(cost)
                    self.added.append(section.path)
                    added = True
                if not stopped:
                    still_open.append(section)
            sections = still_open
        return room, added

    def _open(self, section: Section) -> bool:
        """False while the section it follows has items still to take."""
        if section.follows is None:
            return True
        before = self.by_path.get(section.follows)
        return before is None or len(self.costs[before.path]) == len(before.candidates)

    def _next_cost(self, section: Section) -> int | None:
        items = self.items[section.path]
        index = len(self.costs[section.path])
        if index >= len(section.candidates):
            return None
        if index == len(items):
            items.append(section.to_json(section.candidates[index]))
            if section.grouped:
                key = items[-1][0]
                self.opens[section.path].append(key not in self.keys_seen[section.path])
                self.keys_seen[section.path].add(key)
        item = items[index]
        opening = 0
        if section.optional and index == 0:  # the key itself, written with the first item
            opening = self.counter.count(f"{compact_json(section.path)}:{{}}") + 1
        return opening + self._item_cost(section, index, item)

    def _item_cost(self, section: Section, index: int, item: Any) -> int:
        if section.grouped:
            key, value = item
            opening = self.counter.count(f"{compact_json(key)}:[]") + 1
            cost = self.counter.count(compact_json(value)) + 1
            return cost + (opening if self.opens[section.path][index] else 0)
        if section.keyed:
            key, value = item
            text = f"{compact_json(key)}:{compact_json(value)}"
        else:
            text = compact_json(item)
        return self.counter.count(text) + 1  # and its comma

    def _trim(self, text: str, tokens: int) -> tuple[str, int]:
        """Take back the last items added until the exact count fits."""
        while tokens > self.budget:
            excess = tokens - self.budget
            while excess > 0 and self.added:
                path = self.added.pop()
                excess -= self.costs[path].pop()
                self.closed.add(path)
            text = serialize(self.assemble())
            tokens = self.counter.count(text)
        return text, tokens

    def assemble(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(self.skeleton))  # a deep copy
        omitted: dict[str, int] = {}
        for section in self.sections:
            kept = len(self.costs[section.path])
            if section.optional and not kept:
                data.pop(section.path, None)
            else:
                _set_path(data, section.path, _shaped(section, self.items[section.path][:kept]))
            if kept < len(section.candidates):  # never one of the pinned items
                omitted[section.path] = len(section.candidates) - kept
        data["omitted"] = omitted
        return data


def _shaped(section: Section, items: list[Any]) -> Any:
    """A section's kept items as the payload writes them: a list, a map, or a map of lists."""
    if section.keyed:
        return dict(items)
    if section.grouped:
        groups: dict[str, list[Any]] = {}
        for key, value in items:
            groups.setdefault(key, []).append(value)
        return groups
    return items


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value
