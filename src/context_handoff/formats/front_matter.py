"""The YAML front matter of a Backlog.md task, read without a YAML parser when it has
the plain shape Backlog.md writes; anything else is left to the YAML parser.

Backlog.md writes its front matter with js-yaml: one ``key: value`` a line, the value
plain (``status: To Do``), quoted (``'2025-03-01 10:00'``, ``"To Do"``), folded over
lines (``title: >-``), an empty list (``[]``) or a flow list of plain words, or a block
list below the key (``  - TASK-1``). Ten thousand tasks take a YAML parser most of a
second; read here, a few hundredths.

The shapes read here are the ones whose meaning under YAML's base schema (every scalar a
string, as ``load.parse_front_matter`` reads a front matter) is plain to see; a front
matter with anything more (comments, escapes, anchors, nested maps, tabs, control or
line-break characters, an indentation that changes) gets None, and its file is read by
the YAML parser, which also gives every error. tests/test_front_matter.py checks that
both read the same wherever this one answers.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any

# Characters YAML refuses, or reads as a line break or a byte-order mark: no form here
# holds one (beyond ASCII, _UNSAFE finds them), so a front matter with one is left to
# the parser.
_NOT = r"\x00-\x1f\x7f"
_UNSAFE = re.compile(r"[\x80-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_KEY = r"[A-Za-z_][A-Za-z0-9_-]{0,200}+"  # YAML reads a key on one line of 1,024 at most
# A plain scalar in block context that YAML reads as written: it starts with no
# indicator, has no ": " or " #" (a comment) in it, and ends in neither ":" nor a blank.
_PLAIN = (
    rf"[^ \-?:,\[\]{{}}#&*!|>'\"%@`{_NOT}][^ :{_NOT}]*+"
    rf"(?:(?::(?=[^ {_NOT}])| ++(?=[^ #{_NOT}]))[^ :{_NOT}]*+)*+"
)
_SINGLE = rf"'((?:[^'{_NOT}]++|'')*+)'"
_DOUBLE = rf'"([^"\\{_NOT}]*+)"'  # no escapes: the text between the quotes is the value
# A flow list of plain words: no quotes, commas, brackets, colons or comments inside.
_WORD = r"[A-Za-z0-9_][A-Za-z0-9_./@+-]*+(?: ++[A-Za-z0-9_./@+-]++)*+"
_FLOW = rf"\[ *+(?:{_WORD}(?: *+, *+{_WORD})*+)? *+\]"
# A folded block (">-"): lines at one indentation, none blank, more indented or ending
# in a blank, joined by single spaces.
_FOLDED_LINE = rf"[^ {_NOT}][^{_NOT}]*+(?<! )\n"
_FOLDED = rf"(?P<fold> ++){_FOLDED_LINE}(?:(?P=fold){_FOLDED_LINE})*+"
# A block list below its key: items of one indentation, each a scalar.
_ITEM = rf"- (?:{_PLAIN}|'(?:[^'{_NOT}]++|'')*+'|\"[^\"\\{_NOT}]*+\") *+\n"
_ITEMS = rf"(?P<indent> *+){_ITEM}(?:(?P=indent){_ITEM})*+"
# One entry: the whole of it (blank lines after it too), its key, then its value in the
# one form it has: folded, a flow list, quoted, plain, a block list (or none: "key:").
_ENTRY = re.compile(
    rf"^(({_KEY}):(?: ++(?:(?:({_PLAIN})|{_SINGLE}|({_FLOW})|{_DOUBLE}) *+\n|>-\n({_FOLDED}))"
    rf"| *+\n({_ITEMS})?)\n*+)",
    re.MULTILINE,
)
_ITEM_VALUE = re.compile(r"^ *+- ([^\n]*+)$", re.MULTILINE)
_END = "\n---\n"


def simple_front_matter(text: str) -> dict[str, Any] | None:
    """The front matter of a Markdown file's ``text`` as YAML's base schema reads it,
    when it opens the file (``---`` lines before and after) and has the plain shape;
    None otherwise (no front matter, or one to leave to the YAML parser)."""
    front = _front_text(text)
    if front is None:
        return None
    entries = _ENTRY.findall(front)
    # the entries found are apart: they are all the front matter when their lengths add up
    if not entries or sum(map(len, map(_first, entries))) != len(front):
        return None
    return {
        key: plain or _value(single, flow, double, folded, items)
        for _, key, plain, single, flow, double, folded, _, items, _ in entries
    }


def _front_text(text: str) -> str | None:
    """The text between the ``---`` lines that open the file, if it has no character
    YAML refuses or reads as a line break."""
    if not text.startswith("---\n"):
        return None
    end = text.find(_END, 3)
    if end < 0:
        end = len(text) - 4 if text.endswith("\n---") else -1
        if end < 3:
            return None
    front = text[4 : end + 1]
    return None if not front.isascii() and _UNSAFE.search(front) else front


_first = itemgetter(0)


def _value(single: str, flow: str, double: str, folded: str, items: str) -> Any:
    """A value other than a plain scalar, from the part of it that _ENTRY found."""
    if single:
        return single.replace("''", "'")
    if flow:
        words = flow[1:-1]
        return [word.strip(" ") for word in words.split(",")] if words.strip(" ") else []
    if items:
        return [_unquote(item.rstrip(" ")) for item in _ITEM_VALUE.findall(items)]
    if folded:
        return " ".join(line.strip(" ") for line in folded.splitlines())
    return double  # also an empty value: "key:" alone, '' or ""


def _unquote(scalar: str) -> str:
    if scalar[0] == "'":
        return scalar[1:-1].replace("''", "'")
    return scalar[1:-1] if scalar[0] == '"' else scalar
