"""The rest of a payload's sections: every item a section would hold at any budget, in
the payload's own order and item shape, and pages of them that fit a token limit.

A payload keeps a prefix of each section's ordered items (``layouts.full_sections``,
the one source of them), and ``omitted`` counts the rest; ``page_section`` gives them
back from any offset, so the pages after the payload's items hold exactly what the
budget cut, none twice, none missing.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .errors import InputError
from .layouts import full_sections, is_grouped
from .model import Facts, Payload
from .pack import serialize
from .tokens import TokenCounter

DEFAULT_PAGE_TOKENS = 2000


class Page(NamedTuple):
    """One page of a section: ``items`` from ``offset`` on, ``remaining`` after them."""

    section: str
    offset: int
    items: list[Any]
    remaining: int

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "offset": self.offset,
            "items": self.items,
            "remaining": self.remaining,
        }


def full_section_items(facts: Facts, payload: Payload) -> dict[str, list[Any]]:
    """Section path -> all of its items, unbudgeted, as ``payload`` lays them out: the
    packer's own lists (``layouts.full_sections``), in the form ``payload`` was packed in
    (``Payload.terse``)."""
    return full_sections(
        facts, payload.level, terse_form=payload.terse, grouped=is_grouped(payload.data)
    )


def payload_items(data: dict[str, Any], path: str) -> list[Any]:
    """The items the payload holds at a dotted ``path``, shaped as ``full_section_items``
    gives them (a map's entries one by one, each a one-entry object; a map of lists, each
    value in its lists)."""
    value: Any = data
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, dict):
        # a map of lists (minimal's more_failed) holds one item per value in its lists
        return [
            {key: one}
            for key, inner in value.items()
            for one in (inner if isinstance(inner, list) else [inner])
        ]
    return list(value) if isinstance(value, list) else []


def held_order(items: list[Any]) -> list[Any]:
    """A prefix of a section's items in the order the payload holds them: the same for a
    list or a map; a map of lists (minimal's ``more_failed``) groups them by key, each
    key where its first item comes, so ``payload_items`` gives this order."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        if not (isinstance(item, dict) and len(item) == 1):
            return items
        groups.setdefault(json.dumps(next(iter(item))), []).append(item)
    return [item for group in groups.values() for item in group]


def page_section(
    items_by_section: dict[str, list[Any]],
    section: str,
    offset: int,
    limit: int | None,
    max_tokens: int,
    counter: TokenCounter,
) -> Page:
    """Items of ``section`` from ``offset``: at most ``limit`` of them, and as many as fit
    ``max_tokens`` tokens in the page's own JSON text."""
    if section not in items_by_section:
        known = ", ".join(sorted(items_by_section)) or "none"
        raise InputError(
            f"section {section!r} is not one this payload can page (sections: {known})"
        )
    if offset < 0:
        raise InputError(f"offset must be 0 or more, not {offset}")
    if limit is not None and limit < 1:
        raise InputError(f"limit must be 1 or more, not {limit}")
    whole = items_by_section[section]
    end = len(whole) if limit is None else min(len(whole), offset + limit)
    chosen: list[Any] = []
    room = max_tokens - counter.count(serialize(Page(section, offset, [], 0).as_json()))
    for item in whole[offset:end]:
        cost = counter.count(json.dumps(item, ensure_ascii=False, separators=(",", ":"))) + 1
        if cost > room:
            break
        chosen.append(item)
        room -= cost
    return _fit(
        Page(section, offset, chosen, max(0, len(whole) - offset - len(chosen))),
        whole,
        max_tokens,
        counter,
    )


def _fit(page: Page, whole: list[Any], max_tokens: int, counter: TokenCounter) -> Page:
    """The exact count decides: items go back until the page's text fits."""
    while True:
        tokens = counter.count(page_text(page))
        if tokens <= max_tokens:
            if page.items or page.offset >= len(whole):
                return page
            raise InputError(
                f"item {page.offset} of {page.section} alone is over the page "
                f"limit of {max_tokens} tokens; raise the page limit"
            )
        page = page._replace(items=page.items[:-1], remaining=page.remaining + 1)


def page_text(page: Page) -> str:
    """A page as the client reads it: compact JSON, one newline."""
    return serialize(page.as_json())
