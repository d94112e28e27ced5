"""The payload as the reports read it: one record a task with its details joined in, the
failures grouped by error type, and for every list how many it shows of how many.

A value the payload cut is never shown as absent: a failure whose error or reach was cut
says so (``cut``), and a list names how many it shows of how many and where the rest is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FIRST_FAILURE_ROWS = 5  # failures described row by row; the rest by error type
FIRST_TASK_ROWS = 10  # active and next tasks a row each; the rest as a line of ids
_FIRST_OF_GROUP = 3  # ids named for each error type
CUT = "cut"  # a value the payload left out to fit its budget (not: none recorded)

_COUNTED = {  # what the key facts count: the v1 list at each level
    "active": ("active", "execution_state.active_tasks"),
    "failed": ("failed", "execution_state.failed_tasks"),
    "blocked": ("execution_state.blocked_tasks",),
    "ready": ("next", "execution_state.next_eligible"),
}


def at_path(payload: Mapping[str, Any], path: str) -> Any:
    value: Any = payload
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def shown(payload: Mapping[str, Any], path: str) -> tuple[int, int]:
    """How many items of the list (or map) at ``path`` the payload shows, of how many."""
    value = at_path(payload, path)
    kept = len(value) if isinstance(value, (list, Mapping)) else 0
    if isinstance(value, Mapping) and value and all(isinstance(v, list) for v in value.values()):
        kept = sum(map(len, value.values()))  # a map of lists (more_failed): its ids
    return kept, kept + int((payload.get("omitted") or {}).get(path, 0))


def counts(payload: Mapping[str, Any]) -> dict[str, int]:
    """How many tasks of each kind: each list's length plus what ``omitted`` says was cut."""
    out = {}
    for kind, paths in _COUNTED.items():
        for path in paths:
            if isinstance(at_path(payload, path), list):
                out[kind] = shown(payload, path)[1]
    if isinstance(payload.get("more_failed"), Mapping):  # minimal: the failures after failed
        out["failed"] = out.get("failed", 0) + shown(payload, "more_failed")[1]
    return out


def execution(payload: Mapping[str, Any], critical: Mapping[str, Any]) -> dict[str, Any]:
    """The payload's tasks as the reports show them: one record a task, its details
    joined in from the keys that carry them (ids in the v1 lists, details by id)."""
    state = payload.get("execution_state")
    if state is None:
        return _minimal_execution(payload)
    names = state.get("names") or {}
    failed = _failed_rows(payload, state, critical)
    # a row whose type is None: its run in failure_types was cut (never "Error")
    unknown_type = (
        f"type {CUT}"
        if (payload.get("omitted") or {}).get("execution_state.failure_types")
        else "Error"
    )
    complete = not (payload.get("omitted") or {}).get(
        "execution_state.failure_types"
        if state.get("failure_types")
        else "execution_state.failed_tasks"
    )
    blocked: dict[str, list[str]] = {}
    blocked_by = state.get("blocked_by") or {}
    unknown = (
        f"({CUT})" if (payload.get("omitted") or {}).get("execution_state.blocked_by") else "—"
    )
    for tid in state.get("blocked_tasks") or []:
        blocked.setdefault(blocked_by.get(tid, unknown), []).append(tid)
    if list(blocked) == ["—"]:  # the input names no blocker (Task Master): no such column
        blocked = {"": blocked["—"]}
    priorities = state.get("priorities") or {}
    words = state.get("source_statuses") or {}

    def task(tid: str) -> dict[str, Any]:
        return {
            "id": tid,
            "name": names.get(tid),
            "priority": priorities.get(tid),
            "status": words.get(tid),
        }

    return {
        "failed_tasks": failed,
        # the groups count every failure, also those the payload cut, when no run was
        # cut; else only the failures shown
        "failure_groups": _groups(failed, _runs(state))
        if complete
        else _groups_of_rows(failed, unknown_type),
        "groups_complete": complete,
        "active_tasks": [task(t) for t in state.get("active_tasks") or []],
        "next_tasks": [task(t) for t in state.get("next_eligible") or []],
        "blocked_tasks": blocked,
    }


