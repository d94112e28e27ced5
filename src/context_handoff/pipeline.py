"""The only place that knows the order of the stages.

load -> validate -> redact -> normalize -> derive -> pack -> check -> write
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

from . import changes, defaults, derive, formats, layouts, load, pack, render, validate
from .errors import HandoffError, HandoffFailed, InputError, Problem
from .model import DEFAULT_BUDGETS, CompressionLevel, Facts, Payload, Source, State
from .normalize import check_calendar
from .redact import Redactor, scrub_error
from .tokens import DEFAULT_ENCODING, TokenCounter, build_counter
from .write import check_writable, write_atomically, write_together

AUTO = defaults.AUTO_LEVEL


class GenerateOptions(NamedTuple):
    """Everything ``generate`` needs, filled by the CLI or the Python API."""

    state: Path
    level: str = defaults.DEFAULT_LEVEL  # a CompressionLevel value, or "auto"
    budget: int | None = None
    encoding: str = DEFAULT_ENCODING
    now: datetime | None = None  # None: SOURCE_DATE_EPOCH, else the clock
    max_age: timedelta | None = None
    redact: bool = True
    format: str = formats.AUTO  # an input format's name, or "auto": by content
    tag: str | None = None  # Task Master: the tag to read
    since: Path | None = None  # an earlier snapshot or state file: the payload says what changed
    # when the state has no metadata.last_updated: its last change, as known elsewhere
    # (the action passes the file's last commit from the runner); None: found here
    committed_at: datetime | None = None
    root: Path | None = None  # files beside the state are read only in here (the web API's)


class Generated(NamedTuple):
    payload: Payload
    facts: Facts
    timings: dict[str, float]  # stage -> seconds
    snapshot: changes.Snapshot | None = None  # this handoff's, for the next one's --since
    notes: tuple[str, ...] = ()  # for the person running it, not for the payload


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


def resolve_now(now: datetime | None, environ: Mapping[str, str] = os.environ) -> datetime:
    """``now`` if given, else SOURCE_DATE_EPOCH (reproducible builds), else the clock."""
    if now is not None:  # stamped in UTC, whatever offset it was given with
        if not now.tzinfo:
            return now.replace(tzinfo=timezone.utc)
        return check_calendar(now, "now").astimezone(timezone.utc)
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds") from None
    return datetime.now(timezone.utc)


def utc_stamp(moment: datetime) -> str:
    """``2025-01-15T14:30:00Z`` (a UTC time); the year always has four digits, which
    strftime's ``%Y`` does not give for years before 1000 on every platform."""
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def resolve_level(level: str, budget: int | None) -> tuple[CompressionLevel, int]:
    """The level and budget to pack; ``auto`` picks the richest level the budget affords."""
    if level not in (*defaults.LEVELS, AUTO):
        raise InputError(f"level {level!r} is not one of {', '.join((*defaults.LEVELS, AUTO))}")
    if level != AUTO:
        chosen = CompressionLevel(level)
        return chosen, budget if budget is not None else chosen.default_budget
    if budget is None:
        raise InputError("--level auto needs --budget: the budget decides the level")
    affordable = [lvl for lvl, nominal in DEFAULT_BUDGETS.items() if nominal <= budget]
    return (affordable[-1] if affordable else CompressionLevel.MINIMAL), budget


def read_state(
    path: Path, *, redact: bool = True, timer: _Timer | None = None,
    format: str = formats.AUTO, tag: str | None = None, root: Path | None = None,
) -> State:
    """Load, validate, redact and normalize a state file into a State record.

    ``format``: a name in ``formats.format_names()``; ``auto`` decides by content.
    ``tag``: the Task Master tag to read.
    """
    timer = timer or _Timer()
    try:
        with timer.stage("load"):
            loaded = load.load_document(path)
    except HandoffError as exc:  # a parser may quote the text around the problem
        raise scrub_error(exc) if redact else exc from None
    return state_from_document(loaded.document, loaded.source, redact=redact, timer=timer,
                               format=format, tag=tag, path=path, root=root)


