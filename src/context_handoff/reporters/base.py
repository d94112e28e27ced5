"""The reporter protocol and what a reporter is given."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol

from .. import pipeline, render
from ..errors import HandoffError


class Generated(NamedTuple):
    """A handoff written: the pipeline's result and where each file went."""

    result: pipeline.Generated
    output: Path
    report_path: Path | None
    report: render.Report | None
    snapshot_path: Path | None


class Reporter(Protocol):
    def generated(self, done: Generated) -> None:
        """A handoff was written."""

    def checked(self, check: pipeline.PayloadCheck) -> None:
        """A payload was validated (valid or not)."""

    def failed(self, exit_code: int, error: HandoffError | None) -> None:
        """The command failed: ``error`` is None for an unexpected error."""
