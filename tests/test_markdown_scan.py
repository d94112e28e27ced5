"""The line scanner for plain checklists reads every document it accepts exactly as
markdown-it's CommonMark block parser does: the same items (line, depth, box, text,
headings above, parent) and the same headings. Documents are built from lines that sit
on CommonMark's edges (lazy continuations, indented code, setext underlines, fences,
rules, references, interrupting ordered lists, odd whitespace)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from context_handoff import markdown
from context_handoff.errors import InputError

_PREFIXES = ["", "", "", "- ", "- ", "* ", "+ ", "1. ", "2. ", "1) ", "10. ", "-  ", "-    ",
             "-     ", "- - ", "1.", "-", "2.  ", "1\u0661. ", "0\uff11) "]  # fmt: skip
_BODIES = [
    "[ ] T001 [P] [US1] task in src/a.py",
    "[x] 1. done",
    "[-] 1.1 under way",
    "[ ]* 2. optional",
    "[X]",
    "[ ]",
    "[ ]  ",
    "[~] Task: a step",
    "plain text",
    "_Requirements: 1.1, 2.3_",
    "# Phase 1",
    "## Phase 2: Setup ",
    "### ",
    "# closed #",
    "#nope",
    "#",
    "---",
    "***",
    "___",
    "- - -",
    "* * *",
    "--",
    "===",
    "=",
    "```",
    "```text",
    "``` a`b",
    "````",
    "~~~",
    "~~~ info",
    "> quote",
    "<!-- note -->",
    "<div>",
    "[foo]: /url",
    "[x]: /url",
    "[x]",
    "[link](u) text",
    "\\[x] escaped",
    "[a\\] b]: c",
    "[unclosed",
    "code();",
    "\xa0[ ] after a no-break space",
    "\u3000wide space",
    "2. two",
    "1. one",
    "Task: a thing [abc1234]",
    "*emphasis* text",
    "**Bold**: text",
    "| a | b |",
    "",
    "",
    " ",
]
_INDENTS = [0, 0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 8, 10]

# Mostly what the scanner reads itself, so that most of these documents are scanned.
_PLAIN_BODIES = [
    body
    for body in _BODIES
    if body.strip() and not body.startswith(("#", ">", "<", "`", "~", "=", "-", "*", "_", "1", "2"))
] + ["---", "***", "1. one", "2. two", "_Requirements: 1.1_"]
_PLAIN_PREFIXES = ["", "", "- ", "- ", "  - ", "* ", "1. ", "2. ", "1) "]
# ... with the fences, rules and headings it reads too
_BLOCK_BODIES = [*_PLAIN_BODIES, "```", "```text", "````", "~~~", "~~~~ x", "* * *", "# Phase 1",
                 "<!-- note -->", "<!--", "<!-->", "-->", "end -->", "<!-- a --> b"]  # fmt: skip


def _lines(
    bodies: list[str], prefixes: list[str], indents: list[int]
) -> st.SearchStrategy[list[str]]:
    line = st.builds(
        lambda indent, prefix, body: " " * indent + prefix + body,
        st.sampled_from(indents),
        st.sampled_from(prefixes),
        st.sampled_from(bodies),
    )
    return st.lists(st.one_of(line, st.just("")), max_size=14)


def _both(body: str) -> tuple[object, object]:
    fast = markdown._scan(body, 0)
    try:
        slow: object = markdown._read_tokens(body, 0, "t.md")
    except InputError as error:
        slow = error
    return fast, slow


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        _lines(_BODIES, _PREFIXES, _INDENTS),
        _lines(_PLAIN_BODIES, _PLAIN_PREFIXES, [0, 0, 0, 1, 2, 2, 3, 4]),
        _lines(_BLOCK_BODIES, _PLAIN_PREFIXES, [0, 0, 0, 1, 2, 2, 3, 4, 5, 6]),
    )
)
@example(["- [ ] 1. a", "  - [ ] 1.1 b", "    - _Requirements: 1_", "", "- [x] 2. c"])
@example(["- a", " - b", "  - c", "   - d", "    - e"])  # the last continues d's paragraph
@example(["- [ ] a", "2. b", "1. c"])  # only `1.` interrupts a paragraph
@example(["text", "---", "- [ ] a"])  # a setext heading
@example(["- [ ] a", "  ```", "  - [ ] b", "- [ ] c", "  ```"])
@example(["```", "    ```", "- [ ] a", "   ````", "- [ ] b"])  # a closing fence may not be code
@example(["- [ ] a", "lazy", "  more", "", "  para", "- [ ] b"])
@example(["- [ ] a", "  0\u0661. [x] b"])  # only ASCII digits number a list item
def test_the_scanner_reads_as_markdown_it(lines: list[str]) -> None:
    body = "\n".join(lines)
    fast, slow = _both(body)
    event("scanned" if fast is not None else "left to markdown-it")
    if fast is not None:
        assert fast == slow, body


@pytest.mark.parametrize("text", ["- [ ] a\tb", "- [ ] a\r\n- [ ] b", "- [ ] a\0"])
def test_tabs_and_rewritten_characters_go_to_markdown_it(text: str) -> None:
    assert markdown._scan(text, 0) is None


def test_too_deep_nesting_goes_to_markdown_it() -> None:
    body = "\n".join(" " * (2 * depth) + f"- [ ] {depth}." for depth in range(40))
    assert markdown._scan(body, 0) is None
    with pytest.raises(InputError, match="nested more than"):
        markdown.parse_markdown(body, "t.md")


@pytest.mark.parametrize(
    "body",
    [
        "## P\n" + "> " * 70 + "- [ ] T001 deep\n\n- [ ] T002 top\n",
        "## P\n" + "- > " * 23 + "- [ ] T1\n",
    ],
    ids=["quotes", "quotes-in-lists"],
)
def test_nesting_markdown_it_would_cut_short_is_refused(body: str) -> None:
    """markdown-it stops reading past its nesting limit; the tasks after it are not
    silently lost."""
    with pytest.raises(InputError, match=r"^t\.md:2: lists and quotes nested more than"):
        markdown.parse_markdown(body, "t.md")


def test_a_carriage_return_ends_a_line_for_the_length_limit() -> None:
    body = "- [ ] a short task\r" * 60_000  # over a million characters, in short lines
    assert len(markdown.parse_markdown(body, "t.md").items) == 60_000


_FILES = sorted(
    path
    for folder in ("kiro", "speckit", "conductor")
    for path in (Path(__file__).parent / "formats" / folder).rglob("*.md")
)


@pytest.mark.parametrize("path", _FILES, ids=lambda path: path.name)
def test_the_task_files_are_scanned_and_read_alike(path: Path) -> None:
    """The shapes these formats write are the scanner's, not markdown-it's, to read."""
    body = markdown.split_front_matter(path.read_text(encoding="utf-8"))[1]
    fast, slow = _both(body)
    assert fast is not None
    assert fast == slow
