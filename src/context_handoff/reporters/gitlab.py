"""GitLab CI: the dotenv report that passes ``CONTEXT_HANDOFF_*`` to later jobs."""

from __future__ import annotations

from pathlib import Path

from ..errors import HandoffError, InputError
from ..payload_file import PayloadCheck
from ..write import write_atomically
from .base import Written


def dotenv_text(done: Written) -> str:
    """``CONTEXT_HANDOFF_*`` variables for later jobs (GitLab's ``reports: dotenv``)."""
    payload = done.result.payload
    values = {
        "LEVEL": payload.level.value,
        "TOKENS": payload.tokens,
        "BUDGET": payload.budget,
        "HANDOFF_ID": payload.data["handoff_id"],
        "PAYLOAD": done.output,
    }
    for key, value in values.items():
        check_dotenv_value(key, str(value))
    return "".join(f"CONTEXT_HANDOFF_{key}={value}\n" for key, value in values.items())


def check_dotenv_value(key: str, value: str) -> None:
    """InputError (exit 2) for a value a dotenv line cannot carry: the CLI asks before it
    writes anything (``PAYLOAD``, the one value that comes from the user)."""
    if any(c in value for c in "\n\r\0"):
        raise InputError(
            f"--dotenv: {key.lower()} {value!r} holds a line break, which "
            "a dotenv file cannot carry; choose a path without one"
        )


class GitLabReporter:
    def __init__(self, dotenv: Path) -> None:
        self.dotenv = dotenv

    def generated(self, done: Written) -> None:
        write_atomically(self.dotenv, dotenv_text(done))

    def checked(self, check: PayloadCheck) -> None:
        """Nothing: the dotenv report describes a handoff written."""

    def failed(self, exit_code: int, error: HandoffError | None) -> None:
        """Nothing: a failed job's dotenv report is not passed on."""
