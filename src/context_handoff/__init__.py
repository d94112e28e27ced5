"""context-handoff: an orchestrator's state -> an exact, budget-guaranteed handoff payload."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .api import ContextPayloadGenerator
from .errors import HandoffError, HandoffFailed, InputError
from .model import CompressionLevel

try:
    # one place for the version: pyproject.toml, read back from the installed metadata
    __version__ = version("context-handoff")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
__all__ = [
    "CompressionLevel",
    "ContextPayloadGenerator",
    "HandoffError",
    "HandoffFailed",
    "InputError",
    "__version__",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext context_handoff`` (needs IPython: ``pip install context-handoff[jupyter]``)."""
    from .jupyter import load_ipython_extension as load

    load(ipython)
