"""Short, safe descriptions of values for error messages: the type and an excerpt.

A message must show its reason before any value, and a value must never flood it:
a 5,000-character string or a 700-key object becomes a type, a size and a few
characters, and the reason still fits on one line.
"""

from __future__ import annotations

from typing import Any

_SHORT = 40  # a string up to this long is shown whole
_EXCERPT = 24  # else this much of it
_KEYS_SHOWN = 3


def describe_value(value: Any) -> str:
    """``'done'``, ``5``, ``null``; ``'Lorem ipsum…' (string, 5,000 chars)``,
    ``array of 3 items``, ``object with keys 'id', 'title', 'state', … (12 keys)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 64:  # str() of a huge int is slow, and refused past 4,300 digits
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if len(value) <= _SHORT:
            return repr(value)
        return f"{value[:_EXCERPT]!r}… (string, {len(value):,} chars)"
    if isinstance(value, (list, tuple)):
        return "empty array" if not value else f"array of {_count(len(value), 'item')}"
    if isinstance(value, dict):
        return _describe_object(value)
    return type(value).__name__


def _describe_object(value: dict[Any, Any]) -> str:
    if not value:
        return "empty object"
    keys = [repr(_clip(str(key))) for key in list(value)[:_KEYS_SHOWN]]
    more = ", …" if len(value) > _KEYS_SHOWN else ""
    size = f" ({_count(len(value), 'key')})" if len(value) > _KEYS_SHOWN else ""
    return f"object with keys {', '.join(keys)}{more}{size}"


def _clip(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def describe_document(document: Any) -> str:
    """What a parsed file looks like, for the verdict on a file no format recognizes."""
    if isinstance(document, list):
        kinds = {type(item).__name__ for item in document[:50]}
        if document and kinds == {"dict"}:
            first = describe_value(document[0]).replace("object", "objects", 1)
            return f"a JSON array of {_count(len(document), 'item')} ({first})"
        return f"a JSON {describe_value(document)}"
    if isinstance(document, dict):
        if "tasks" in document:
            return (
                f"a JSON object whose 'tasks' is {_article(document['tasks'])}"
                " (an orchestrator state keys tasks by id; Task Master lists them)"
            )
        if not document:
            return "an empty JSON object"
        return f"a JSON {describe_value(document)} and no 'tasks'"
    return f"a single JSON value, {describe_value(document)}"


def _article(value: Any) -> str:
    text = describe_value(value)
    if isinstance(value, (list, dict)) and value:
        return f"an {text}" if text[0] in "aeiou" else f"a {text}"
    if isinstance(value, str):
        return f"a string, {text}"
    return text
