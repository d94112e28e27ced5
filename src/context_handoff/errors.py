"""The one user-facing error type, its exit codes, and the problems it carries.

Library code raises these; only the CLI's boundary handler prints them and exits.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


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

    def __init__(self, message: str, problems: tuple[Problem, ...] | list[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)

    def lines(self) -> list[str]:
        """What a person should see: every problem, one a line, or the message."""
        if self.problems:
            return [str(p) for p in self.problems]
        return [self.message]


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
