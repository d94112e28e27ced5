"""GitHub Actions: annotations on the run's page, step outputs, the job summary."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .. import defaults, pipeline, render
from ..errors import HandoffError, InputError
from ..jsontext import compact_json
from ..payload_file import PayloadCheck
from ..workflow_commands import command, problem_annotation, say
from .base import Written

if TYPE_CHECKING:  # notify imports requests, which generate does not need
    from ..notify.core import Outcome

# a job summary holds 1 MiB: the report is cut, whole sections first, to a length that
# fits however many bytes its characters take
SUMMARY_MAX_CHARS = defaults.JOB_SUMMARY_CHARS
FAILURE_SUMMARY = (
    "## context-handoff failed\n\nThe handoff failed with exit code {code}; "
    "the errors are annotated on this run.\n"
)


def step_outputs(done: Written) -> dict[str, str]:
    """The action's outputs that come from the payload (kebab-case, as GitHub's)."""
    payload = done.result.payload
    return {
        "payload-path": str(done.output),
        "report-path": str(done.report_path or ""),
        "level": payload.level.value,
        "tokens": str(payload.tokens),
        "budget": str(payload.budget),
        "handoff-id": payload.data["handoff_id"],
        "omitted": compact_json(payload.omitted),
    }


def append_outputs(path: str | Path, outputs: Mapping[str, str]) -> None:
    """Append step outputs to a ``$GITHUB_OUTPUT`` file (multi-line values as heredocs)."""
    text = ""
    for key, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            text += f"{key}<<{delimiter}\n{value}\n{delimiter}\n"
        else:
            text += f"{key}={value}\n"
    _append(path, text, "the step outputs")


def _append(path: str | Path, text: str, what: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"{path}: cannot append {what}: {exc.strerror or exc}") from None


def summary_text(
    done: Written, template: str | None, max_chars: int | None = None
) -> render.Report:
    """The report for the job summary: the written one when it fits, else cut to fit."""
    max_chars = max_chars or SUMMARY_MAX_CHARS
    if done.report is not None and len(done.report.text) <= max_chars:
        return done.report
    return render.render_report(pipeline.report_input_of(done.result.payload), template, max_chars)


class GitHubReporter:
    """``annotate``: problems as ``::error`` lines on stdout (``--error-format github``);
    ``output``: ``$GITHUB_OUTPUT``; ``summary``: ``$GITHUB_STEP_SUMMARY``."""

    def __init__(
        self,
        *,
        annotate: bool = False,
        output: Path | None = None,
        summary: Path | None = None,
        template: str | None = None,
    ) -> None:
        self.annotate, self.output, self.summary = annotate, output, summary
        self.template = template

    def generated(self, done: Written) -> None:
        if self.output is not None:
            append_outputs(self.output, {**step_outputs(done), "valid": "true"})
        if self.summary is not None:
            report = summary_text(done, self.template)
            if report.cut_sections:
                say(
                    f"note: the job summary was cut to fit {SUMMARY_MAX_CHARS:,} "
                    f"characters: {', '.join(report.cut_sections)}",
                    err=True,
                )
            _append(self.summary, report.text, "the job summary")

    def checked(self, check: PayloadCheck) -> None:
        if self.output is not None:
            append_outputs(self.output, {"valid": str(check.valid).lower()})

    def failed(self, exit_code: int, error: HandoffError | None) -> None:
        if self.annotate and error is not None:
            if not error.problems or error.headline:
                say(command("error", error.message, title="context-handoff"))
            for problem in error.shown_problems():
                say(problem_annotation(problem))
        # the outputs and summary may be what failed: say so on the terminal only, and
        # not a second time when the error already names that file
        for write, path in (
            (self._failure_outputs, self.output),
            (self._failure_summary, self.summary),
        ):
            try:
                write(exit_code)
            except InputError as exc:
                if error is None or str(path) not in error.message:
                    say(f"error: {exc.message}", err=True)

    def _failure_outputs(self, exit_code: int) -> None:
        if self.output is not None:
            append_outputs(self.output, {"valid": "false"})

    def _failure_summary(self, exit_code: int) -> None:
        if self.summary is not None:
            _append(self.summary, FAILURE_SUMMARY.format(code=exit_code), "the job summary")

    def notified(self, outcome: Outcome) -> None:
        if self.output is not None and outcome.issue is not None:
            append_outputs(
                self.output,
                {"issue-number": str(outcome.issue.number), "issue-url": outcome.issue.url},
            )
