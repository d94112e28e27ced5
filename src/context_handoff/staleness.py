"""How old a state is, and whether that is too old.

A state says when it last changed in ``metadata.last_updated``. Without it, the file's
mtime would do on a workstation, but on a CI runner the mtime is the checkout's time,
which would make a dead orchestrator's state look fresh: there the file's last git
commit says when it last changed (``--committed-at`` says it for a caller that knows).
``check_age`` fails the handoff when the state is older than ``--max-age``, or dated
in the future.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from .derive import FUTURE_ALLOWANCE_HOURS
from .errors import HandoffFailed
from .model import Facts, State
from .times import as_utc, parse_time


class CommitTime(NamedTuple):
    time: datetime
    shallow: bool  # a shallow clone: the time may be later than the file's last change


def on_ci_runner(environ: Mapping[str, str] = os.environ) -> bool:
    """GitHub Actions, GitLab CI and most others set CI=true."""
    return any(
        environ.get(name, "").lower() == "true" for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI")
    )


def commit_time(path: str | Path) -> CommitTime | None:
    """When ``path`` was last committed, if it is in a git work tree and git exists."""
    path = Path(path)
    folder = str(path.parent.resolve())
    try:
        found = subprocess.run(
            ["git", "-C", folder, "log", "-1", "--format=%cI", "--", path.name],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if found.returncode != 0 or not found.stdout.strip():
            return None
        shallow = (
            subprocess.run(
                ["git", "-C", folder, "rev-parse", "--is-shallow-repository"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
            == "true"
        )
        return CommitTime(parse_time(found.stdout), shallow)
    except (OSError, subprocess.SubprocessError, ValueError):  # no git, a hung git
        return None


def with_commit_time(state: State, path: Path, committed_at: datetime | None) -> State:
    """``state`` with its file's last change from ``committed_at`` or, on a CI runner,
    from git, when the state itself does not say when it last changed."""
    if state.last_updated is not None:
        return state
    if committed_at is not None:
        return state._replace(source=state.source._replace(committed_at=as_utc(committed_at)))
    if not on_ci_runner():
        return state
    commit = commit_time(path)
    if commit is None:
        return state
    warnings = state.warnings
    if commit.shallow:
        warnings += (
            f"{state.source.name}: no metadata.last_updated, and the clone is "
            "shallow: the age counts from the newest commit, which may be later "
            "than the state's last change (fetch-depth: 0 gives the exact time)",
        )
    return state._replace(source=state.source._replace(committed_at=commit.time), warnings=warnings)


def check_age(facts: Facts, max_age: timedelta | None) -> None:
    """HandoffFailed (exit 1) when the state is older than ``max_age`` or dated ahead."""
    if max_age is None or facts.age_hours is None:
        return
    limit_hours = max_age.total_seconds() / 3600
    source = facts.state.source
    updated = facts.state.last_updated or source.committed_at or source.mtime
    when = f"{facts.age_source} {updated:%Y-%m-%d %H:%M %Z}".rstrip()
    if facts.age_hours < -FUTURE_ALLOWANCE_HOURS:
        raise HandoffFailed(
            f"{source.name}: the state is dated {-facts.age_hours:g} h in the future "
            f"({when}); a wrong clock cannot vouch for a fresh state: fix the "
            "orchestrator's clock or its metadata.last_updated"
        )
    if facts.age_hours > limit_hours:
        raise HandoffFailed(
            f"{source.name}: the state is {facts.age_hours:g} h old ({when}), "
            f"over --max-age {limit_hours:g} h; is the orchestrator still running?"
        )
