"""The one user-facing error type, its exit codes, and the problems it carries.

Library code raises these; only the CLI's boundary handler prints them and exits.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

MAX_PROBLEM_LINES = 20  # a file with 700 problems is read from its first few, not scrolled


class ExitCode(IntEnum):
    OK = 0
    HANDOFF_FAILED = 1  # over budget, stale state, invalid payload
    BAD_INPUT = 2  # bad usage or bad input
    INTERNAL = 3  # a bug: anything unexpected


class Problem(NamedTuple):
    """One thing wrong with an input, located by file and JSON path."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}::{self.path}: {self.message}"


class HandoffError(Exception):
    """Base of every error a user can cause; carries its exit code and problems."""

    exit_code: ExitCode = ExitCode.HANDOFF_FAILED

    def __init__(
        self,
        message: str,
        problems: tuple[Problem, ...] | list[Problem] = (),
        *,
        headline: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
        self.headline = headline  # the message is a verdict shown above the problems

    def shown_problems(self) -> tuple[Problem, ...]:
        """The first MAX_PROBLEM_LINES problems: what is printed and annotated."""
        return self.problems[:MAX_PROBLEM_LINES]

    def lines(self) -> list[str]:
        """What a person should see: the verdict (if any), then the problems, one a line,
        at most MAX_PROBLEM_LINES and a count of the rest; or just the message."""
        if not self.problems:
            return [self.message]
        lines = [self.message] if self.headline else []
        lines += [str(p) for p in self.shown_problems()]
        rest = len(self.problems) - MAX_PROBLEM_LINES
        if rest > 0:
            lines.append(f"(+{rest} more)")
        return lines


class InputError(HandoffError):
    """The input (a file, an option, a template) is unusable: exit 2."""

    exit_code = ExitCode.BAD_INPUT


class StateFileNotFound(InputError, FileNotFoundError):
    """Also a FileNotFoundError, which the guide's integrations catch."""


class EncodingUnavailable(InputError):
    """The tokenizer's encoding cannot be loaded (offline, or unknown name)."""


class HandoffFailed(HandoffError):
    """The handoff itself failed: over budget, stale state, invalid payload: exit 1."""

    exit_code = ExitCode.HANDOFF_FAILED
