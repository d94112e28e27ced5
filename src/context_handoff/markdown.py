"""Markdown task files -> their checklist: the raw document of a Markdown input.

Read as CommonMark, so lists, nesting, code blocks and headings are what a Markdown
renderer sees, not what a regular expression guesses: a ``- [ ]`` inside a fenced code
block is no task. A plain checklist (headings, list items, paragraphs, rules, code
fences and HTML comments) is read by a line scanner that applies CommonMark's list
rules; any file with more in it (quotes, other HTML, indented code, setext headings,
tabs, ...) by markdown-it-py's block parser (inline parsing is not needed and is
skipped). The two give the same items (tests/test_markdown_scan.py holds them to it);
the scanner is several times faster. A YAML front matter block (``---`` lines at the
top, as Backlog.md writes) is split off first and parsed by the caller.

Limits, as for JSON: at most ``MAX_LINE_CHARS`` characters a line and list nesting of
at most ``MAX_DEPTH`` levels; beyond them, one error line naming the file and line.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from .errors import InputError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_DEPTH = 32  # list nesting; no task file needs more, and the parser recurses per level
_MAX_NESTING = MAX_DEPTH * 2 + 4  # markdown-it's blocks (a list and its item are two)
MAX_LINE_CHARS = 1_000_000
# `[ ]`, `[x]`, `[X]`, `[-]`, `[~]`, `[/]`, `[!]`, ... at the start of a list item.
_BOX = re.compile(r"\[([ xX~\-/!>?*])\](\*)?(?:[ \t]+|$)")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t\r]*$", re.MULTILINE)  # CRLF files too


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

    md = MarkdownIt("commonmark", {"maxNesting": _MAX_NESTING})
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
    scanned = _scan(body, offset)
    items, headings = scanned if scanned is not None else _read_tokens(body, offset, name)
    return MarkdownDocument(body, front, tuple(items), tuple(headings), body_line)


def _read_tokens(body: str, offset: int, name: str) -> tuple[list[Item], list[Heading]]:
    """The items and headings as markdown-it's block parser finds them."""
    items: list[Item] = []
    headings: list[Heading] = []
    path: list[tuple[int, str]] = []  # (level, text) of the headings in force
    open_items: list[int] = []  # indices into items of the enclosing list items
    tokens = _parser().parse(body)
    for index, token in enumerate(tokens):
        kind = token.type
        if token.nesting == 1 and token.level + 1 >= _MAX_NESTING:
            # markdown-it stops reading at this depth and would drop the rest unsaid
            raise InputError(
                f"{name}:{(token.map or [0])[0] + 1 + offset}: lists and quotes nested "
                f"more than {_MAX_NESTING} blocks deep; refused"
            )
        if kind == "heading_open":
            level = int(token.tag[1:])
            text_of = tokens[index + 1].content.strip()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text_of))
            headings.append(Heading((token.map or [0])[0] + 1 + offset, level, text_of))
        elif kind == "list_item_open":
            line = (token.map or [0])[0] + 1 + offset
            if len(open_items) >= MAX_DEPTH:
                raise InputError(
                    f"{name}:{line}: lists nested more than {MAX_DEPTH} levels deep; refused"
                )
            first = tokens[index + 2] if index + 2 < len(tokens) else None
            content = first.content if first is not None and first.type == "inline" else ""
            parent = open_items[-1] if open_items else None
            items.append(_item(content, line, len(open_items), tuple(h for _, h in path), parent))
            open_items.append(len(items) - 1)
        elif kind == "list_item_close":
            open_items.pop()
    return items, headings


def _item(
    content: str, line: int, depth: int, headings: tuple[str, ...], parent: int | None
) -> Item:
    """An item from the content of its first paragraph."""
    box = _BOX.match(content)
    mark = box.group(1) if box else None
    text = content[box.end() :] if box else content
    return Item(
        line,
        depth,
        mark,
        box is not None and box.group(2) == "*",
        " ".join(text.split()),
        headings,
        parent,
    )


@cache
def _trim_chars() -> str:
    """The characters markdown-it trims from a paragraph or heading."""
    from markdown_it.common.utils import MD_TRIM_CHARS

    return MD_TRIM_CHARS


_LINE_END = re.compile(r"\r\n?|\n")  # CommonMark's line endings


