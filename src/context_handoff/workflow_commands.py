"""GitHub workflow commands (annotations, notices), escaped as actions/toolkit escapes them.

Data (the message) escapes ``%``, CR and LF; properties (``file=``, ``title=``) also
``:`` and ``,``, which would otherwise end the property. Every line a reporter prints,
whatever its source (state, snapshot, path, option), goes out through ``say``, which
keeps it to one line with ``one_line``: a line break inside data would let it start a
workflow command of its own. A Markdown report printed whole goes through
``defuse_block``.
"""

from __future__ import annotations

import re

import click

from .errors import Problem

# as JSON writes them: a JSON line passed through ``one_line`` still reads the same
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
_COMMAND_LINE = re.compile(r"^([ \t]*)(::|##\[)", re.MULTILINE)
_NOT_LF = {code: text for code, text in _LINE_BREAKS.items() if chr(code) != "\n"}
_OTHER_BREAKS = {code: text for code, text in _LINE_BREAKS.items() if chr(code) not in "\r\n"}


def escape_data(text: str) -> str:
    """CR and LF as the runner reads them back (%0D, %0A); other line breaks, which some
    readers of a log would split on, shown as escapes."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.translate(_OTHER_BREAKS)


def one_line(text: str) -> str:
    """``text`` on one line: a break inside data would let the next line be read as a
    workflow command (``::warning::...``) or as a line of its own.

    The one escaping every printed line goes through (``say``), whatever its source: a
    command built by ``command`` is already on one line and passes unchanged, and so does
    JSON, whose strings escape CR and LF themselves (the other breaks become the JSON
    escapes that mean the same character)."""
    return text.translate(_LINE_BREAKS)


def say(text: str, *, err: bool = False) -> None:
    """Print one line (stdout, or stderr with ``err``) through ``one_line``."""
    click.echo(one_line(text), err=err)


def defuse_block(text: str) -> str:
    """Markdown printed as many lines (a report on stdout): a line that a runner would
    read as a command (``::...``, ``##[...``) gets a backslash, which Markdown drops;
    line breaks other than LF are shown as escapes, so that LF alone starts a line."""
    return _COMMAND_LINE.sub(r"\1\\\2", text.translate(_NOT_LF))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def problem_annotation(problem: Problem) -> str:
    """``::error file=state.json,title=...::$.tasks.t7.dependencies: ...``"""
    return command(
        "error",
        f"{problem.path}: {problem.message}",
        file=problem.source,
        title="context-handoff: invalid input",
    )
