"""Markdown task files -> their checklist: the raw document of a Markdown input.

Read with markdown-it-py's CommonMark block parser (inline parsing is not needed and
is skipped), so lists, nesting, code blocks and headings are what a Markdown renderer
sees, not what a regular expression guesses: a ``- [ ]`` inside a fenced code block is
no task. A YAML front matter block (``---`` lines at the top, as Backlog.md writes) is
split off first and parsed by the caller.

Limits, as for JSON: at most ``MAX_LINE_CHARS`` characters a line and list nesting of
at most ``MAX_DEPTH`` levels; beyond them, one error line naming the file and line.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import InputError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_DEPTH = 32  # list nesting; no task file needs more, and the parser recurses per level
MAX_LINE_CHARS = 1_000_000
# `[ ]`, `[x]`, `[X]`, `[-]`, `[~]`, `[/]`, `[!]`, ... at the start of a list item.
_BOX = re.compile(r"\[([ xX~\-/!>?*])\](\*)?(?:[ \t]+|$)")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


class Item(NamedTuple):
    """A list item: a checkbox (``mark`` is what is between the brackets) or, with
    ``mark`` None, a plain bullet (a note under a task)."""

    line: int  # 1-based, in the whole file
    depth: int  # 0: a top-level list item
    mark: str | None
    optional: bool  # Kiro's `[ ]*`: an optional task
    text: str  # the item's first paragraph, without the checkbox
    headings: tuple[str, ...]  # the headings above it, outermost first
    parent: int | None  # index of the enclosing list item, if any


class Heading(NamedTuple):
    line: int
    level: int
    text: str


class MarkdownDocument(NamedTuple):
    """A Markdown file as the formats see it."""

    text: str  # the body, after any front matter
    front_matter: str | None  # the YAML between the first two `---` lines, unparsed
    items: tuple[Item, ...]
    headings: tuple[Heading, ...]
    body_line: int  # the file line the body starts on (1 without front matter)

    @property
    def checkboxes(self) -> list[Item]:
        return [item for item in self.items if item.mark is not None]


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"maxNesting": MAX_DEPTH * 2 + 4})
    md.disable("inline")  # only the blocks are read; the text stays as written
    return md


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter, body, the body's first line)."""
    if not text.startswith("---"):
        return None, text, 1
    first_end = text.find("\n")
    if first_end < 0 or text[:first_end].strip() != "---":
        return None, text, 1
    end = _FRONT_MATTER_END.search(text, first_end + 1)
    if end is None:
        return None, text, 1
    after = text.find("\n", end.end())
    body = "" if after < 0 else text[after + 1 :]
    return text[first_end + 1 : end.start()], body, text.count("\n", 0, end.end()) + 2


def parse_markdown(text: str, name: str) -> MarkdownDocument:
    """The list items and headings of a Markdown file; InputError past the limits."""
    _check_lines(text, name)
    front, body, body_line = split_front_matter(text)
    offset = body_line - 1
    items: list[Item] = []
    headings: list[Heading] = []
    path: list[tuple[int, str]] = []  # (level, text) of the headings in force
    open_items: list[int] = []  # indices into items of the enclosing list items
    tokens = _parser().parse(body)
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1:])
            text_of = tokens[index + 1].content.strip()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text_of))
            headings.append(Heading((token.map or [0])[0] + 1 + offset, level, text_of))
        elif kind == "list_item_open":
            if len(open_items) >= MAX_DEPTH:
                line = (token.map or [0])[0] + 1 + offset
                raise InputError(
                    f"{name}:{line}: lists nested more than {MAX_DEPTH} levels deep; refused"
                )
            items.append(_item(tokens, index, len(open_items), path, open_items, offset))
            open_items.append(len(items) - 1)
        elif kind == "list_item_close":
            open_items.pop()
    return MarkdownDocument(body, front, tuple(items), tuple(headings), body_line)


def _item(
    tokens: list[Any],
    index: int,
    depth: int,
    path: list[tuple[int, str]],
    open_items: list[int],
    offset: int,
) -> Item:
    token = tokens[index]
    first = tokens[index + 2] if index + 2 < len(tokens) else None
    content = first.content if first is not None and first.type == "inline" else ""
    line = (token.map or [0])[0] + 1 + offset
    box = _BOX.match(content)
    mark = box.group(1) if box else None
    text = content[box.end() :] if box else content
    return Item(
        line,
        depth,
        mark,
        box is not None and box.group(2) == "*",
        " ".join(text.split()),
        tuple(h for _, h in path),
        open_items[-1] if open_items else None,
    )


def _check_lines(text: str, name: str) -> None:
    if len(text) <= MAX_LINE_CHARS:
        return
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARS:
            raise InputError(
                f"{name}:{number}: a line of {len(line):,} characters, over the "
                f"limit of {MAX_LINE_CHARS:,}; is this a task file?"
            )
