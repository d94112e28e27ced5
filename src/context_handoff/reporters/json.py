"""``--json``: one JSON object on stdout for a program to read; problems as text."""

from __future__ import annotations

import json
from typing import Any

from ..payload_file import PayloadCheck
from ..workflow_commands import say
from .base import Written
from .text import TextReporter


def _echo(value: dict[str, Any]) -> None:
    say(json.dumps(value, ensure_ascii=False))


class JsonReporter(TextReporter):
    def generated(self, done: Written) -> None:
        payload = done.result.payload
        _echo(
            {
                "payload": str(done.output),
                "report": str(done.report_path) if done.report_path else None,
                "level": payload.level.value,
                "tokens": payload.tokens,
                "budget": payload.budget,
                "encoding": payload.encoding,
                "handoff_id": payload.data["handoff_id"],
                "omitted": payload.omitted,
            }
        )

    def checked(self, check: PayloadCheck) -> None:
        _echo(
            {
                "payload": check.path,
                "valid": check.valid,
                "level": check.level,
                "tokens": check.tokens,
                "budget": check.budget,
                "encoding": check.encoding,
                "problems": [{"path": p.path, "message": p.message} for p in check.problems],
            }
        )

    def counted(self, encoding: str, counts: dict[str, int]) -> None:
        _echo({"encoding": encoding, "tokens": counts})
