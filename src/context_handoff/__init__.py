"""context-handoff: an orchestrator's state -> an exact, budget-guaranteed handoff payload."""

from __future__ import annotations

from .api import ContextPayloadGenerator
from .errors import HandoffError, HandoffFailed, InputError
from .model import CompressionLevel

__version__ = "2.0.0"
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