def state_from_document(
    document: Any, source: Source, *, redact: bool = True, timer: _Timer | None = None,
    format: str = formats.AUTO, tag: str | None = None, path: Path | None = None,
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
    timer.seconds["normalize"] -= timer.seconds.get("redact", 0.0)
    timer.seconds.setdefault("redact", 0.0)
    return state._replace(redactions=dict(redactor.counts))


def handoff_id(source: Source, level: CompressionLevel, budget: int, encoding: str,
               now: datetime) -> str:
    """Unique per state content, settings and microsecond: two runs a second differ."""
    seed = f"{source.digest}|{level.value}|{budget}|{encoding}|{now.isoformat()}"
    return f"{now.year:04d}{now:%m%dT%H%M%S%fZ}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"


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


def generate(options: GenerateOptions, document: Any = None, source: Source | None = None
             ) -> Generated:
    """Build the payload for ``options`` (from the file, or from ``document``)."""
    with _no_cyclic_gc():
        return _generate(options, document, source)


def _generate(options: GenerateOptions, document: Any, source: Source | None) -> Generated:
    timer = _Timer()
    level, budget = resolve_level(options.level, options.budget)
    if budget < 1:
        raise InputError(f"--budget must be a positive number of tokens, not {budget}")
    now = resolve_now(options.now)
    if document is None:
        state = read_state(options.state, redact=options.redact, timer=timer,
                           format=options.format, tag=options.tag, root=options.root)
        state = _with_commit_time(state, options)
    else:
        state = state_from_document(document, source or _inline_source(document),
                                    redact=options.redact, timer=timer,
                                    format=options.format, tag=options.tag)
    with timer.stage("derive"):
        facts = derive.derive_facts(state, now)
    _check_age(facts, options.max_age)
    generated_at = utc_stamp(now)
    notes: tuple[str, ...] = ()
    with timer.stage("changes"):
        snapshot = changes.take_snapshot(facts, generated_at)
        if options.since is not None:
            previous = read_snapshot(options.since, options, now)
            if previous is None:
                notes += (f"no earlier handoff at {options.since}: nothing to compare with "
                          "this time (the next run will have one)",)
            elif previous.scope and previous.scope != snapshot.scope:
                notes += (f"{options.since} is of another project or Task Master tag "
                          f"({', '.join(p for p in previous.scope.split('|') if p)}): "
                          "nothing compared this time",)
            else:
                facts = facts._replace(changes=changes.changes_since(previous, facts, snapshot))
    with timer.stage("tokenizer_load"):
        counter = build_counter(options.encoding)
    header = pack.Header(
        handoff_id=handoff_id(state.source, level, budget, options.encoding, now),
        generated_at=generated_at,
        level=level, budget=budget, encoding=options.encoding,
        state_digest=state.source.digest,
    )
    with timer.stage("pack"):
        payload = layouts.pack_payload(facts, header, _TimedCounter(counter, timer))
    timer.seconds["pack"] -= timer.seconds.get("tokenize", 0.0)
    with timer.stage("check"):
        problems = validate.find_problems(payload.data, level.value, "payload")
    if problems:
        raise HandoffFailed("the generated payload does not match its schema", problems)
    return Generated(payload, facts, timer.seconds, snapshot, notes)


def read_snapshot(path: Path, options: GenerateOptions, now: datetime
                  ) -> changes.Snapshot | None:
    """The earlier handoff to compare with: a snapshot file, or an earlier state file
    (read as the current one is, in the same format); None when there is none yet."""
    if not path.exists():
        return None
    raw, source = load.read_file(path)
    yaml_ok = path.suffix.lower() in load.YAML_SUFFIXES
    document = load.parse_document(raw, source.name, yaml_ok=yaml_ok)
    if changes.is_snapshot(document):
        return changes.parse_snapshot(document, source.name, redact=options.redact)
    state = state_from_document(document, source, redact=options.redact,
                                format=options.format, tag=options.tag, path=path)
    stamp = state.last_updated or source.mtime
    taken_at = utc_stamp(stamp.astimezone(timezone.utc)) if stamp else "an earlier state"
    return changes.take_snapshot(derive.derive_facts(state, now), taken_at)


def on_ci_runner(environ: Mapping[str, str] = os.environ) -> bool:
    """GitHub Actions, GitLab CI and most others set CI=true."""
    return any(environ.get(name, "").lower() == "true"
               for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"))


def _with_commit_time(state: State, options: GenerateOptions) -> State:
    """On a CI runner a file's mtime is the checkout's time, which would make a dead
    orchestrator's state look fresh: its last commit says when it last changed."""
    if state.last_updated is not None:
        return state
    if options.committed_at is not None:
        stamp = options.committed_at
        return state._replace(source=state.source._replace(
            committed_at=stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)))
    if not on_ci_runner() or options.root is not None:  # git would read outside the root
        return state
    commit = load.commit_time(options.state)
    if commit is None:
        return state
    warnings = state.warnings
    if commit.shallow:
        warnings += (f"{state.source.name}: no metadata.last_updated, and the clone is "
                     "shallow: the age counts from the newest commit, which may be later "
                     "than the state's last change (fetch-depth: 0 gives the exact time)",)
    return state._replace(source=state.source._replace(committed_at=commit.time),
                          warnings=warnings)


def _inline_source(document: Any) -> Source:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    return Source("<inline state>", hashlib.sha256(text).hexdigest()[:12], None)


def _check_age(facts: Facts, max_age: timedelta | None) -> None:
    if max_age is None or facts.age_hours is None:
        return
    limit_hours = max_age.total_seconds() / 3600
    source = facts.state.source
    updated = facts.state.last_updated or source.committed_at or source.mtime
    when = f"{facts.age_source} {updated:%Y-%m-%d %H:%M %Z}".rstrip()
    if facts.age_hours < -derive.FUTURE_ALLOWANCE_HOURS:
        raise HandoffFailed(
            f"{source.name}: the state is dated {-facts.age_hours:g} h in the future "
            f"({when}); a wrong clock cannot vouch for a fresh state: fix the "
            "orchestrator's clock or its metadata.last_updated"
        )
    if facts.age_hours > limit_hours:
        raise HandoffFailed(
            f"{source.name}: the state is {facts.age_hours:g} h old ({when}), "
            f"over --max-age {limit_hours:g} h; is the orchestrator still running?"
        )


def write_payload(generated: Generated, output: Path) -> Path:
    """Write the payload atomically; nothing is written if an earlier stage failed."""
    return write_atomically(output, generated.payload.text)


def report_input_of(payload: Payload) -> render.ReportInput:
    return render.ReportInput(payload.data, payload.tokens, payload.section_tokens)


class PayloadFile(NamedTuple):
    """A payload file read once: its data, what its meta says, and its exact tokens."""

    name: str
    data: Any
    level: str | None  # meta.level, when it names a level
    encoding: str
    budget: int | None  # meta.budget
    tokens: int
    schema_problems: tuple[Problem, ...]  # its level's schema, or a bad meta.level


def read_payload(path: Path, encoding: str | None = None) -> PayloadFile:
    """Read, parse, count and schema-check a payload file (the text counted as written)."""
    raw, source = load.read_file(path)
    name = source.name
    data = load.parse_document(raw, name)
    meta = data.get("meta") if isinstance(data, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    level = meta.get("level")
    encoding = encoding or _str_or(meta.get("encoding"), DEFAULT_ENCODING)
    tokens = build_counter(encoding).count(load.decode_text(raw, name))
    if level in defaults.LEVELS:
        problems = tuple(validate.find_problems(data, level, name))
    else:
        problems = (Problem(name, "$.meta.level", f"{level!r} is not one of "
                            f"{', '.join(repr(lvl) for lvl in defaults.LEVELS)}; is this a "
                            "context-handoff payload?"),)
    return PayloadFile(name, data, level if level in defaults.LEVELS else None, encoding,
                       _int_or_none(meta.get("budget")), tokens, problems)


def report_input_from_file(path: Path, encoding: str | None = None) -> render.ReportInput:
    """A payload file, as the report renderer sees it: data, exact tokens, section costs."""
    payload = read_payload(path, encoding)
    if payload.schema_problems:
        raise InputError(f"{payload.name}: not a valid {payload.level or 'context-handoff'} "
                         "payload", list(payload.schema_problems))
    sections = pack.section_tokens(payload.data, build_counter(payload.encoding))
    return render.ReportInput(payload.data, payload.tokens, sections)


def write_outputs(generated: Generated, output: Path, report_path: Path | None,
                  template: str | None = None, max_chars: int | None = None,
                  snapshot_path: Path | None = None) -> render.Report | None:
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


def check_destinations(files: Mapping[str, Path | None], *, appended: Collection[str] = (),
                       inputs: Mapping[str, Path] | None = None) -> None:
    """Before any work: every file to write is writable, none is another or an input.

    ``files`` maps an option's name (``--output``) to its path; ``appended`` names the
    ones appended to rather than replaced (``--github-output``); ``inputs`` maps what an
    input is ("the state file") to its path."""
    seen = {_identity(path): what for what, path in (inputs or {}).items()}
    for option, path in files.items():
        if path is None:
            continue
        key = _identity(path)
        if key in seen:
            raise InputError(f"{option} {path} is also {seen[key]}: "
                             "give each output its own file")
        seen[key] = f"the file of {option}"
        check_writable(path, append=option in appended)


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


class PayloadCheck(NamedTuple):
    """The verdict on a payload file: its schema problems and its exact size."""

    path: str
    level: str | None
    tokens: int
    budget: int | None
    encoding: str
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def check_payload(path: Path, budget: int | None = None, encoding: str | None = None
                  ) -> PayloadCheck:
    """Validate a payload file against its level's schema and its token budget."""
    payload = read_payload(path, encoding)
    budget = budget if budget is not None else payload.budget
    problems = list(payload.schema_problems)
    if budget is None:
        problems.append(Problem(payload.name, "$.meta.budget", "no budget: pass --budget"))
    elif payload.tokens > budget:
        problems.append(Problem(payload.name, "$", f"{payload.tokens} {payload.encoding} "
                                f"tokens, over the budget of {budget}"))
    return PayloadCheck(payload.name, payload.level, payload.tokens, budget, payload.encoding,
                        tuple(problems))


def _str_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def count_file_tokens(path: Path, encoding: str) -> int:
    """Exact tokens of a file's text, as the next session would read it."""
    data, source = load.read_file(path)
    return build_counter(encoding).count(load.decode_text(data, source.name))
