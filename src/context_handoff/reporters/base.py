"""The reporter protocol and what a reporter is given."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol

from .. import render
from ..errors import HandoffError
from ..model import Generated
from ..payload_file import PayloadCheck


class Written(NamedTuple):
    """A handoff written: the pipeline's result and where each file went."""

    result: Generated
    output: Path
    report_path: Path | None
    report: render.Report | None
    snapshot_path: Path | None


class Reporter(Protocol):
    def generated(self, done: Written) -> None:
        """A handoff was written."""

    def checked(self, check: PayloadCheck) -> None:
        """A payload was validated (valid or not)."""

    def failed(self, exit_code: int, error: HandoffError | None) -> None:
        """The command failed: ``error`` is None for an unexpected error."""
