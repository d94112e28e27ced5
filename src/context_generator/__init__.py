"""The original tool's import name, kept so code written from its integration guide runs.

    from context_generator import ContextPayloadGenerator, CompressionLevel

gives the same objects as ``context_handoff``; ``python -m context_generator`` takes the
original command line's flags.
"""

from __future__ import annotations

from context_handoff import CompressionLevel, ContextPayloadGenerator, HandoffError

__all__ = ["CompressionLevel", "ContextPayloadGenerator", "HandoffError"]
