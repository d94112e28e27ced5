"""Where a result goes: one module per target, each a ``Reporter``.

``text`` and ``json`` print on the terminal (``REPORTERS_BY_NAME`` is what ``--json``
chooses from); ``github`` writes annotations, step outputs and the job summary;
``gitlab`` writes the dotenv report. The CLI builds the ones its options ask for and
hands each result to all of them; on a failure the boundary hands them the error.
"""

from __future__ import annotations

from .base import Reporter, Written
from .github import GitHubReporter
from .gitlab import GitLabReporter
from .json import JsonReporter
from .text import TextReporter

REPORTERS_BY_NAME: dict[str, type[TextReporter]] = {"text": TextReporter, "json": JsonReporter}

__all__ = [
    "REPORTERS_BY_NAME",
    "GitHubReporter",
    "GitLabReporter",
    "JsonReporter",
    "Reporter",
    "TextReporter",
    "Written",
]
