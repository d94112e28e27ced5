"""Input formats: one module per format, each turning a parsed file into a State.

Built in: ``orchestrator`` (``.orchestrator_state.json``), ``taskmaster`` (Task
Master's ``.taskmaster/tasks/tasks.json``), ``speckit`` (``specs/<feature>/tasks.md``),
``kiro`` (``.kiro/specs/<feature>/tasks.md``), ``beads`` (``.beads/issues.jsonl``),
``backlog`` (Backlog.md's ``backlog/``), ``bmad`` (``sprint-status.yaml``), ``ralph``
(``prd.json``) and ``conductor`` (``conductor/``); docs/formats.md describes each.
A state is a file or, for the formats kept in folders, a folder.

Another package adds a format through an
entry point in the ``context_handoff.formats`` group whose object (a module or an
instance) has the members of :class:`InputFormat`::

    [project.entry-points."context_handoff.formats"]
    beads = "my_package.beads_format"

``auto`` chooses by content only, never by file name: the built-in formats first,
then installed ones when no built-in format recognizes the file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from .. import defaults, load
from ..defaults import AUTO
from ..errors import InputError, Problem, StateFileNotFound
from ..excerpt import describe_document
from ..load import FolderDocument
from ..markdown import MarkdownDocument
from ..model import Source
from . import (
    backlog,
    beads,
    bmad,
    conductor,
    kiro,
    orchestrator,
    ralph,
    speckit,
    taskmaster,
)
from .base import MAYBE, NO, SURE, InputFormat, ReadOptions

__all__ = ["AUTO", "MAYBE", "NO", "SURE", "InputFormat", "ReadOptions"]

ENTRY_POINT_GROUP = "context_handoff.formats"
# Where a state is looked for when none is named ("*": any one folder there).
# Each with the format kept there: --format picks among the places found.
DISCOVERED_FORMATS = {
    Path(defaults.STATE_FILE): "orchestrator",
    Path(defaults.TASKMASTER_FILE): "taskmaster",
    Path("specs/*/tasks.md"): "speckit",
    Path(".kiro/specs/*/tasks.md"): "kiro",
    Path(".beads/issues.jsonl"): "beads",
    Path("backlog/tasks"): "backlog",
    Path(".backlog/tasks"): "backlog",
    Path("sprint-status.yaml"): "bmad",
    Path("_bmad-output/implementation-artifacts/sprint-status.yaml"): "bmad",
    Path("docs/sprint-artifacts/sprint-status.yaml"): "bmad",
    Path("prd.json"): "ralph",
    Path("scripts/ralph/prd.json"): "ralph",
    Path("conductor/tracks.md"): "conductor",
}
DISCOVERED_PATHS = tuple(DISCOVERED_FORMATS)
# What a discovered place names as the state: the folder for the formats kept in one.
_FOLDER_STATES = frozenset({"tasks", "tracks.md"})


BUILTIN_FORMATS_BY_NAME: dict[str, InputFormat] = {
    fmt.name: fmt
    for fmt in (orchestrator, taskmaster, speckit, kiro, beads, backlog, bmad, ralph, conductor)
}


class _Plugins(NamedTuple):
    formats: dict[str, InputFormat]
    broken: dict[str, str]  # name -> why it could not be loaded


@cache
def _plugins() -> _Plugins:
    """Formats installed by other packages; loaded only when a built-in one does not do."""
    from importlib.metadata import entry_points

    formats: dict[str, InputFormat] = {}
    broken: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in BUILTIN_FORMATS_BY_NAME or entry.name == AUTO:
            broken[entry.name] = f"{entry.value} may not replace the built-in {entry.name!r}"
            continue
        try:
            loaded = entry.load()
        except (ImportError, AttributeError) as exc:  # one broken package must not stop the rest
            broken[entry.name] = f"{entry.value} failed to load ({type(exc).__name__}: {exc})"
            continue
        missing = [attr for attr in ("detect", "check", "to_state") if not hasattr(loaded, attr)]
        if missing:
            broken[entry.name] = f"{entry.value} has no {', '.join(missing)}"
        else:
            formats[entry.name] = loaded
    return _Plugins(formats, broken)


def builtin_format_names() -> list[str]:
    """``auto`` and the built-in formats: what --format lists in help texts."""
    return [AUTO, *BUILTIN_FORMATS_BY_NAME]


def format_names() -> list[str]:
    """Every format --format accepts, built-in first."""
    return [AUTO, *BUILTIN_FORMATS_BY_NAME, *_plugins().formats]


def get_format(name: str) -> InputFormat:
    """The format called ``name``; InputError (exit 2) naming the known ones otherwise."""
    found = BUILTIN_FORMATS_BY_NAME.get(name) or _plugins().formats.get(name)
    if found is not None:
        return found
    why = _plugins().broken.get(name)
    if why:
        raise InputError(f"--format {name}: the installed format {why}")
    raise InputError(f"--format {name}: unknown format; known: {', '.join(format_names())}")


def state_source(path: Path) -> Source:
    """Where the state at ``path`` comes from, with the digest it is read with: its
    content's and, for a Backlog.md folder, that of the config kept outside it too."""
    if not path.is_dir():
        return load.state_source(path)
    loaded = load.load_folder(path)
    if backlog.detect(loaded.document) == NO:
        return loaded.source
    return backlog.state_source(loaded.document, loaded.source, None)


