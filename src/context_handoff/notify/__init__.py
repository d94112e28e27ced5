"""Open, update and close an issue for a failing scheduled handoff.

One module per tracker (``github``, ``gitlab``) behind the ``Tracker`` protocol in
``core``; ``TRACKERS_BY_NAME`` is the registry the CLI chooses from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import HandoffFailed, InputError
from . import github, gitlab
from .core import (
    DEADLINE_SECONDS,
    NotifyOptions,
    Outcome,
    Refused,
    Tracker,
    TrackerKind,
    fingerprint_of,
    notify,
)

TRACKERS_BY_NAME: dict[str, TrackerKind] = {"github": github, "gitlab": gitlab}

__all__ = [
    "TRACKERS_BY_NAME",
    "NotifyOptions",
    "Outcome",
    "Tracker",
    "TrackerKind",
    "notify",
    "run_notify",
]


def run_notify(
    tracker_name: str,
    environ: Mapping[str, str],
    *,
    status: str,
    label: str,
    fingerprint: str | None,
    title: str | None,
    report_path: Path | None,
    artifact_url: str | None,
    close_on_success: bool,
    deadline_seconds: float = DEADLINE_SECONDS,
) -> Outcome:
    """The notify command: build the tracker from the environment, run the flow, and turn
    refusals and API failures into notices (they never change the handoff's result)."""
    kind = TRACKERS_BY_NAME[tracker_name]
    scope = _scope(kind, environ)
    options = NotifyOptions(
        status=status,
        label=label,
        fingerprint=fingerprint or fingerprint_of(*scope, label),
        title=title or f"Context handoff failing: {scope[1] or 'scheduled job'}",
        report=_read_report(report_path),
        run_url=kind.run_url(environ),
        artifact_url=artifact_url,
        close_on_success=close_on_success,
    )
    try:
        outcome = notify(kind.build_tracker(environ, deadline_seconds), options)
    except Refused as exc:
        return Outcome("skipped", None, str(exc))
    except HandoffFailed as exc:
        return Outcome("skipped", None, f"could not update the issue: {exc.message}")
    return outcome


def _scope(kind: TrackerKind, environ: Mapping[str, str]) -> tuple[str, str, str]:
    first, second, third = (environ.get(k, "") for k in kind.SCOPE_KEYS)
    return first, second, third


def _read_report(path: Path | None) -> str:
    if path is None:
        return "_No report was produced: the handoff failed before it (see the job log)._"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"_No report at {path}: the handoff failed before writing it (see the job log)._"
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the report: {exc}") from None
