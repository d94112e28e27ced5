"""What the commands print for a person: results on stdout, problems on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import render
from ..errors import HandoffError
from ..payload_file import PayloadCheck
from ..workflow_commands import command, defuse_block, say
from .base import Written

if TYPE_CHECKING:  # notify imports requests, which generate does not need
    from ..notify.core import Outcome


class TextReporter:
    def generated(self, done: Written) -> None:
        payload = done.result.payload
        say(
            f"wrote {done.output}: {payload.level.value} level, "
            f"{payload.tokens}/{payload.budget} tokens ({payload.encoding}), "
            f"handoff {payload.data['handoff_id']}"
        )
        if done.report_path is not None:
            say(f"report: {done.report_path}")
        if done.report is not None:
            _warn_unfilled(done.report)
        say("omitted: " + (", ".join(f"{k} {v}" for k, v in payload.omitted.items()) or "nothing"))
        facts = done.result.facts
        if facts.warnings:
            say(f"warnings: {len(facts.warnings)} (listed in the payload)")
        if done.snapshot_path is not None:
            say(f"snapshot: {done.snapshot_path}")
        found = facts.changes
        if found is not None:
            counts = {
                "newly failed": found.newly_failed,
                "recovered": found.recovered,
                "started": found.started,
                "done": found.newly_done,
                "newly ready": found.newly_ready,
                "decided": found.decided,
            }
            say(
                f"since {found.since_at}: "
                + (
                    ", ".join(f"{len(ids)} {kind}" for kind, ids in counts.items() if ids)
                    or "no change"
                )
                + (f", phase {found.phase_from} -> {found.phase_to}" if found.phase_moved else "")
            )
        for note in done.result.notes:
            say(f"note: {note}")

    def checked(self, check: PayloadCheck) -> None:
        if check.valid:
            say(
                f"valid: {check.path}: {check.level} level, "
                f"{check.tokens}/{check.budget} tokens ({check.encoding})"
            )
            return
        for problem in check.problems:
            say(f"invalid: {problem}", err=True)

    def failed(self, exit_code: int, error: HandoffError | None) -> None:
        for line in error.lines() if error is not None else ():
            say(f"error: {line}", err=True)

    def counted(self, encoding: str, counts: dict[str, int]) -> None:
        for name, count in counts.items():
            say(f"{count}\t{name}")

    def rendered(self, report: render.Report, output: Path | None, max_chars: int | None) -> None:
        _warn_unfilled(report)
        if output is None:
            click.echo(defuse_block(report.text), nl=False)  # Markdown: many lines
        else:
            say(f"wrote {output} ({len(report.text):,} characters, template {report.template})")
        if report.cut_sections:
            say(f"cut to fit {max_chars:,} characters: {', '.join(report.cut_sections)}", err=True)

    def notified(self, outcome: Outcome, in_actions: bool) -> None:
        if outcome.notice:
            say(
                command("notice", outcome.notice) if in_actions else f"notice: {outcome.notice}",
                err=True,
            )
        if outcome.issue:  # the URL is the API's answer: data
            say(f"issue {outcome.action}: {outcome.issue.url}")
        else:
            say(f"issue: {outcome.action}")


def _warn_unfilled(report: render.Report) -> None:
    """The same warning from ``generate --template`` and ``report --template``."""
    for name in report.unfilled:
        say(f"warning: {report.template}: no value for {{{name}}}; left as it is", err=True)