def _check_lines(text: str, name: str) -> None:
    if len(text) <= MAX_LINE_CHARS:
        return
    for number, line in enumerate(_LINE_END.split(text), 1):
        if len(line) > MAX_LINE_CHARS:
            raise InputError(
                f"{name}:{number}: a line of {len(line):,} characters, over the "
                f"limit of {MAX_LINE_CHARS:,}; is this a task file?"
            )


# The plain-checklist fast path. Most task files are nothing but ATX headings, bullet
# or ordered list items, paragraph text and blank lines; for those, a line scanner that
# applies CommonMark's list rules gives exactly the items markdown-it gives, many times
# faster. Any other construct (a fence, a quote, HTML, a rule or setext underline, an
# indented code block, a tab, a possible link reference definition, a heading inside a
# list, an empty item) makes the scanner give up, and markdown-it reads the whole file.
_HEADING = re.compile(r"(#{1,6})(?: (.*))?")
# a line that starts a block other than a list item or a paragraph (rules and fences
# included, which the scanner reads itself)
_OTHER_BLOCK = re.compile(r"[>#<]|```|~~~|[-*_= ]+$")
_FENCE = re.compile(r"(`{3,}(?=[^`]*$)|~{3,})")  # a code fence's opening line
_RULE = re.compile(r"([-*_])(?: *\1){2,} *$")  # a thematic break
_MARKER = re.compile(r"(?:[-*+]|([0-9]{1,9})[.)])( *)")  # ASCII digits only, as CommonMark
_BLOCK_START = frozenset("-*_=<>`~")
_MARKER_START = frozenset("-*+0123456789")
_AWKWARD = re.compile(r"[\t\r\0]")  # tabs expand by column; CR and NUL are rewritten


class _GiveUp(Exception):
    """The document holds something only markdown-it reads exactly."""


class _Scan:
    """The scanner's state: the open list items and the paragraph in progress."""

    def __init__(self, offset: int, trim: str) -> None:
        self.offset = offset
        self.trim = trim
        self.items: list[Item] = []
        self.headings: list[Heading] = []
        self.path: list[tuple[int, str]] = []
        self.above: tuple[str, ...] = ()  # the texts of the headings in force
        self.open: list[tuple[int, int]] = []  # (content column, item index), outermost first
        self.paragraph = False  # open, in the innermost open item (or at the top)
        self.first: list[str] | None = None  # the lines of the newest item's first paragraph
        self.pending: tuple[int, int, int | None] = (0, 0, None)  # its line, depth, parent
        self.fence: tuple[str, int] | None = None  # an open code fence: marker, column
        self.comment = False  # inside an HTML comment at the top level

    def end_paragraph(self) -> None:
        self.paragraph = False
        if self.first is not None:
            line, depth, parent = self.pending
            content = "\n".join(self.first).strip(self.trim)
            self.items.append(_item(content, line, depth, self.above, parent))
            self.first = None

    def heading(self, number: int, level: int, text: str) -> None:
        self.end_paragraph()
        self.open.clear()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, text))
        self.above = tuple(text for _, text in self.path)
        self.headings.append(Heading(number + self.offset, level, text))

    def start_item(self, number: int, depth: int, column: int, content: str) -> None:
        """A list item at ``depth`` whose text starts at ``column`` with ``content``."""
        if depth >= MAX_DEPTH or not content or _starts_block(content):
            raise _GiveUp
        self.end_paragraph()
        del self.open[depth:]
        parent = self.open[-1][1] if self.open else None
        self.pending = (number + self.offset, depth, parent)  # an item when its text ends
        self.open.append((column, len(self.items)))
        self.paragraph, self.first = True, [content]

    def continue_paragraph(self, line: str, indent: int) -> None:
        if self.first is not None:
            self.first.append(line[min(indent, self.open[-1][0]) :])

    def start_paragraph(self, depth: int, text: str) -> None:
        if _starts_block(text):
            raise _GiveUp
        self.end_paragraph()
        del self.open[depth:]
        self.paragraph = True


def _starts_block(text: str) -> bool:
    """Whether a paragraph's first line might be read as something else: another block,
    a list marker, or a link reference definition (``[label]: url``)."""
    if text[0] == "[":
        close = text.find("]")  # a reference needs `]:` after its label
        return close < 0 or text[close - 1] == "\\" or text[close + 1 : close + 2] == ":"
    if _OTHER_BLOCK.match(text):
        return True
    marker = _MARKER.match(text)
    return marker is not None and (bool(marker.group(2)) or marker.end() == len(text))