def detect_format(document: Any) -> tuple[InputFormat | None, int]:
    """The format that recognizes ``document`` best, and how sure it is."""
    best, score = _best(BUILTIN_FORMATS_BY_NAME.values(), document)
    if score < SURE:
        plugin, plugin_score = _best(_plugins().formats.values(), document)
        if plugin_score > score:
            best, score = plugin, plugin_score
    return best, score


def _best(formats: Any, document: Any) -> tuple[InputFormat | None, int]:
    best, score = None, NO
    for fmt in formats:
        found = fmt.detect(document)
        if found > score:
            best, score = fmt, found
    return best, score


def check_document(
    document: Any, source: str, requested: str = AUTO, options: ReadOptions | None = None
) -> InputFormat:
    """The format to read ``document`` with; InputError (exit 2) with a one-line verdict
    and the problems (JSON paths) when it cannot be read."""
    options = options or ReadOptions()
    detected, score = detect_format(document)
    fmt = detected if requested == AUTO else get_format(requested)
    if fmt is None and isinstance(document, (MarkdownDocument, FolderDocument)):
        raise InputError(_not_a_task_list(document, source))
    if fmt is None:  # nothing recognized: the orchestrator's own problems say what is missing
        problems = orchestrator.check(document, source, options)
        raise InputError(
            f"{source}: this looks like {describe_document(document)}; expected {_expected()}",
            problems,
            headline=True,
        )
    problems = fmt.check(document, source, options)
    if not problems:
        return fmt
    if (
        fmt is not detected
        and len(problems) == 1
        and fmt.detect(document) == NO
        and isinstance(document, (MarkdownDocument, FolderDocument))
    ):
        raise InputError(_not_this_format(fmt, problems[0], source))
    rival = _rival(fmt, document) if fmt is detected else None
    if rival is not None:  # auto chose, and another format fits in part: say why this one
        raise InputError(_rival_verdict(fmt, rival, source, len(problems)), problems, headline=True)
    # A file that is clearly this format needs only its problems; any doubt, a verdict.
    clear = fmt is detected and score == SURE
    raise InputError(
        _verdict(fmt, detected, score, source, len(problems), document),
        problems,
        headline=not clear,
    )


def _rival(chosen: InputFormat, document: Any) -> InputFormat | None:
    """A built-in format other than ``chosen`` that ``document`` partly looks like."""
    for fmt in BUILTIN_FORMATS_BY_NAME.values():
        if fmt is not chosen and fmt.detect(document) > NO:
            return fmt
    return None


def _rival_verdict(fmt: InputFormat, rival: InputFormat, source: str, count: int) -> str:
    noun = "1 problem stops" if count == 1 else f"{count} problems stop"
    why = getattr(fmt, "telltale", "")
    rival_has = getattr(rival, "telltale", "")
    return (
        f"{source}: read as {fmt.label} by its content"
        + (f" ({why})" if why else "")
        + f", and {noun} it being read; it also has parts of {rival.label}"
        + (f" ({rival_has})" if rival_has else "")
        + f": if it is one, --format {rival.name} says what to fix"
    )


