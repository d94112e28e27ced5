"""The orchestrator's own state (``.orchestrator_state.json``): tasks keyed by id.

Checked against the packaged state schema (schemas/state.schema.json), then
normalized by normalize.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import normalize, validate
from ..errors import Problem
from ..model import Source, State

if TYPE_CHECKING:
    from . import ReadOptions

name = "orchestrator"
label = "an orchestrator state"

# Sections only an orchestrator state has: with these but no task map, it is one gone wrong.
_SECTIONS = frozenset({"context", "dag", "error_tracking", "user_customizations",
                       "filesystem_state", "environment_config"})


def detect(document: Any) -> int:
    if not isinstance(document, dict):
        return 0
    if isinstance(document.get("tasks"), dict):
        return 2
    return 1 if _SECTIONS & document.keys() else 0


def check(document: Any, source: str, options: ReadOptions) -> list[Problem]:
    return validate.find_problems(document, "state", source)


def to_state(document: Any, source: Source, options: ReadOptions,
             redact: Callable[[Any], Any]) -> State:
    return normalize.normalize_state(redact(document), source, {})
