"""Seeded, realistic orchestrator states of any size, for benchmarks and tests.

A layered dependency graph split into phases; finished work in the early layers,
running and failed tasks on the frontier, pending work behind it (some ready, some
blocked by a failure); error records with stack traces and long, non-ASCII
messages; decisions, some still pending; files and an environment. The same
arguments always give the same document.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from typing import Any

_VERBS = (
    "build",
    "test",
    "deploy",
    "migrate",
    "configure",
    "scan",
    "index",
    "train",
    "validate",
    "package",
    "provision",
    "sync",
    "render",
    "review",
    "benchmark",
)
_NOUNS = (
    "api",
    "database",
    "frontend",
    "cache",
    "queue",
    "auth",
    "search",
    "billing",
    "reports",
    "cluster",
    "gateway",
    "pipeline",
    "model",
    "docs",
    "monitoring",
)
_ERRORS = (
    ("ImportError", "Module 'bandit' not found. Required for security scanning."),
    (
        "TimeoutError",
        "Connection to db-primary:5432 timed out after 30 s while running "
        "migration 0042_add_indexes; the lock on table 'events' was held by pid 8812",
    ),
    (
        "ConnectionError",
        "Échec de connexion à la base de données — délai dépassé après 3 "
        "tentatives (hôte « db-réplica-2 »)",
    ),
    (
        "RuntimeError",
        "データベース接続に失敗しました: ホスト db-replica-3 が応答しません。"
        "再試行の上限に達しました",
    ),
    (
        "AssertionError",
        "expected 200 from /healthz, got 503 Service Unavailable; upstream "
        "'auth' reported: certificate has expired (notAfter=2025-01-14) " * 2,
    ),
    (
        "CalledProcessError",
        "Command '['kubectl', 'apply', '-f', 'k8s/']' returned non-zero "
        "exit status 1: error validating data: ValidationError(Deployment"
        '.spec.template.spec.containers[0]): unknown field "resource"',
    ),
)
_FIXES = (
    "pip install bandit",
    "increase the timeout to 120 s",
    "restart the replica",
    "rotate the certificate",
    "pin kubectl to 1.29",
    "clear the build cache",
)
_PROMPTS = (
    "Use Docker instead of Podman for containers?",
    "Skip the manual security scan and use the automated pipeline?",
    "Proceed with deployment despite the failed scan?",
    "Raise the replica count to 3 for the load test?",
    "Switch the queue backend to Redis streams?",
)


def make_state(
    tasks: int = 300,
    *,
    failed: int | None = None,
    active: int | None = None,
    seed: int = 0,
    project: str = "Synthetic Orchestrator Run",
    done_fraction: float = 0.45,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A state document with ``tasks`` tasks (``failed`` and ``active`` by default ~5 %, ~2 %)."""
    rng = random.Random(seed)
    now = now or datetime(2025, 1, 15, 14, 30, tzinfo=timezone.utc)
    n = max(tasks, 1)
    failed = min(failed if failed is not None else max(1, n // 20), n)
    active = min(active if active is not None else max(1, n // 50), n - failed)
    width = max(3, int(math.sqrt(n) * 1.5))
    ids = [f"task_{i:0{len(str(n))}d}_{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}" for i in range(n)]
    status = _statuses(n, width, failed, active, done_fraction, rng)
    finished_end = status.index("pending") if "pending" in status else n
    task_docs = {
        tid: _task(i, ids, status, width, rng, now, finished_end) for i, tid in enumerate(ids)
    }
    _add_dependents(task_docs)
    return {
        "metadata": {
            "project_name": project,
            "version": "1.0.0",
            "created_at": _iso(now - timedelta(days=5)),
            "last_updated": _iso(now),
        },
        "context": _context(ids, status, now),
        "tasks": task_docs,
        "dag": {"phases": _phases(ids, status)},
        "error_tracking": {"errors": _errors(ids, status, rng, now)},
        "user_customizations": {"runtime_decisions": _decisions(rng, now)},
        "filesystem_state": _filesystem(ids, rng),
        "environment_config": _environment(),
    }


def _statuses(
    n: int, width: int, failed: int, active: int, done_fraction: float, rng: random.Random
) -> list[str]:
    status = ["pending"] * n
    n_done = min(int(n * done_fraction), n - failed - active)
    for i in range(n_done):
        status[i] = "success"
    # the frontier: tasks after the first layer whose dependencies can all be done
    frontier = list(range(min(width, n_done), n))
    rng.shuffle(frontier)
    chosen = frontier[: failed + active]
    for i in chosen[:failed]:
        status[i] = "failed"
    for i in chosen[failed:]:
        status[i] = "running"
    return status


def _task(
    i: int,
    ids: list[str],
    status: list[str],
    width: int,
    rng: random.Random,
    now: datetime,
    finished_end: int,
) -> dict[str, Any]:
    layer = i // width
    verb, noun = ids[i].split("_")[2:4]
    doc: dict[str, Any] = {
        "name": f"{verb.capitalize()} {noun} (step {i})",
        "status": status[i],
        "dependencies": _dependencies(i, layer, width, status, rng, ids, finished_end),
    }
    if status[i] == "success":
        doc["completed_at"] = _iso(now - timedelta(minutes=len(ids) - i))
    elif status[i] == "failed":
        kind, message = _ERRORS[i % len(_ERRORS)]
        doc["error"] = {"type": kind, "message": message}
        doc["failed_at"] = _iso(now - timedelta(minutes=i % 97))
    elif status[i] == "running":
        doc["started_at"] = _iso(now - timedelta(minutes=i % 53))
    return doc


def _dependencies(
    i: int,
    layer: int,
    width: int,
    status: list[str],
    rng: random.Random,
    ids: list[str],
    finished_end: int,
) -> list[str]:
    if layer == 0:
        return []
    lo, hi = max(0, (layer - 2) * width), layer * width
    pool: list[int] = list(range(lo, min(hi, i)))
    if status[i] != "pending":  # started tasks depend on finished ones only
        pool = [j for j in pool if status[j] == "success"]
        if not pool:  # deep in the pending region: the last finished layer
            end = min(i, finished_end)
            pool = [j for j in range(max(0, end - width), end) if status[j] == "success"]
    if not pool:
        return []
    picks = {rng.choice(pool) for _ in range(rng.randint(1, 3))}
    return [ids[j] for j in sorted(picks)]


def _add_dependents(tasks: dict[str, dict[str, Any]]) -> None:
    for tid, doc in tasks.items():
        doc.setdefault("dependents", [])
        for dep in doc["dependencies"]:
            tasks[dep].setdefault("dependents", []).append(tid)


def _context(ids: list[str], status: list[str], now: datetime) -> dict[str, Any]:
    phase_count = max(1, min(8, len(ids) // 40 or 1))
    return {
        "current_phase": f"phase_{min(phase_count, max(1, phase_count // 2 + 1)):02d}",
        "active_tasks": [t for t, s in zip(ids, status, strict=True) if s == "running"],
        "completed_tasks": [t for t, s in zip(ids, status, strict=True) if s == "success"],
        "failed_tasks": [t for t, s in zip(ids, status, strict=True) if s == "failed"],
        "session_start": _iso(now - timedelta(hours=3)),
        "elapsed_hours": 3.5,
    }


def _phases(ids: list[str], status: list[str]) -> dict[str, Any]:
    count = max(1, min(8, len(ids) // 40 or 1))
    size = math.ceil(len(ids) / count)
    phases = {}
    for p in range(count):
        members = ids[p * size : (p + 1) * size]
        states = {status[ids.index(m)] for m in members[:1]} if members else set()
        phases[f"phase_{p + 1:02d}"] = {
            "name": f"Phase {p + 1}: {_NOUNS[p % len(_NOUNS)].capitalize()} work",
            "tasks": members,
            "status": "completed" if states == {"success"} else "in_progress",
        }
    return phases


def _errors(
    ids: list[str], status: list[str], rng: random.Random, now: datetime
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for i, (tid, st) in enumerate(zip(ids, status, strict=True)):
        if st != "failed":
            continue
        kind, message = _ERRORS[i % len(_ERRORS)]
        records.append(
            {
                "task_id": tid,
                "error_type": kind,
                "message": message,
                "timestamp": _iso(now - timedelta(minutes=i % 97)),
                "stack_trace": "Traceback (most recent call last):\n"
                f'  File "runner.py", line {10 + i % 400}, in run_{tid}\n'
                f"    step.execute()\n{kind}: {message[:120]}",
                "attempted_fixes": [rng.choice(_FIXES) for _ in range(rng.randint(0, 2))],
            }
        )
    # some history: errors of tasks that were retried and are done now
    for i in range(0, min(len(ids), 40), 7):
        if status[i] == "success":
            records.append(
                {
                    "task_id": ids[i],
                    "error_type": "FlakyTestError",
                    "message": "passed on retry",
                    "timestamp": None,
                    "stack_trace": None,
                    "attempted_fixes": ["retry"],
                }
            )
    return records


def _decisions(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    decisions = []
    for i, prompt in enumerate(_PROMPTS):
        pending = i % 3 == 2
        decisions.append(
            {
                "prompt": prompt,
                "decision": {
                    "choice": "pending" if pending else rng.choice(("approved", "rejected")),
                    "decided_at": None if pending else _iso(now - timedelta(hours=i)),
                },
                "rationale": None if pending else "Decided with the team on the daily call",
            }
        )
    return decisions


def _filesystem(ids: list[str], rng: random.Random) -> dict[str, Any]:
    files = {}
    for i in range(0, len(ids), max(1, len(ids) // 12)):
        files[f"/project/artifacts/{ids[i]}.tar.gz"] = {
            "exists": rng.random() > 0.1,
            "required_by": [ids[min(i + 1, len(ids) - 1)]],
            "produced_by": ids[i],
            "size_bytes": rng.randint(1_000, 50_000_000),
        }
    gib = 1024**3
    return {
        "files": files,
        "disk_usage": {
            "total_bytes": 100 * gib,
            "used_bytes": 62 * gib,
            "available_bytes": 38 * gib,
        },
    }


def _environment() -> dict[str, Any]:
    return {
        "system_info": {"os": {"type": "Ubuntu", "version": "22.04"}, "architecture": "x86_64"},
        "runtime_environment": {"python": {"version": "3.11.7", "path": "/usr/bin/python3"}},
        "dependencies": {
            "python_packages": [
                {"name": n, "version": v, "required": True}
                for n, v in (
                    ("numpy", "1.26.4"),
                    ("pandas", "2.2.1"),
                    ("docker", "7.0.0"),
                    ("kubernetes", "29.0.0"),
                )
            ]
            + [{"name": "rich", "required": False}],
            "missing_dependencies": ["bandit"],
        },
    }


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
