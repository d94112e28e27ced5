"""Checkpoint an orchestrator for handoff: by tokens used, or on a schedule.

class Orchestrator(HandoffCheckpointMixin):
    def __init__(self):
        self.init_handoff(".orchestrator_state.json", output_dir="handoffs")

...
if self.track_tokens(usage.prompt_tokens, usage.completion_tokens):
    ...  # a checkpoint was written: hand over to a fresh session
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import defaults, pipeline
from .errors import InputError, StateFileNotFound
from .model import CompressionLevel, Generated
from .tokens import DEFAULT_ENCODING, build_counter

READ_ATTEMPTS = 5
READ_BACKOFF_SECONDS = 0.2


class HandoffCheckpointer:
    """Counts the tokens a session uses and writes a handoff when it nears its limit.

    ``track_tokens`` returns True when that call crossed ``threshold`` (or ``every`` had
    passed) and a checkpoint was written; the count then starts again for the next
    session. Each checkpoint is kept as ``handoff-<id>.json`` / ``.md`` beside a stable
    ``latest.json`` / ``latest.md``, all written atomically. Each one says what changed
    since the one before: the checkpointer keeps its snapshot as ``handoff_snapshot.json``.
    """

    def __init__(
        self,
        state_file: str | Path = defaults.STATE_FILE,
        output_dir: str | Path = defaults.CHECKPOINT_DIR,
        threshold: int = 150_000,
        level: str | CompressionLevel = defaults.DEFAULT_LEVEL,
        every: timedelta | None = None,
        *,
        encoding: str = DEFAULT_ENCODING,
        format: str = defaults.AUTO,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state_file = Path(state_file)
        self.output_dir = Path(output_dir)
        self.threshold = threshold
        self.level = CompressionLevel(level)
        self.every = every
        self.encoding = encoding
        self.format = format  # the state's format (a file or a folder): auto, by content
        self.token_count = 0
        self._clock = clock
        self._sleep = sleep
        self._last_checkpoint = clock()

    @property
    def snapshot_path(self) -> Path:
        """The last checkpoint's snapshot: the next one says what changed since."""
        return self.output_dir / defaults.SNAPSHOT_FILE

    def track_tokens(self, prompt_tokens: int, completion_tokens: int) -> bool:
        """Add a call's usage; write a checkpoint when the threshold or ``every`` is reached."""
        self.token_count += prompt_tokens + completion_tokens
        due = self.token_count >= self.threshold or (
            self.every is not None and self._clock() - self._last_checkpoint >= self.every
        )
        if due:
            self.checkpoint_for_handoff()
        return due

    def track_text(self, prompt: str, completion: str) -> bool:
        """Like track_tokens, counting the texts' real tokens with the configured encoding."""
        counter = build_counter(self.encoding)
        return self.track_tokens(counter.count(prompt), counter.count(completion))

    def checkpoint_for_handoff(self, level: str | CompressionLevel | None = None) -> Path:
        """Write payload and report now; return the payload's path."""
        chosen = CompressionLevel(level) if level is not None else self.level
        generated = self._generate_with_retries(chosen)
        payload = generated.payload
        stem = self.output_dir / f"handoff-{payload.data['handoff_id']}"
        path = stem.with_suffix(".json")
        pipeline.write_outputs(
            generated, path, stem.with_suffix(".md"), snapshot_path=self.snapshot_path
        )
        for suffix in (".json", ".md"):
            latest = self.output_dir / f"latest{suffix}"
            tmp = latest.with_name(f".{latest.name}.tmp")
            shutil.copyfile(stem.with_suffix(suffix), tmp)
            tmp.replace(latest)
        self.token_count = 0
        self._last_checkpoint = self._clock()
        return path

    def _generate_with_retries(self, level: CompressionLevel) -> Generated:
        """The orchestrator may be rewriting the state right now: a file that does not
        parse is read again a few times before it counts as broken."""
        options = pipeline.GenerateOptions(
            state=self.state_file,
            level=level.value,
            encoding=self.encoding,
            since=self.snapshot_path,
            format=self.format,
        )
        for attempt in range(READ_ATTEMPTS):
            try:
                return pipeline.generate(options)
            except StateFileNotFound:
                raise
            except InputError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                self._sleep(READ_BACKOFF_SECONDS * (attempt + 1))
        raise AssertionError("unreachable")


class HandoffCheckpointMixin:
    """Two lines in the guide's Orchestrator: inherit this, call ``init_handoff``."""

    handoff: HandoffCheckpointer

    def init_handoff(self, state_file: str | Path = defaults.STATE_FILE, **options: object) -> None:
        self.handoff = HandoffCheckpointer(state_file, **options)  # type: ignore[arg-type]

    def track_tokens(self, prompt_tokens: int, completion_tokens: int) -> bool:
        return self.handoff.track_tokens(prompt_tokens, completion_tokens)

    def track_text(self, prompt: str, completion: str) -> bool:
        return self.handoff.track_text(prompt, completion)

    def checkpoint_for_handoff(self, level: str | None = None) -> Path:
        return self.handoff.checkpoint_for_handoff(level)
