"""What a CI job learns about a payload: GitHub step outputs and a GitLab dotenv report."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError
from .model import Payload


def step_outputs(payload: Payload, payload_path: Path, report_path: Path | None
                 ) -> dict[str, str]:
    """The action's outputs that come from the payload (kebab-case, as GitHub's)."""
    return {
        "payload-path": str(payload_path), "report-path": str(report_path or ""),
        "level": payload.level.value, "tokens": str(payload.tokens),
        "budget": str(payload.budget), "handoff-id": payload.data["handoff_id"],
        "omitted": json.dumps(payload.omitted, separators=(",", ":")),
    }


def dotenv_text(payload: Payload, payload_path: Path) -> str:
    """``CONTEXT_HANDOFF_*`` variables for later jobs (GitLab's ``reports: dotenv``)."""
    values = {
        "LEVEL": payload.level.value, "TOKENS": payload.tokens, "BUDGET": payload.budget,
        "HANDOFF_ID": payload.data["handoff_id"], "PAYLOAD": payload_path,
    }
    for key, value in values.items():
        if any(c in str(value) for c in "\n\r\0"):
            raise InputError(f"--dotenv: {key.lower()} {str(value)!r} holds a line break, which "
                             "a dotenv file cannot carry; choose a path without one")
    return "".join(f"CONTEXT_HANDOFF_{key}={value}\n" for key, value in values.items())