def _scan(body: str, offset: int) -> tuple[list[Item], list[Heading]] | None:
    """The items and headings of a plain checklist, or None for markdown-it to read."""
    if _AWKWARD.search(body):
        return None
    scan = _Scan(offset, _trim_chars())
    try:
        for number, line in enumerate(body.split("\n"), 1):
            _scan_line(scan, number, line)
        scan.end_paragraph()
    except _GiveUp:
        return None
    return scan.items, scan.headings


def _scan_line(scan: _Scan, number: int, line: str) -> None:
    text = line.lstrip(" ")
    indent = len(line) - len(text)
    if scan.fence is not None and _in_fence(scan, scan.fence, text, indent):
        return
    if scan.comment:
        scan.comment = "-->" not in text
        return
    if not text:
        scan.end_paragraph()
        return
    first = text[0]
    if first == "#":
        _heading(scan, number, line, indent)
        return
    depth = len(scan.open)
    while depth and scan.open[depth - 1][0] > indent:
        depth -= 1  # the open items this line is indented into
    base = scan.open[depth - 1][0] if depth else 0
    if indent - base >= 4:  # an indented code block, unless it continues a paragraph
        if not (scan.paragraph and depth == len(scan.open)):
            raise _GiveUp
        scan.continue_paragraph(line, indent)
    elif first in _BLOCK_START and _OTHER_BLOCK.match(text):
        _other_block(scan, text, depth, base)
    elif first in _MARKER_START and (marker := _MARKER.match(text)):
        _scan_marker(scan, number, line, text, indent, depth, marker)
    elif scan.paragraph:
        scan.continue_paragraph(line, indent)  # lazily, too, when less indented
    else:
        scan.start_paragraph(depth, text)


def _heading(scan: _Scan, number: int, line: str, indent: int) -> None:
    heading = _HEADING.fullmatch(line)
    if indent or heading is None or line.rstrip(" ").endswith("#"):
        raise _GiveUp
    title = (heading.group(2) or "").strip(scan.trim).strip()
    scan.heading(number, len(heading.group(1)), title)


def _other_block(scan: _Scan, text: str, depth: int, base: int) -> None:
    """A thematic break, a code fence or an HTML comment outside the lists; anything
    else is markdown-it's to read."""
    if _RULE.match(text) and not scan.paragraph:  # after a paragraph: maybe an underline
        del scan.open[depth:]  # a thematic break in the items it is indented into
    elif fence := _FENCE.match(text):
        scan.end_paragraph()
        del scan.open[depth:]
        scan.fence = (fence.group(1), base)
    elif depth == 0 and text.startswith("<!--"):  # up to the line with `-->`
        scan.end_paragraph()
        scan.open.clear()
        scan.comment = "-->" not in text
    else:
        raise _GiveUp


def _in_fence(scan: _Scan, fence: tuple[str, int], text: str, indent: int) -> bool:
    """Whether a line belongs to the open code fence (its closing line included)."""
    marker, column = fence
    if text and indent < column:  # less indented than its list item: that item ends
        scan.fence = None
        return False
    if indent - column < 4 and text.startswith(marker) and not text.rstrip(" ").strip(marker[0]):
        scan.fence = None
    return True


def _scan_marker(
    scan: _Scan,
    number: int,
    line: str,
    text: str,
    indent: int,
    depth: int,
    marker: re.Match[str],
) -> None:
    """A list item, or a line of a paragraph that only looks like one."""
    spaces = marker.group(2)
    if not spaces and marker.end() < len(text):  # `-x`, `1.5`: text
        if scan.paragraph:
            scan.continue_paragraph(line, indent)
        else:
            scan.start_paragraph(depth, text)
        return
    ordinal = marker.group(1)
    if scan.paragraph and depth == len(scan.open) and ordinal is not None and int(ordinal) != 1:
        scan.continue_paragraph(line, indent)  # only `1.` may interrupt a paragraph
        return
    if len(spaces) > 4:
        raise _GiveUp
    scan.start_item(number, depth, indent + marker.end(), text[marker.end() :])
