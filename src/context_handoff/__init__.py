"""context-handoff: an orchestrator's state -> an exact, budget-guaranteed handoff payload.

The names below are imported when first used: importing the package (which pytest does
for every run where it is installed, for its plugin) loads neither the tokenizer nor
the templates nor the schema validators.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from .api import ContextPayloadGenerator as ContextPayloadGenerator
    from .checkpoint import HandoffCheckpointer as HandoffCheckpointer
    from .checkpoint import HandoffCheckpointMixin as HandoffCheckpointMixin
    from .errors import HandoffError as HandoffError
    from .errors import HandoffFailed as HandoffFailed
    from .errors import InputError as InputError
    from .model import CompressionLevel as CompressionLevel

_HOMES = {
    "ContextPayloadGenerator": ".api",
    "CompressionLevel": ".model",
    "HandoffCheckpointer": ".checkpoint",
    "HandoffCheckpointMixin": ".checkpoint",
    "HandoffError": ".errors",
    "HandoffFailed": ".errors",
    "InputError": ".errors",
}
__all__ = [
    "CompressionLevel",
    "ContextPayloadGenerator",
    "HandoffCheckpointMixin",
    "HandoffCheckpointer",
    "HandoffError",
    "HandoffFailed",
    "InputError",
    "__version__",
]


def _version() -> str:
    """One place for the version: pyproject.toml, read back from the installed metadata
    (looked up when asked for: importlib.metadata costs a start-up ~25 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("context-handoff")
    except PackageNotFoundError:  # pragma: no cover - a source tree never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
        globals()[name] = value
        return value
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext context_handoff`` (needs IPython: ``pip install context-handoff[jupyter]``)."""
    from .jupyter import load_ipython_extension as load

    load(ipython)
