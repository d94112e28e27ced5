"""A payload file already written, read back: for ``validate``, ``report`` and ``tokens``.

Each is read once: parsed, its meta read, its text counted exactly as written, and
checked against its level's schema. ``check_payload`` adds the budget to that verdict;
``report_input_from_file`` is what the report renderer takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from . import defaults, load, pack, render, validate
from .errors import InputError, Problem
from .tokens import build_counter


class PayloadFile(NamedTuple):
    """A payload file read once: its data, what its meta says, and its exact tokens."""

    name: str
    data: Any
    level: str | None  # meta.level, when it names a level
    encoding: str
    budget: int | None  # meta.budget
    tokens: int
    schema_problems: tuple[Problem, ...]  # its level's schema, or a bad meta.level


class PayloadCheck(NamedTuple):
    """The verdict on a payload file: its schema problems and its exact size."""

    path: str
    level: str | None
    tokens: int
    budget: int | None
    encoding: str
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def read_payload(path: Path, encoding: str | None = None) -> PayloadFile:
    """Read, parse, count and schema-check a payload file (the text counted as written)."""
    raw, source = load.read_file(path)
    name = source.name
    data = load.parse_document(raw, name)
    meta = data.get("meta") if isinstance(data, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    level = meta.get("level")
    encoding = encoding or _str_or(meta.get("encoding"), defaults.DEFAULT_ENCODING)
    tokens = build_counter(encoding).count(load.decode_text(raw, name))
    if level in defaults.LEVELS:
        problems = tuple(validate.find_problems(data, level, name))
    else:
        problems = (
            Problem(
                name,
                "$.meta.level",
                f"{level!r} is not one of "
                f"{', '.join(repr(lvl) for lvl in defaults.LEVELS)}; is this a "
                "context-handoff payload?",
            ),
        )
    return PayloadFile(
        name,
        data,
        level if level in defaults.LEVELS else None,
        encoding,
        _int_or_none(meta.get("budget")),
        tokens,
        problems,
    )


def check_payload(
    path: Path, budget: int | None = None, encoding: str | None = None
) -> PayloadCheck:
    """Validate a payload file against its level's schema and its token budget."""
    payload = read_payload(path, encoding)
    budget = budget if budget is not None else payload.budget
    problems = list(payload.schema_problems)
    if budget is None:
        problems.append(Problem(payload.name, "$.meta.budget", "no budget: pass --budget"))
    elif payload.tokens > budget:
        problems.append(
            Problem(
                payload.name,
                "$",
                f"{payload.tokens} {payload.encoding} tokens, over the budget of {budget}",
            )
        )
    return PayloadCheck(
        payload.name, payload.level, payload.tokens, budget, payload.encoding, tuple(problems)
    )


def report_input_from_file(path: Path, encoding: str | None = None) -> render.ReportInput:
    """A payload file, as the report renderer sees it: data, exact tokens, section costs."""
    payload = read_payload(path, encoding)
    if payload.schema_problems:
        raise InputError(
            f"{payload.name}: not a valid {payload.level or 'context-handoff'} payload",
            list(payload.schema_problems),
        )
    sections = pack.section_tokens(payload.data, build_counter(payload.encoding))
    return render.ReportInput(payload.data, payload.tokens, sections)


def count_file_tokens(path: Path, encoding: str) -> int:
    """Exact tokens of a file's text, as the next session would read it."""
    data, source = load.read_file(path)
    return build_counter(encoding).count(load.decode_text(data, source.name))


def _str_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
