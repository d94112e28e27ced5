"""The strategies ours is measured against, on the same states and budgets.

(a) ``whole_state_cut``: the whole state as compact JSON, cut to the budget.
(b) ``original_strategy``: the replaced tool's v1.0.0 strategy, re-implemented from
    its description in STATE-FORMAT.md: fixed caps (next 3 / 5, the last 3 errors,
    messages cut at 100 characters), the context's lists taken as the truth,
    blocking not transitive, "critical path" as direct-dependent counts, no budget.
"""

from __future__ import annotations

import json
from typing import Any

from context_handoff.tokens import TokenCounter

DONE = {"success", "completed", "done"}


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def whole_state_cut(doc: dict[str, Any], budget: int, counter: TokenCounter) -> str:
    """The state's compact JSON, cut at the last character that keeps it within budget."""
    import tiktoken

    text = _compact(doc)
    encoding = tiktoken.get_encoding(counter.name)
    tokens = encoding.encode_ordinary(text)
    return encoding.decode(tokens[:budget]) if len(tokens) > budget else text


def original_strategy(doc: dict[str, Any], level: str) -> str:
    tasks = doc.get("tasks") or {}
    ctx = doc.get("context") or {}
    meta = doc.get("metadata") or {}
    done = [t for t, v in tasks.items() if v.get("status") in DONE]
    total = len(tasks)
    cap = 3 if level == "minimal" else 5
    pending = [
        t for t, v in tasks.items() if v.get("status") == "pending"
        and all(tasks.get(d, {}).get("status") in DONE for d in (v.get("dependencies") or []))
    ]
    failed = [
        {"id": t, "error": ((tasks.get(t, {}).get("error") or {}).get("message") or "")[:100]}
        for t in ctx.get("failed_tasks") or []
    ]
    summary = {"project": meta.get("project_name"), "current_phase": ctx.get("current_phase"),
               "progress": f"{round(100 * len(done) / total) if total else 0}%",
               "tasks_complete": len(done), "tasks_total": total}
    if level == "minimal":
        return _compact({"summary": summary, "active": ctx.get("active_tasks") or [],
                         "failed": failed, "next": pending[:cap]})
    errors = ((doc.get("error_tracking") or {}).get("errors") or [])[-3:]
    failed_ids = set(ctx.get("failed_tasks") or [])
    blocked = [t for t, v in tasks.items()
               if any(d in failed_ids for d in (v.get("dependencies") or []))]
    critical = sorted(tasks, key=lambda t: -len(tasks[t].get("dependents") or []))[:cap]
    decisions = ((doc.get("user_customizations") or {}).get("runtime_decisions") or [])[-3:]
    payload = {
        "version": "1.0.0", "summary": summary,
        "execution_state": {"active_tasks": ctx.get("active_tasks") or [],
                            "failed_tasks": failed, "next_tasks": pending[:cap],
                            "blocked_tasks": blocked[:cap]},
        "critical_context": {
            "recent_errors": [{"task": e.get("task_id"), "type": e.get("error_type"),
                               "message": (e.get("message") or "")[:100]} for e in errors],
            "decisions": [{"prompt": d.get("prompt"),
                           "choice": (d.get("decision") or {}).get("choice")} for d in decisions],
        },
        "dag_snapshot": {"critical_path": critical},
    }
    return _compact(payload)