def _expected() -> str:
    return f"a task file of a known format ({', '.join(format_names()[1:])})"


def _not_a_task_list(document: MarkdownDocument | FolderDocument, source: str) -> str:
    """The one-line verdict on a Markdown file or folder no format reads."""
    if isinstance(document, FolderDocument):
        return (
            f"{source}: this folder holds no task files: looked for a spec folder's "
            "tasks.md, Backlog.md's tasks/*.md and Conductor's tracks/<id>/plan.md; "
            "name a task file with --state"
        )
    boxes = len(document.checkboxes)
    found = (
        f"{boxes} checkbox item{'s' if boxes != 1 else ''}, none with a task id"
        if boxes
        else "no checklist items (`- [ ] ...`)"
    )
    return (
        f"{source}: this Markdown file is no task list: {found}; looked for spec-kit "
        "tasks (`- [ ] T001 ...`), Kiro tasks (`- [ ] 1. ...`) and a Conductor plan "
        "(`- [ ] Task: ...`); Backlog.md is read from its backlog/ folder"
    )


def _not_this_format(fmt: InputFormat, problem: Problem, source: str) -> str:
    """One line for a Markdown file or folder that --format's reader finds nothing in:
    what it lacks and what was looked for."""
    telltale = getattr(fmt, "telltale", "")
    looked = f"; looked for {fmt.label}, known by {telltale}" if telltale else ""
    return f"{source}: read as {fmt.label} (--format {fmt.name}): {problem.message}{looked}"


def _verdict(
    fmt: InputFormat,
    detected: InputFormat | None,
    score: int,
    source: str,
    count: int,
    document: Any,
) -> str:
    noun = "1 problem stops" if count == 1 else f"{count} problems stop"
    if detected is fmt:
        looks = "looks like" if score == SURE else "looks partly like"
        return f"{source}: this {looks} {fmt.label}, but {noun} it being read"
    forced = f"{source}: read as {fmt.label} (--format {fmt.name}), {noun} it being read"
    if detected is not None and score == SURE:
        return f"{forced}; it looks like {detected.label}: try --format {detected.name} or auto"
    if isinstance(document, MarkdownDocument):
        boxes = len(document.checkboxes)
        return f"{forced}; it is Markdown with {boxes} checkbox item{'s' * (boxes != 1)}"
    if isinstance(document, FolderDocument):
        return f"{forced}; it is a folder of {len(document.files)} task-like files"
    return f"{forced}; it looks like {describe_document(document)}"


def discover_state(folder: Path = Path(), input_format: str = AUTO) -> Path:
    """The state in ``folder`` when none is named: the one known place that exists
    there (docs/formats.md lists them), of ``input_format`` when one is named; an error
    naming them all when there are several."""
    found = [
        path
        for pattern, kept in DISCOVERED_FORMATS.items()
        if input_format in (AUTO, kept)
        for path in _matches(folder, pattern)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(
            f"several task files here: {', '.join(map(str, found))}; name one "
            "with --state (and its reader with --format, if auto does not know it)"
        )
    if input_format != AUTO and input_format in BUILTIN_FORMATS_BY_NAME:
        places = [str(p) for p, kept in DISCOVERED_FORMATS.items() if kept == input_format]
        others = [str(path) for pattern in DISCOVERED_FORMATS for path in _matches(folder, pattern)]
        found_else = f" (found {', '.join(others)}: try --format auto)" if others else ""
        raise StateFileNotFound(
            f"no {input_format} state here: none of {', '.join(places)} "
            f"exists{found_else}; name one with --state"
        )
    raise StateFileNotFound(
        f"no state file here: none of {', '.join(map(str, DISCOVERED_PATHS))} exists; "
        "name one with --state"
    )


def _matches(folder: Path, pattern: Path) -> list[Path]:
    """``pattern``'s files in ``folder``, each as the state to read: the folder, for the
    formats kept in one."""
    here = sorted(folder.glob(str(pattern))) if "*" in str(pattern) else [folder / pattern]
    found = []
    for path in here:
        if path.name in _FOLDER_STATES and path.exists():
            found.append(path.parent)
        elif path.is_file():
            found.append(path)
    return found
