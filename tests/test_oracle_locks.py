"""The oracles' npm lock files install with `npm ci` on any platform and name no registry.

npm (from 11 on) refuses `npm ci` when a package's optional dependency, such as a binary for
another platform, is missing from the lock; and a lock that records download addresses ties
the install to one registry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ROOT

LOCKS = sorted((ROOT / "tools").glob("**/package-lock.json"))
LOCKS = [lock for lock in LOCKS if "node_modules" not in lock.parts]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: str(lock.relative_to(ROOT)))
def test_lock_records_every_optional_package_and_no_address(lock: Path) -> None:
    packages: dict[str, dict[str, object]] = json.loads(lock.read_text("utf-8"))["packages"]
    missing = []
    for where, entry in packages.items():
        optional = entry.get("optionalDependencies") or {}
        assert isinstance(optional, dict)
        for name in optional:
            nested = f"{where}/node_modules/{name}" if where else f"node_modules/{name}"
            if nested not in packages and f"node_modules/{name}" not in packages:
                missing.append(f"{where or '.'} -> {name}")
    assert missing == []
    assert [where for where, entry in packages.items() if "resolved" in entry] == []


def test_the_backlog_lock_is_checked() -> None:
    assert ROOT / "tools" / "backlog" / "package-lock.json" in LOCKS
