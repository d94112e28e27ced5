"""``changes``: what moved since the last handoff, added to every level's layout."""

from __future__ import annotations

from typing import Any

from ..model import Changes
from ..pack import Layout, Section
from .view import View, opt, shorten

_FIRST_CHANGES = 5  # of each kind of change


def add_changes(layout: Layout, v: View, changes: Changes) -> None:
    """``changes``: the first two of each kind among the first heads, up to five with the
    v1 detail lists, the rest with the details."""
    data: dict[str, Any] = {"since": {"at": changes.since_at, "digest": changes.since_digest}}
    if changes.phase_moved:
        data["phase"] = {
            "from": opt(changes.phase_from, v.limits.id),
            "to": opt(changes.phase_to, v.limits.id),
        }
    kinds = (
        ("newly_failed", changes.newly_failed, v.id, 2),
        ("recovered", changes.recovered, v.id, 2),
        ("started", changes.started, v.id, 1),
        ("newly_done", changes.newly_done, v.id, 1),
        ("newly_ready", changes.newly_ready, v.id, 1),
        ("removed", changes.removed, v.id, 1),
        ("decided", changes.decided, lambda p: shorten(p, v.limits.prompt), 1),
    )
    # a kind with nothing in it is left out: the key costs tokens and says nothing
    sections = [
        Section(f"changes.{key}", items, to_json, weight, tier=2, caps={2: _FIRST_CHANGES}, head=2)
        for key, items, to_json, weight in kinds
        if items
    ]
    data.update({key: [] for key, items, _, _ in kinds if items})
    layout.skeleton["changes"] = data
    layout.sections[0:0] = sections  # first among the heads
