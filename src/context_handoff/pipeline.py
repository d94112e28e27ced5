"""The only place that knows the order of the stages.

load -> validate -> redact -> normalize (formats/) -> derive -> staleness -> changes
-> pack (layouts) -> check -> render -> write
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from . import changes, defaults, derive, formats, layouts, load, pack, render, staleness, validate
from .defaults import AUTO
from .digests import handoff_id
from .errors import HandoffError, HandoffFailed, InputError
from .model import (
    CompressionLevel,
    Facts,
    Generated,
    Payload,
    Snapshot,
    Source,
    State,
)
from .redact import Redactor, scrub_error
from .times import resolve_now, utc_stamp
from .tokens import DEFAULT_ENCODING, TokenCounter, build_counter
from .write import write_atomically, write_together


class GenerateOptions(NamedTuple):
    """Everything ``generate`` needs, filled by the CLI or the Python API."""

    state: Path
    level: str = defaults.DEFAULT_LEVEL  # a CompressionLevel value, or "auto"
    budget: int | None = None
    encoding: str = DEFAULT_ENCODING
    now: datetime | None = None  # None: SOURCE_DATE_EPOCH, else the clock
    max_age: timedelta | None = None
    redact: bool = True
    format: str = AUTO  # an input format's name, or "auto": by content
    tag: str | None = None  # Task Master: the tag to read
    since: Path | None = None  # an earlier snapshot or state file: the payload says what changed
    # when the state has no metadata.last_updated: its last change, as known elsewhere
    # (the action passes the file's last commit from the runner); None: found here
    committed_at: datetime | None = None
    root: Path | None = None  # files beside the state are read only in here (the web API's)


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class _TimedCounter:
    """A counter that adds its time to the ``tokenize`` stage."""

    def __init__(self, inner: TokenCounter, timer: _Timer) -> None:
        self.name = inner.name
        self._inner = inner
        self._timer = timer

    def count(self, text: str) -> int:
        with self._timer.stage("tokenize"):
            return self._inner.count(text)


def resolve_level(level: str, budget: int | None) -> tuple[CompressionLevel, int]:
    """The level and budget to pack; for ``auto``, the richest level, tried first (the
    level packed is the richest whose smallest payload fits the budget: see _pack)."""
    if level not in defaults.LEVEL_CHOICES:
        raise InputError(f"level {level!r} is not one of {', '.join(defaults.LEVEL_CHOICES)}")
    if budget is not None and budget < 1:
        raise InputError(f"--budget must be a positive number of tokens, not {budget}")
    if level != AUTO:
        chosen = CompressionLevel(level)
        return chosen, budget if budget is not None else chosen.default_budget
    if budget is None:
        raise InputError("--level auto needs --budget: the budget decides the level")
    return CompressionLevel.FULL, budget  # the first tried: see _pack


def read_state(
    path: Path,
    *,
    redact: bool = True,
    timer: _Timer | None = None,
    format: str = AUTO,
    tag: str | None = None,
    root: Path | None = None,
) -> State:
    """Load, validate, redact and normalize a state file into a State record.

    ``format``: a name in ``formats.format_names()``; ``auto`` decides by content.
    ``tag``: the Task Master tag to read.
    """
    timer = timer or _Timer()
    with _no_cyclic_gc():
        try:
            with timer.stage("load"):
                loaded = load.load_document(path)
        except HandoffError as exc:  # a parser may quote the text around the problem
            raise scrub_error(exc) if redact else exc from None
        return state_from_document(
            loaded.document,
            loaded.source,
            redact=redact,
            timer=timer,
            format=format,
            tag=tag,
            path=path,
            root=root,
        )


def state_from_document(
    document: Any,
    source: Source,
    *,
    redact: bool = True,
    timer: _Timer | None = None,
    format: str = AUTO,
    tag: str | None = None,
    path: Path | None = None,
    root: Path | None = None,
) -> State:
    """Validate, redact and normalize an already-parsed state document."""
    timer = timer or _Timer()
    read_options = formats.ReadOptions(path=path, tag=tag, root=root)
    with timer.stage("validate"):
        try:
            chosen = formats.check_document(document, source.name, format, read_options)
        except HandoffError as exc:  # problems quote values, and ids may hold secrets
            raise scrub_error(exc) if redact else exc from None
    redactor = Redactor()

    def scrub(part: Any) -> Any:
        with timer.stage("redact"):
            return redactor.redact_document(part) if redact else part

    with timer.stage("normalize"):
        state = chosen.to_state(document, source, read_options, scrub)
        if state.warnings:  # they may quote what is no field: a file name holds a title
            state = state._replace(warnings=tuple(scrub(list(state.warnings))))
    timer.seconds["normalize"] -= timer.seconds.get("redact", 0.0)
    timer.seconds.setdefault("redact", 0.0)
    return state._replace(redactions=dict(redactor.counts))


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector: parsing a large state allocates millions of objects
    and no cycles, and the collector's passes cost about a fifth of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def generate(
    options: GenerateOptions, document: Any = None, source: Source | None = None
) -> Generated:
    """Build the payload for ``options`` (from the file, or from ``document``)."""
    with _no_cyclic_gc():
        return _generate(options, document, source)


def _generate(options: GenerateOptions, document: Any, source: Source | None) -> Generated:
    timer = _Timer()
    level, budget = resolve_level(options.level, options.budget)
    now = resolve_now(options.now)
    if document is None:
        state = read_state(
            options.state,
            redact=options.redact,
            timer=timer,
            format=options.format,
            tag=options.tag,
            root=options.root,
        )
        if options.root is None:  # under a root (the web API's), git reads nothing outside
            state = staleness.with_commit_time(state, options.state, options.committed_at)
    else:
        state = state_from_document(
            document,
            source or load.inline_source(document),
            redact=options.redact,
            timer=timer,
            format=options.format,
            tag=options.tag,
        )
    with timer.stage("derive"):
        facts = derive.derive_facts(state, now)
    staleness.check_age(facts, options.max_age)
    with timer.stage("changes"):
        facts, snapshot, notes = _compare(facts, options, now)
    with timer.stage("tokenizer_load"):
        counter = build_counter(options.encoding)
    with timer.stage("pack"):
        payload = _pack(facts, options, level, budget, now, _TimedCounter(counter, timer))
    timer.seconds["pack"] -= timer.seconds.get("tokenize", 0.0)
    with timer.stage("check"):
        problems = validate.find_problems(payload.data, payload.level.value, "payload")
    if problems:
        raise HandoffFailed("the generated payload does not match its schema", problems)
    return Generated(payload, facts, timer.seconds, snapshot, notes)


def _pack(
    facts: Facts,
    options: GenerateOptions,
    level: CompressionLevel,
    budget: int,
    now: datetime,
    counter: TokenCounter,
) -> Payload:
    """The payload at ``level``; with ``--level auto``, at the richest level whose
    payload fits the budget (full, then standard, then minimal)."""

    def header(chosen: CompressionLevel) -> pack.Header:
        digest = facts.state.source.digest
        return pack.Header(
            handoff_id=handoff_id(digest, chosen.value, budget, options.encoding, now),
            generated_at=utc_stamp(now),
            level=chosen,
            budget=budget,
            encoding=options.encoding,
            state_digest=digest,
        )

    if options.level == AUTO:
        for richer in (CompressionLevel.FULL, CompressionLevel.STANDARD):
            try:
                return layouts.pack_payload(facts, header(richer), counter)
            except HandoffFailed:
                continue  # its smallest payload does not fit: a smaller level
        level = CompressionLevel.MINIMAL
    return layouts.pack_payload(facts, header(level), counter)


def _compare(
    facts: Facts, options: GenerateOptions, now: datetime
) -> tuple[Facts, Snapshot, tuple[str, ...]]:
    """This handoff's snapshot, and the facts with what changed since ``--since``."""
    snapshot = changes.take_snapshot(facts, utc_stamp(now))
    if options.since is None:
        return facts, snapshot, ()
    previous = read_snapshot(options.since, options, now)
    if previous is None:
        return (
            facts,
            snapshot,
            (
                f"no earlier handoff at {options.since}: nothing to compare "
                "with this time (the next run will have one)",
            ),
        )
    other = changes.other_scope(previous, snapshot)
    if other is not None:
        return (
            facts,
            snapshot,
            (
                f"{options.since} is of another project or Task Master tag "
                f"({other}): nothing compared this time",
            ),
        )
    return facts._replace(changes=changes.changes_since(previous, facts, snapshot)), snapshot, ()