def _minimal_execution(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Minimal: "failed" holds ``"<id>: <error type>"``, "more_failed" the rest grouped by
    error type; names and details keyed by id."""
    failures = payload.get("failures") or {}
    omitted = payload.get("omitted") or {}
    details_cut = bool(omitted.get("failures"))
    names = payload.get("names") or {}
    failed: list[dict[str, Any]] = []
    for tid, kind in minimal_failed(payload):
        detail = failures.get(tid)
        message = (detail or {}).get("message")
        if detail is None and details_cut:
            message = f"message {CUT}"
        failed.append(
            {
                "id": tid,
                "type": kind,
                "name": None,
                "error": f"{kind}: {message}" if message else kind,
                "blocks": _blocks(detail, details_cut),
                "tried": [],
            }
        )

    def task(tid: str) -> dict[str, Any]:
        return {"id": tid, "name": names.get(tid), "priority": None, "status": None}

    return {
        "failed_tasks": failed,
        "failure_groups": _groups_of_rows(failed),
        "groups_complete": not (omitted.get("failed") or omitted.get("more_failed")),
        "active_tasks": [task(t) for t in payload.get("active") or []],
        "next_tasks": [task(t) for t in payload.get("next") or []],
        "blocked_tasks": {},
    }


def minimal_failed(payload: Mapping[str, Any], known: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(id, error type) of each failure a minimal payload holds, ``failed``'s first, then
    ``more_failed``'s. An entry of ``failed`` is ``"<id>: <Type>"``; as either part may
    hold ``": "``, it is split where the part before is an id the payload (or ``known``)
    names elsewhere, else at the first ``": "`` (an id rarely holds one; a type may:
    ``requests: HTTPError``)."""
    grouped = payload.get("more_failed") or {}
    if not isinstance(grouped, Mapping):
        grouped = {}
    later = [(str(t), _type_text(k)) for k, ids in grouped.items() for t in ids or []]
    ids = {t for t, _ in later} | set(known)
    for key in ("failures", "names"):
        ids |= set(map(str, payload.get(key) or {}))
    for key in ("active", "next"):
        ids |= {str(t) for t in payload.get(key) or []}
    return [_split_entry(str(e), ids) for e in payload.get("failed") or []] + later


def _split_entry(entry: str, ids: set[str]) -> tuple[str, str]:
    cuts = [m.start() for m in re.finditer(": ", entry)]
    at = next((i for i in cuts if entry[:i] in ids), cuts[0] if cuts else len(entry))
    return entry[:at], _type_text(entry[at + 2 :])


def _type_text(kind: Any) -> str:
    """An error type as the report groups it: white space runs one space (as the payload
    writes them), ``Error`` when there is none."""
    return " ".join(str(kind).split()) or "Error"


def _blocks(detail: Mapping[str, Any] | None, cut: bool) -> int | str:
    if detail is None:
        return CUT if cut else 0
    return int(detail.get("blocks", 0))


def _failed_rows(
    payload: Mapping[str, Any], state: Mapping[str, Any], critical: Mapping[str, Any]
) -> list[dict[str, Any]]:
    omitted = payload.get("omitted") or {}
    errors_cut = bool(omitted.get("critical_context.errors"))
    details_cut = bool(omitted.get("execution_state.failures"))
    names = state.get("names") or {}
    failures = state.get("failures") or {}
    errors = {e.get("task_id"): e for e in critical.get("errors") or []}
    ids = state.get("failed_tasks") or []
    kinds = [kind for kind, n in _runs(state) for _ in range(n)]
    rows = []
    for index, tid in enumerate(ids):
        detail = failures.get(tid)
        error = errors.get(tid) or {}
        kind = error.get("type") or (kinds[index] if index < len(kinds) else None)
        message = error.get("message") or (f"message {CUT}" if errors_cut else None)
        text = ": ".join(str(x) for x in (kind, message) if x)
        rows.append(
            {
                "id": tid,
                "type": kind,
                "name": (detail or {}).get("name") or names.get(tid),
                "error": text or ("error " + CUT if errors_cut else "none recorded"),
                "blocks": _blocks(detail, details_cut),
                "tried": [CUT]
                if detail is None and details_cut
                else (detail or {}).get("tried", []),
                "tried_earlier": (detail or {}).get("tried_earlier", 0),
            }
        )
    return rows


def _runs(state: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``failure_types``: the runs ``[type, n]`` of one error type along failed_tasks."""
    return [(str(run[0]), int(run[1])) for run in state.get("failure_types") or []]


def _groups(rows: list[dict[str, Any]], runs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Error type -> how many failed with it (cut ones too, as far as the runs kept say)
    and its first ids, the type of the failure blocking the most first."""
    if not runs:
        return _groups_of_rows(rows, "Error")
    totals: dict[str, int] = {}
    for kind, n in runs:
        totals[kind] = totals.get(kind, 0) + n
    out = []
    for kind, count in totals.items():
        ids = [r["id"] for r in rows if r.get("type") == kind]
        out.append({"type": kind, "count": count, "first": ids[:_FIRST_OF_GROUP]})
    return out


def _groups_of_rows(rows: list[dict[str, Any]], unknown: str = "Error") -> list[dict[str, Any]]:
    """Error type -> the rows' ids; a row whose type is None is under ``unknown`` (the
    type was cut, or none recorded)."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        kind = row.get("type")
        groups.setdefault(unknown if kind is None else _type_text(kind), []).append(row["id"])
    return [
        {"type": kind, "count": len(ids), "first": ids[:_FIRST_OF_GROUP]}
        for kind, ids in groups.items()
    ]


def critical_lists(
    payload: Mapping[str, Any], critical: Mapping[str, Any], execution: Mapping[str, Any]
) -> dict[str, Any]:
    decisions = critical.get("user_decisions") or []
    failed = {t["id"] for t in execution["failed_tasks"]}
    pending = [d.get("prompt") for d in decisions if str(d.get("choice")).lower() == "pending"]
    return {
        "pending_decisions": pending or list(payload.get("pending_decisions") or []),
        "recent_decisions": [d for d in decisions if str(d.get("choice")).lower() != "pending"],
        "recent_errors": (
            recent := [e for e in critical.get("errors") or [] if e.get("task_id") not in failed]
        ),
        "errors_dated": any(e.get("at") for e in recent),  # else no "When" column
        "warnings": critical.get("warnings") or [],
    }


def statuses(execution: Mapping[str, Any]) -> dict[str, str]:
    status: dict[str, str] = {}
    for group in (execution.get("blocked_tasks") or {}).values():
        status.update(dict.fromkeys(group, "blocked"))
    status.update({t["id"]: "ready" for t in execution.get("next_tasks") or []})
    status.update({t["id"]: "failed" for t in execution.get("failed_tasks") or []})
    status.update({t["id"]: "running" for t in execution.get("active_tasks") or []})
    return status


def age(hours: float | None) -> str:
    """An age in the unit a person reads: hours under two days, then days."""
    if hours is None:
        return "unknown"
    if abs(hours) < 48:
        return f"{hours:g} h"
    return f"{hours / 24:.1f} days"
