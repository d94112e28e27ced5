"""The strategies ours is measured against, on the same states and budgets.

(a) ``whole_state_cut``: the whole state as compact JSON, cut to the budget.
(b) ``original_strategy``: the replaced tool's v1.0.0 payloads, rebuilt from what it
    is known to have written: the v1 keys, fixed caps (next 3 / 5, the last 3 errors,
    messages cut at 100 characters), the context's lists taken as the truth,
    blocking not transitive, "critical path" as direct-dependent counts, no budget.
"""

from __future__ import annotations

from typing import Any

from context_handoff.jsontext import compact_json
from context_handoff.tokens import TokenCounter


def whole_state_cut(doc: dict[str, Any], budget: int, counter: TokenCounter) -> str:
    """The state's compact JSON, cut at the last character that keeps it within budget."""
    import tiktoken

    text = compact_json(doc)
    encoding = tiktoken.get_encoding(counter.name)
    tokens = encoding.encode_ordinary(text)
    return encoding.decode(tokens[:budget]) if len(tokens) > budget else text


def original_strategy(doc: dict[str, Any], level: str) -> str:
    """The payload the original v1.0.0 generator wrote for ``doc`` at ``level``: its keys,
    its fixed caps, its context-list truths, its one-hop blocking, its dependent-count
    "critical path" and no budget (made safe where it crashed: null errors, decisions)."""
    tasks = doc.get("tasks") or {}
    ctx = doc.get("context") or {}
    completed = set(ctx.get("completed_tasks") or [])
    failed_ids = list(ctx.get("failed_tasks") or [])
    active = list(ctx.get("active_tasks") or [])
    eligible = sorted(
        t
        for t, v in tasks.items()
        if v.get("status") == "pending"
        and all(d in completed for d in (v.get("dependencies") or []))
    )
    progress = f"{int(len(completed) / len(tasks) * 100) if tasks else 0}%"
    if level == "minimal":
        return compact_json(
            {
                "summary": {
                    "phase": ctx.get("current_phase"),
                    "progress": progress,
                    "task": active[0] if active else None,
                },
                "active": active,
                "failed": [
                    f"{t}: {((tasks.get(t) or {}).get('error') or {}).get('type', 'Error')}"
                    for t in failed_ids
                ],
                "next": eligible[:3],
            }
        )
    errors = ((doc.get("error_tracking") or {}).get("errors") or [])[-3:]
    decisions = (doc.get("user_customizations") or {}).get("runtime_decisions") or []
    decisions = sorted(
        decisions,
        reverse=True,
        key=lambda d: str((d.get("decision") or {}).get("decided_at") or ""),
    )[:3]
    env = doc.get("environment_config") or {}
    python = ((env.get("runtime_environment") or {}).get("python") or {}).get("version") or ""
    missing = (env.get("dependencies") or {}).get("missing_dependencies") or []
    warnings = []
    if python and python < "3.10":  # the original compared versions as strings
        warnings.append(f"Python {python} detected, 3.10+ recommended")
    if missing:
        warnings.append(f"{len(missing)} missing dependencies")
    phases = (doc.get("dag") or {}).get("phases") or {}
    done = {t for t, v in tasks.items() if v.get("status") == "success"}
    current = phases.get(ctx.get("current_phase")) or {}
    members = current.get("tasks") or []
    complete = sum(t in done for t in members)
    failed_set = set(failed_ids)
    payload = {
        "version": "1.0.0",
        "handoff_id": "handoff_20250115_150000",
        "summary": {
            "project": (doc.get("metadata") or {}).get("project_name"),
            "current_phase": ctx.get("current_phase"),
            "progress": progress,
            "tasks_complete": len(completed),
            "tasks_total": len(tasks),
            "generated_at": "2025-01-15T15:00:00.000000Z",
        },
        "execution_state": {
            "active_tasks": active,
            "blocked_tasks": [
                t
                for t, v in tasks.items()
                if v.get("status") == "pending"
                and any(d in failed_set for d in (v.get("dependencies") or []))
            ],
            "failed_tasks": failed_ids,
            "next_eligible": eligible[:5],
        },
        "critical_context": {
            "errors": [
                {
                    "task_id": e.get("task_id"),
                    "type": e.get("error_type"),
                    "message": (e.get("message") or "")[:100],
                }
                for e in errors
            ],
            "user_decisions": [
                {"prompt": d.get("prompt"), "choice": (d.get("decision") or {}).get("choice")}
                for d in decisions
            ],
            "warnings": warnings,
        },
        "dag_snapshot": {
            "phases_completed": [
                p for p, v in phases.items() if all(t in done for t in v.get("tasks") or [])
            ],
            "current_phase_progress": {
                "total": len(members),
                "complete": complete,
                "pct": int(complete / len(members) * 100) if members else 0,
            },
            "critical_path": [
                t
                for t, _ in sorted(
                    (
                        (t, len(v.get("dependents") or []))
                        for t, v in tasks.items()
                        if v.get("status") != "success"
                    ),
                    key=lambda x: -x[1],
                )
            ][:5],
        },
    }
    if level == "full":
        files = (doc.get("filesystem_state") or {}).get("files") or {}
        disk = (doc.get("filesystem_state") or {}).get("disk_usage") or {}
        system = env.get("system_info") or {}
        os_info = system.get("os") or {}
        packages = (env.get("dependencies") or {}).get("python_packages") or []
        payload["file_state"] = {
            "artifacts": [
                {"path": p, "by": f.get("produced_by")}
                for p, f in files.items()
                if f.get("produced_by")
            ][-5:],
            "required": [p for p, f in files.items() if f.get("required_by") and f.get("exists")],
            "disk_mb": int((disk.get("total_bytes") or 0) / (1024 * 1024)),
        }
        payload["environment"] = {
            "os": f"{os_info.get('type')} {os_info.get('version')}",
            "python": python or "unknown",
            "packages": {
                p.get("name"): p.get("version")
                for p in packages
                if p.get("name") in ("numpy", "pandas", "torch", "tensorflow")
            },
        }
    return compact_json(payload)
