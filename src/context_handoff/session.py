"""A project's handoff, served on request: what the MCP server's tools answer.

The state is read fresh on every call (its bytes and digest), never written; the work
done for one content of the state (parsing, deriving, every section's items) is kept
for the next call with the same content, so paging ``more`` costs a slice, not a
handoff. Paths are confined to the project folder. Raises HandoffError; never prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from . import defaults, formats, load, pipeline, render
from .check_reply import Verdict, check_reply
from .digests import handoff_time
from .errors import InputError
from .model import Generated
from .more import (
    DEFAULT_PAGE_TOKENS,
    Page,
    full_section_items,
    page_section,
    payload_items,
)
from .task_info import describe_task
from .tokens import DEFAULT_ENCODING, TokenCounter, build_counter

_KEPT = 8  # handoffs remembered (by content and settings)


class SessionOptions(NamedTuple):
    """The project folder, and the defaults a call may override."""

    root: Path
    state: Path | None = None  # None: discovered in the root on every call
    level: str = defaults.DEFAULT_LEVEL
    budget: int | None = None
    encoding: str = DEFAULT_ENCODING
    page_tokens: int = DEFAULT_PAGE_TOKENS


class _Key(NamedTuple):
    state: str
    digest: str
    level: str
    budget: int | None
    since: str | None
    since_digest: str | None


class _Entry:
    def __init__(self, generated: Generated, earlier: _Entry | None = None) -> None:
        self.generated = generated
        self._items: dict[str, list[Any]] | None = None
        # the same content packed again (a later handoff): the items laid out for the
        # earlier one serve while the facts that depend on the clock (warnings about
        # the state's age) are the same and it was packed in the same form
        if (
            earlier is not None
            and earlier._items is not None
            and earlier.generated.facts.warnings == generated.facts.warnings
            and earlier.generated.payload.terse == generated.payload.terse
        ):
            self._items = earlier._items

    @property
    def items(self) -> dict[str, list[Any]]:
        if self._items is None:
            self._items = full_section_items(self.generated.facts, self.generated.payload)
        return self._items


class HandoffSession:
    """Answers for one project folder; the tokenizer is loaded once, at the start."""

    def __init__(self, options: SessionOptions) -> None:
        self.options = options._replace(root=options.root.resolve())
        self.counter: TokenCounter = build_counter(options.encoding)
        self._entries: dict[_Key, _Entry] = {}
        self._pinned: dict[tuple[_Key, str], _Entry] = {}  # by a payload's handoff_id
        if options.state is not None:
            self.confine(options.state, "--state")

    def confine(self, path: Path | str, what: str) -> Path:
        """``path`` as the pipeline should read it (relative to the root, so messages
        name it as the project does); InputError when it leads outside the root."""
        root = self.options.root
        resolved = (root / path).resolve()
        if not resolved.is_relative_to(root):
            raise InputError(
                f"{what} {path} is outside the project folder; name a file or folder inside it"
            )
        return resolved.relative_to(root)

    def handoff(
        self, level: str | None = None, budget: int | None = None, since: str | None = None
    ) -> Generated:
        """A fresh handoff: the payload ``generate`` would write with these settings."""
        key, options = self._settings(level, budget, since)
        generated = pipeline.generate(options)
        if generated.facts.state.source.digest == key.digest:
            self._remember(key, _Entry(generated, self._entries.get(key)))
        return generated

    def more(
        self,
        section: str,
        offset: int | None = None,
        limit: int | None = None,
        *,
        level: str | None = None,
        budget: int | None = None,
        since: str | None = None,
        handoff_id: str | None = None,
    ) -> Page:
        """A page of ``section``; by default from where that handoff's payload stops.

        ``handoff_id``: the payload being paged, made here or anywhere else (the hook's,
        a file's): it is made again at its own moment, so the pages follow exactly its
        form and its cuts (at another moment the state's age, the id itself, and so the
        packing, may differ). InputError when the state or the settings are no longer
        those it was made from."""
        if handoff_id is None:
            entry = self._entry(level, budget, since)
        else:
            entry = self._entry_of(handoff_id, level, budget, since)
        if offset is None:
            offset = len(payload_items(entry.generated.payload.data, section))
        return page_section(
            entry.items, section, offset, limit, self.options.page_tokens, self.counter
        )

    def task(self, task_id: str) -> dict[str, Any]:
        return describe_task(self._entry(None, None, None).generated.facts, task_id)

    def report(self) -> str:
        payload = self._entry(None, None, None).generated.payload
        return render.render_report(pipeline.report_input_of(payload)).text

    def payload_text(self) -> str:
        return self._entry(None, None, None).generated.payload.text

    def check_reply(self, reply: str) -> Verdict:
        """``reply`` against the payload of the current handoff."""
        return check_reply(self._entry(None, None, None).generated.payload.data, reply)

    def _entry(self, level: str | None, budget: int | None, since: str | None) -> _Entry:
        key, _ = self._settings(level, budget, since)
        entry = self._entries.get(key)
        if entry is None:
            self.handoff(level, budget, since)
            entry = self._entries.get(key)
        if entry is None:  # the file changed while it was read: serve what was read
            entry = _Entry(pipeline.generate(self._settings(level, budget, since)[1]))
        return entry

    def _entry_of(
        self, handoff_id: str, level: str | None, budget: int | None, since: str | None
    ) -> _Entry:
        """The handoff ``handoff_id`` names, made again from the state as it is now."""
        key, options = self._settings(level, budget, since)
        known = self._entries.get(key)
        if known is not None and known.generated.payload.data.get("handoff_id") == handoff_id:
            return known
        if (key, handoff_id) in self._pinned:  # paged before: made again once, not a page
            return self._pinned[key, handoff_id]
        moment = handoff_time(handoff_id)
        if moment is None:
            raise InputError(f"handoff_id {handoff_id[:60]!r} is not a handoff id")
        generated = pipeline.generate(options._replace(now=moment))
        if generated.payload.data.get("handoff_id") != handoff_id:
            budget_said = "its default" if options.budget is None else options.budget
            raise InputError(
                f"handoff_id {handoff_id[:60]!r} is not this state's handoff at level "
                f"{options.level}, budget {budget_said}"
                + (f", since {since}" if since else "")
                + ": the state changed since it was made, or the settings are not its "
                "(its meta has its level and budget); call handoff for a new one"
            )
        entry = self._pinned[key, handoff_id] = _Entry(generated)
        while len(self._pinned) > _KEPT:
            del self._pinned[next(iter(self._pinned))]
        return entry

    def _settings(
        self, level: str | None, budget: int | None, since: str | None
    ) -> tuple[_Key, pipeline.GenerateOptions]:
        o = self.options
        state = self._state_path()
        since_path = self.confine(since, "since") if since else None
        since_digest = _digest_if_present(o.root / since_path) if since_path else None
        options = pipeline.GenerateOptions(
            state=self._named(state),
            level=level or o.level,
            budget=budget if budget is not None else (o.budget if level is None else None),
            encoding=o.encoding,
            since=self._named(since_path) if since_path else None,
        )
        key = _Key(
            str(state),
            formats.state_source(options.state).digest,
            options.level,
            options.budget,
            str(since_path) if since_path else None,
            since_digest,
        )
        return key, options

    def _named(self, relative: Path) -> Path:
        """Relative to the working directory when that is the root: messages then name
        files as the project does, never by the server's absolute paths."""
        root = self.options.root
        return relative if Path.cwd().resolve() == root else root / relative

    def _state_path(self) -> Path:
        if self.options.state is not None:
            return self.confine(self.options.state, "--state")
        return self.confine(formats.discover_state(self.options.root), "the state file")

    def _remember(self, key: _Key, entry: _Entry) -> None:
        self._entries.pop(key, None)
        self._entries[key] = entry
        while len(self._entries) > _KEPT:
            del self._entries[next(iter(self._entries))]


def _digest_if_present(path: Path) -> str | None:
    return load.state_source(path).digest if path.exists() else None
