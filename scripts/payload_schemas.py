"""Write the payload JSON Schemas (minimal, standard, full) from one set of definitions.

The three levels share their pieces (meta, omitted, the v1 summary, error entries, ...):
they are defined once here and copied into each schema's ``$defs``, so each shipped
schema stands alone (no remote ``$ref`` to resolve) and none is edited by hand.

    python scripts/payload_schemas.py          # rewrite src/context_handoff/schemas/*.json
    python scripts/payload_schemas.py --check  # exit 1 if they are out of date

``make schemas`` runs this, then compile_schemas.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "src" / "context_handoff" / "schemas"
BASE = "https://context-handoff.dev/schemas/"

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer", "minimum": 0}
NNUM = {"type": ["number", "null"]}


def strings() -> dict[str, Any]:
    return {"type": "array", "items": STR}


def strings_by_id() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": STR}


def obj(required: list[str], properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, **extra}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


DEFS: dict[str, Any] = {
    "meta": obj(
        ["level", "encoding", "budget", "state_digest", "generated_at"],
        {
            "level": {"enum": ["minimal", "standard", "full"]},
            "encoding": STR,
            "budget": {"type": "integer", "minimum": 1},
            "state_digest": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
            "generated_at": STR,
            "redacted": {"type": "object", "additionalProperties": INT},
        },
    ),
    "omitted": {
        "type": "object",
        "description": "dotted path of each list or map that was cut -> items left out",
        "additionalProperties": {"type": "integer", "minimum": 1},
    },
    "progress": {"type": "string", "pattern": "^[0-9]{1,3}%$"},
    "error": obj(
        ["task_id", "type", "message"],
        {"task_id": NSTR, "type": NSTR, "message": STR, "at": STR, "trace": STR},
    ),
    "decision": obj(["prompt", "choice"], {"prompt": STR, "choice": STR, "why": STR}),
    "failure": obj(
        [],
        {
            "name": STR,
            "message": STR,
            "blocks": INT,
            "tried": strings(),
            "tried_earlier": INT,
        },
    ),
    "changes": obj(
        ["since"],
        {
            "since": obj(["at", "digest"], {"at": STR, "digest": STR}),
            "phase": obj(["from", "to"], {"from": NSTR, "to": NSTR}),
            "newly_failed": strings(),
            "recovered": strings(),
            "started": strings(),
            "newly_done": strings(),
            "newly_ready": strings(),
            "removed": strings(),
            "decided": strings(),
        },
    ),
    "phase": obj(
        ["id", "name", "done", "total", "status"],
        {
            "id": STR,
            "name": STR,
            "done": INT,
            "total": INT,
            "status": {"enum": ["done", "active", "pending"]},
            "dropped": INT,
        },
    ),
}


def minimal() -> dict[str, Any]:
    return obj(
        ["handoff_id", "summary", "active", "failed", "next", "meta", "omitted"],
        {
            "handoff_id": STR,
            "summary": obj(
                ["phase", "progress", "task"],
                {
                    "phase": NSTR,
                    "progress": ref("progress"),
                    "task": NSTR,
                    "project": STR,
                    "tasks_complete": INT,
                    "tasks_total": INT,
                    "tasks_dropped": INT,
                    "state_age_hours": NNUM,
                    "state_age_source": NSTR,
                    "phase_name": STR,
                },
            ),
            "active": strings(),
            "failed": {"type": "array", "items": STR, "description": "'<task id>: <error type>'"},
            "next": strings(),
            "more_failed": {
                "type": "object",
                "additionalProperties": strings(),
                "description": "error type -> the failed task ids after failed's first five",
            },
            "failures": {"type": "object", "additionalProperties": ref("failure")},
            "pending_decisions": strings(),
            "names": strings_by_id(),
            "missing_dependencies": strings(),
            "changes": ref("changes"),
            "meta": {"allOf": [ref("meta"), {"properties": {"level": {"const": "minimal"}}}]},
            "omitted": ref("omitted"),
        },
        **{"not": {"required": ["version"]}},  # v1 readers tell minimal by its absence
    )


def standard(level: str = "standard") -> dict[str, Any]:
    return obj(
        [
            "version",
            "handoff_id",
            "summary",
            "execution_state",
            "critical_context",
            "dag_snapshot",
            "meta",
            "omitted",
        ],
        {
            "version": STR,
            "handoff_id": STR,
            "summary": obj(
                [
                    "project",
                    "current_phase",
                    "progress",
                    "tasks_complete",
                    "tasks_total",
                    "generated_at",
                ],
                {
                    "project": STR,
                    "current_phase": NSTR,
                    "progress": ref("progress"),
                    "tasks_complete": INT,
                    "tasks_total": INT,
                    "tasks_dropped": INT,
                    "generated_at": STR,
                    "last_updated": NSTR,
                    "state_age_hours": NNUM,
                    "state_age_source": NSTR,
                    "phase_name": STR,
                },
            ),
            "execution_state": obj(
                ["active_tasks", "blocked_tasks", "failed_tasks", "next_eligible"],
                {
                    "active_tasks": strings(),
                    "blocked_tasks": strings(),
                    "failed_tasks": strings(),
                    "next_eligible": strings(),
                    "failure_types": {
                        "type": "array",
                        "items": {
                            "type": "array",
                            "items": {"type": ["string", "integer"]},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                        "description": "the runs [error type, n] of one type along "
                        "failed_tasks: the next n ids have that type",
                    },
                    "failures": {"type": "object", "additionalProperties": ref("failure")},
                    "names": strings_by_id(),
                    "blocked_by": strings_by_id(),
                    "priorities": strings_by_id(),
                    "source_statuses": strings_by_id(),
                    "details": strings_by_id(),
                },
            ),
            "critical_context": obj(
                ["errors", "user_decisions", "warnings"],
                {
                    "errors": {"type": "array", "items": ref("error")},
                    "user_decisions": {"type": "array", "items": ref("decision")},
                    "warnings": strings(),
                },
            ),
            "dag_snapshot": obj(
                ["phases_completed", "current_phase_progress", "critical_path"],
                {
                    "phases_completed": strings(),
                    "current_phase_progress": obj(
                        ["total", "complete", "pct"],
                        {
                            "total": INT,
                            "complete": INT,
                            "pct": {"type": "integer", "minimum": 0, "maximum": 100},
                            "dropped": INT,
                        },
                    ),
                    "critical_path": strings(),
                    "phases": {"type": "array", "items": ref("phase")},
                },
            ),
            "changes": ref("changes"),
            "meta": {"allOf": [ref("meta"), {"properties": {"level": {"const": level}}}]},
            "omitted": ref("omitted"),
        },
    )


def full() -> dict[str, Any]:
    schema = standard("full")
    schema["required"] += ["file_state", "environment"]
    schema["properties"]["file_state"] = obj(
        ["artifacts", "required", "disk_mb"],
        {
            "artifacts": {"type": "array", "items": obj(["path", "by"], {"path": STR, "by": STR})},
            "required": strings(),
            "disk_mb": INT,
            "missing": strings(),
            "disk": obj(
                [],
                {
                    "total_mb": INT,
                    "available_mb": INT,
                    "used_pct": {"type": "number", "minimum": 0},
                },
            ),
        },
    )
    schema["properties"]["environment"] = obj(
        ["os", "python", "packages"],
        {
            "os": STR,
            "python": STR,
            "packages": strings_by_id(),
            "architecture": NSTR,
            "missing_dependencies": strings(),
        },
    )
    return schema


def schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for name, body in (("minimal", minimal()), ("standard", standard()), ("full", full())):
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE}{name}.schema.json",
            "title": f"context-handoff {name} payload",
            **body,
            "$defs": DEFS,
        }
    return out


def main() -> None:
    stale = []
    for name, schema in schemas().items():
        target = OUT / f"{name}.schema.json"
        text = json.dumps(schema, indent=2) + "\n"
        if "--check" in sys.argv:
            if not target.exists() or target.read_text("utf-8") != text:
                stale.append(str(target))
        else:
            target.write_text(text, "utf-8")
    if stale:
        print("out of date (run make schemas): " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