def read_snapshot(path: Path, options: GenerateOptions, now: datetime) -> Snapshot | None:
    """The earlier handoff to compare with: a snapshot file, or an earlier state file
    (read as the current one is, in the same format); None when there is none yet."""
    if not path.exists():
        return None
    loaded = load.load_document(path)
    if changes.is_snapshot(loaded.document):
        return changes.parse_snapshot(loaded.document, loaded.source.name, redact=options.redact)
    state = state_from_document(
        loaded.document,
        loaded.source,
        redact=options.redact,
        format=options.format,
        tag=options.tag,
        path=path,
    )
    return changes.snapshot_of_state(derive.derive_facts(state, now))


def write_payload(generated: Generated, output: Path) -> Path:
    """Write the payload atomically; nothing is written if an earlier stage failed."""
    return write_atomically(output, generated.payload.text)


def report_input_of(payload: Payload) -> render.ReportInput:
    return render.ReportInput(payload.data, payload.tokens, payload.section_tokens)


def write_outputs(
    generated: Generated,
    output: Path,
    report_path: Path | None,
    template: str | None = None,
    max_chars: int | None = None,
    snapshot_path: Path | None = None,
) -> render.Report | None:
    """Render the report first, then write payload, report and snapshot together: a
    template error leaves all of the last good files in place."""
    report = None
    files = [(output, generated.payload.text)]
    if report_path is not None:
        report = render.render_report(report_input_of(generated.payload), template, max_chars)
        files.append((report_path, report.text))
    if snapshot_path is not None and generated.snapshot is not None:
        files.append((snapshot_path, changes.snapshot_text(generated.snapshot)))
    write_together(files)
    return report
