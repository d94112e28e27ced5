"""The full level: the standard layout, then v1's file state and environment."""

from __future__ import annotations

from typing import Any

from ..model import DiskUsage, Environment
from ..pack import Header, Layout, Section
from .standard import standard
from .view import View, opt, short_id, shorten

_MIB = 1024 * 1024


def full(v: View, header: Header) -> Layout:
    layout = standard(v, header)
    state = v.facts.state
    env = state.environment
    used = state.disk.used_bytes if state.disk else None
    layout.skeleton["file_state"] = {
        # v1: disk_mb is the disk space in use (0 when the state does not say)
        "artifacts": [],
        "required": [],
        "disk_mb": round(used / _MIB) if used else 0,
        # added
        "missing": [],
        "disk": _disk(state.disk) if state.disk else {},
    }
    layout.skeleton["environment"] = _environment(v, env)
    layout.sections.extend(_sections(v, env))
    return layout


def _environment(v: View, env: Environment | None) -> dict[str, Any]:
    limits = v.limits
    os_name = (env.os if env else None) or "unknown"
    return {
        # v1
        "os": shorten(os_name, limits.detail),
        "python": shorten(env.python_version, limits.detail)
        if env and env.python_version
        else "unknown",
        "packages": {},
        # added
        "architecture": opt(env.architecture, limits.detail) if env else None,
        "missing_dependencies": [],
    }


def _sections(v: View, env: Environment | None) -> list[Section]:
    limits = v.limits
    files = v.facts.state.files
    required = [f for f in files if f.required_by]
    by_name = {p.name: p for p in reversed(env.packages)} if env else {}  # first one wins
    packages = sorted(reversed(by_name.values()), key=lambda p: not p.required)
    return [
        Section(
            "file_state.missing",
            [f.path for f in required if f.exists is False],
            lambda p: shorten(p, limits.detail),
            2,
        ),
        Section(
            "environment.missing_dependencies",
            env.missing_dependencies if env else (),
            lambda n: shorten(n, limits.detail),
            2,
        ),
        Section(
            "file_state.artifacts",
            [f for f in files if f.produced_by],
            lambda f: {"path": shorten(f.path, limits.detail), "by": v.id(f.produced_by)},
            1,
            tier=3,
        ),
        Section(
            "file_state.required",
            [f.path for f in required if f.exists],
            lambda p: shorten(p, limits.detail),
            1,
            tier=3,
        ),
        Section(
            "environment.packages",
            packages,
            lambda p: (
                short_id(p.name, limits.detail),
                shorten(p.version or "unknown", limits.detail),
            ),
            1,
            tier=3,
            keyed=True,
        ),
    ]


def _disk(disk: DiskUsage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if disk.total_bytes is not None:
        out["total_mb"] = round(disk.total_bytes / _MIB)
    if disk.available_bytes is not None:
        out["available_mb"] = round(disk.available_bytes / _MIB)
    if disk.total_bytes and disk.used_bytes is not None:
        out["used_pct"] = round(100 * disk.used_bytes / disk.total_bytes, 1)
    return out
