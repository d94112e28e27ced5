"""The Python API the integration guide promised.

from context_handoff import ContextPayloadGenerator, CompressionLevel

gen = ContextPayloadGenerator(".orchestrator_state.json")
context = gen.generate_context(CompressionLevel.STANDARD)
gen.save_context("context_payload.json", CompressionLevel.STANDARD)
tokens = gen.get_token_count(context)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import defaults
from .changes import snapshot_text
from .defaults import AUTO
from .errors import HandoffFailed
from .formats import discover_state
from .model import CompressionLevel, Generated
from .pack import serialize
from .pipeline import GenerateOptions, generate
from .tokens import DEFAULT_ENCODING, build_counter
from .write import write_atomically


class ContextPayloadGenerator:
    """Generates handoff payloads from one orchestrator state file.

    ``state_file``: a file or a folder (Backlog.md's ``backlog/``, Conductor's
    ``conductor/``); None finds the one task file of a known format in the working
    directory (docs/formats.md). ``format``: ``auto`` (by content), one of
    ``formats.builtin_format_names()`` or an installed format; ``tag``: the Task Master
    tag to read (default: ``currentTag`` in ``.taskmaster/state.json``, else ``master``).

    Errors are :class:`context_handoff.errors.HandoffError` subclasses; a missing state
    file is also a ``FileNotFoundError``.
    """

    def __init__(
        self,
        state_file: str | Path | None = None,
        *,
        format: str = AUTO,
        tag: str | None = None,
        encoding: str = DEFAULT_ENCODING,
        budget: int | None = None,
        now: datetime | None = None,
        max_age: timedelta | None = None,
        redact: bool = True,
        since: str | Path | None = None,
    ) -> None:
        # None: the one task file of a known format here, found when used
        self.state_file = Path(state_file) if state_file is not None else None
        self.format = format
        self.tag = tag
        self.encoding = encoding
        self.budget = budget
        self.now = now
        self.max_age = max_age
        self.redact = redact
        # an earlier handoff's snapshot (save_snapshot) or state file: payloads say what
        # changed since; a missing file is a first run
        self.since = Path(since) if since is not None else None
        self.last: Generated | None = None
        self._last_key: tuple[GenerateOptions, tuple[tuple[int, int, int] | None, ...]] | None = (
            None
        )

    def _options(self, level: CompressionLevel | str) -> GenerateOptions:
        value = level.value if isinstance(level, CompressionLevel) else str(level).lower()
        state = self.state_file if self.state_file is not None else discover_state()
        return GenerateOptions(
            state=state,
            level=value,
            budget=self.budget,
            encoding=self.encoding,
            now=self.now,
            max_age=self.max_age,
            redact=self.redact,
            format=self.format,
            tag=self.tag,
            since=self.since,
        )

    def generate(self, level: CompressionLevel | str = CompressionLevel.STANDARD) -> Generated:
        """The payload with its facts and stage timings.

        While the state file is unchanged, asking again for the same level gives the same
        handoff (the guide saves a payload, then asks for the context to count it: both
        must be the one payload); a changed file gives a new one.
        """
        options = self._options(level)
        # what the handoff is made of: the state, Task Master's state.json (its current
        # tag), the earlier handoff it is compared with
        consulted = [
            options.state,
            options.state.parent / "state.json",
            options.state.parent.parent / "state.json",
            options.since,
        ]
        key = (options, tuple(_signature(p) for p in consulted if p is not None))
        if self.last is None or self._last_key != key:
            self.last = generate(options)
            self._last_key = key
        return self.last

    def generate_context(
        self, level: CompressionLevel | str = CompressionLevel.STANDARD
    ) -> dict[str, Any]:
        """The payload as a dict, within the level's budget (or ``budget``)."""
        return self.generate(level).payload.data

    def save_context(
        self,
        output: str | Path = defaults.PAYLOAD_FILE,
        level: CompressionLevel | str = CompressionLevel.STANDARD,
    ) -> Path:
        """Generate and write the payload atomically; return its path."""
        return write_atomically(output, self.generate(level).payload.text)

    def save_snapshot(
        self,
        path: str | Path = defaults.SNAPSHOT_FILE,
        level: CompressionLevel | str = CompressionLevel.STANDARD,
    ) -> Path:
        """Write the snapshot of the handoff for ``level`` (the next one's ``since``)."""
        snapshot = self.generate(level).snapshot
        if snapshot is None:
            raise HandoffFailed("no snapshot was taken of this handoff")
        return write_atomically(path, snapshot_text(snapshot))

    def get_token_count(self, context: dict[str, Any]) -> int:
        """Exact tokens of ``context`` serialised exactly as it is written."""
        return build_counter(self.encoding).count(serialize(context))


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What tells a rewritten state file from the same one: inode, size, mtime (ns)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
