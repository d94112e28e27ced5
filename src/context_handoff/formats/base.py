"""What every input format is: the InputFormat protocol, its options and its answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ..errors import Problem
from ..model import Source, State

# What detect() answers: not this format; its outline but not its telltale parts; certainly.
NO, MAYBE, SURE = 0, 1, 2


class ReadOptions(NamedTuple):
    """What a format may need beyond the document."""

    path: Path | None = None  # the file read (None for an inline document)
    tag: str | None = None  # Task Master: the tag to read (--tag)
    root: Path | None = None  # files beside the state are read only inside this folder


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, is in ``root``: a file beside the state is read
    only then when ReadOptions has a root."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop: not a file to read
        return False


class InputFormat(Protocol):
    """One input format. A module with these names satisfies it (``telltale`` is
    optional: messages say it when they say why a file was read as this format)."""

    name: str  # what --format takes
    label: str  # for messages: "an orchestrator state"

    def detect(self, document: Any) -> int:
        """NO, MAYBE or SURE: does ``document`` look like this format?"""

    def check(self, document: Any, source: str, options: ReadOptions) -> list[Problem]:
        """Every problem that stops ``document`` from being read, each with its JSON path."""

    def to_state(
        self, document: Any, source: Source, options: ReadOptions, redact: Callable[[Any], Any]
    ) -> State:
        """The State of a checked document. ``redact`` scrubs credentials from a parsed
        part in place (the whole document, or the part that is read): call it on every
        part whose strings reach the State, before reading them."""
