"""Stage 1: a file on disk -> the raw document (JSON or YAML), or one clear error.

Parse errors name the file, line and column; nothing here ever lets a decoder's
traceback through (empty files, invalid UTF-8, truncated JSON, absurd nesting).

A YAML document is read with libyaml's parser when PyYAML has it (ten times faster than
the pure-Python one), and refused when its aliases refer to themselves or expand to
more than ``ALIAS_EXPANSION_LIMIT`` nodes beyond the document's own (a "billion laughs"
bomb). What YAML has and JSON has not is made JSON's: keys that are numbers, booleans
or null become the strings JSON would write, and ``.inf`` / ``.nan`` are refused as
JSON refuses them. Lone UTF-16 surrogates (``"\\ud800"``), which no file can hold,
become U+FFFD.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import defaults
from .digests import short_digest
from .errors import InputError, Problem, StateFileNotFound
from .markdown import MAX_LINE_CHARS, parse_markdown, split_front_matter
from .model import Source

YAML_SUFFIXES = frozenset({".yml", ".yaml"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
# A folder input (Backlog.md's backlog/, Conductor's conductor/, a spec folder): the files
# read from it, how deep, and how many bytes in all (as much as one JSON body may have).
FOLDER_SUFFIXES = frozenset({*MARKDOWN_SUFFIXES, *JSONL_SUFFIXES, *YAML_SUFFIXES, ".json", ".txt"})
FOLDER_DEPTH = 4
FOLDER_FILES = 100_000
# Nodes that aliases may add to a YAML document beyond its own: generous for anchors
# that share a block of settings, far below what a bomb needs to hurt.
ALIAS_EXPANSION_LIMIT = 1_000_000
_ANCHOR = re.compile(r"&[^\s]")
_SURROGATE_ESCAPE = re.compile(r"\\[uU]0{0,4}[dD][89a-fA-F]")
_TOO_LONG = (
    "a number of more than 4,300 digits (Python's limit for reading one); write it as a string"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


class Loaded(NamedTuple):
    document: Any
    source: Source


class FolderDocument(NamedTuple):
    """A folder given as the state: the text of its task-like files, by relative path
    (POSIX separators); each format parses the ones it reads."""

    root: Path
    files: dict[str, str]
    parsed: dict[str, Any]  # what has been parsed already: checking and reading parse once

    def parse(self, relative: str) -> Any:
        """One of its files, parsed as its suffix says (Markdown, JSON, JSONL, YAML)."""
        if relative not in self.parsed:
            name = str(self.root / relative)
            self.parsed[relative] = parse_text(
                self.files[relative], name, Path(relative).suffix.lower()
            )
        return self.parsed[relative]

    def front_matter(self, relative: str) -> Any:
        """The YAML front matter of one of its Markdown files, parsed; None without one."""
        key = f"{relative}\0front matter"
        if key not in self.parsed:
            front, _, _ = split_front_matter(self.files[relative])
            self.parsed[key] = (
                None if front is None else parse_front_matter(front, f"{self.root}/{relative}")
            )
        return self.parsed[key]


if TYPE_CHECKING:
    import yaml


@cache
def _string_times_loader() -> type[yaml.SafeLoader]:
    """A safe loader (libyaml's when there is one) that leaves ISO times as strings,
    as JSON would."""
    import yaml  # only YAML states pay for the import

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StringTimesLoader(base):  # type: ignore[valid-type, misc]
        pass

    StringTimesLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return StringTimesLoader


def read_file(path: str | Path) -> tuple[bytes, Source]:
    """The bytes of ``path`` and where they came from; InputError (exit 2) if unreadable."""
    path = Path(path)
    name = str(path)
    try:
        check_regular_file(path)
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except FileNotFoundError:
        raise StateFileNotFound(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return data, Source(name=name, digest=short_digest(data), mtime=mtime)


def state_source(path: str | Path) -> Source:
    """Where the state at ``path`` (a file, or a folder read as load_document reads it)
    came from, with the digest of its content: what changes when the state does."""
    path = Path(path)
    return load_folder(path).source if path.is_dir() else read_file(path)[1]


def inline_source(document: Any) -> Source:
    """Where an already-parsed document came from: no file, its digest by content."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False)
    return Source("<inline state>", short_digest(text), None)


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_regular_file(path: Path) -> None:
    """InputError at once for a FIFO, socket or device: opening one may wait for a writer
    that never comes. ``stat`` never blocks; a missing file is left to the reader."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    for test, what in _SPECIAL:
        if test(mode):
            raise InputError(f"{path}: is {what}, not a regular file; give a file")


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is allowed); InputError naming the byte otherwise."""
    try:  # as "utf-8-sig" decodes, and a byte's place counted alike, but at C speed
        return (data[3:] if data[:3] == codecs.BOM_UTF8 else data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not valid UTF-8 (byte {exc.start}: {exc.reason}); save the file as UTF-8"
        ) from None


def load_document(path: str | Path) -> Loaded:
    """Read and parse ``path`` (a file, or a folder of task files); raise InputError
    (exit 2) when it is unusable."""
    path = Path(path)
    if path.is_dir():
        return load_folder(path)
    data, source = read_file(path)
    return Loaded(parse_file(data, source.name, path.suffix.lower()), source)


def parse_file(data: bytes, name: str, suffix: str) -> Any:
    """Parse a file's bytes as its suffix says: Markdown, JSONL, YAML, else JSON (or
    JSONL, when the text is one JSON object a line)."""
    if suffix in YAML_SUFFIXES or suffix not in (MARKDOWN_SUFFIXES | JSONL_SUFFIXES):
        return parse_document(data, name, yaml_ok=suffix in YAML_SUFFIXES)
    if not data.strip():
        raise InputError(f"{name}: the file is empty; expected a task list")
    return parse_text(decode_text(data, name), name, suffix)


def parse_text(text: str, name: str, suffix: str) -> Any:
    """Parse decoded text as its suffix says."""
    if suffix in MARKDOWN_SUFFIXES or suffix == ".txt":
        return parse_markdown(text, name)
    if suffix in JSONL_SUFFIXES:
        return parse_jsonl(text, name)
    return parse_document(text.encode("utf-8"), name, yaml_ok=suffix in YAML_SUFFIXES)


def parse_front_matter(text: str, name: str) -> Any:
    """A Markdown file's YAML front matter, every scalar as the string written (ids,
    dates and words alike); the same limits and errors as any YAML input."""
    return _parse_yaml(text, name, strings=True) if text.strip() else None


def parse_jsonl(text: str, name: str) -> list[Any]:
    """One JSON value a line (blank lines skipped); errors name the line and column."""
    values = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise InputError(
                f"{name}:{number}: a line of {len(line):,} characters, over the "
                f"limit of {MAX_LINE_CHARS:,}"
            )
        try:
            values.append(_parse_json(line, name))
        except InputError as exc:
            raise InputError(_at_line(exc.message, name, number)) from None
        except RecursionError:
            raise InputError(f"{name}:{number}: nested too deeply to be read") from None
    if _SURROGATE_ESCAPE.search(text):
        values = _replace_surrogates(values)
    return values


def _at_line(message: str, name: str, number: int) -> str:
    """A JSON error of one line of a JSONL file, with the file's line number."""
    rest = message[len(name) :]
    if rest.startswith(":1:"):
        return f"{name}:{number}:{rest[3:]}"
    return f"{name}:{number}{rest}"


def load_folder(root: Path) -> Loaded:
    """The task-like files of a folder (no hidden folders, no links), with one digest."""
    files: dict[str, str] = {}
    parts: list[bytes] = []  # what the digest is of: each file's path and bytes
    total = 0
    listed = _folder_files(root)
    base = os.path.join(root, "")
    for relative, size, _ in listed:
        total += size
        if total > defaults.MAX_BODY_BYTES or len(files) >= FOLDER_FILES:
            raise InputError(
                f"{root}: more than {defaults.MAX_BODY_BYTES:,} bytes or "
                f"{FOLDER_FILES:,} files of tasks; name one file with --state"
            )
        name = base + relative
        try:
            data = _read_listed(name, size)
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
        files[relative] = decode_text(data, name)
        parts += (relative.encode(), b"\0", data, b"\0")
    newest = max((stamp for _, _, stamp in listed), default=None)
    mtime = datetime.fromtimestamp(newest, tz=timezone.utc) if newest is not None else None
    return Loaded(
        FolderDocument(root, files, {}),
        Source(name=str(root), digest=short_digest(b"".join(parts)), mtime=mtime),
    )


def _read_listed(name: str, size: int) -> bytes:
    """A file of ``size`` bytes when listed, read whole: one unbuffered read (ten
    thousand task files are read in half the time ``open()`` takes)."""
    handle = os.open(name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(handle, size + 1)
        if len(data) > size:  # it grew since: the rest too
            chunks = [data]
            while chunk := os.read(handle, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    finally:
        os.close(handle)


def _folder_files(root: Path) -> list[tuple[str, int, float]]:
    """(relative POSIX path, size, mtime) of each task-like file, in path order."""
    found: list[tuple[str, int, float]] = []
    folders = [("", 0)]
    while folders:
        prefix, depth = folders.pop()
        try:
            entries = list(os.scandir(os.path.join(root, prefix)))
        except OSError as exc:
            raise InputError(
                f"{root / prefix}: cannot read the folder: {exc.strerror or exc}"
            ) from None
        for entry in entries:
            name = entry.name
            if name[0] == "." or entry.is_symlink():
                continue
            if entry.is_dir() and depth < FOLDER_DEPTH and name != "node_modules":
                folders.append((f"{prefix}{name}/", depth + 1))
            # its suffix (with no dot, its last letter: no suffix's)
            elif name[name.rfind(".") :].lower() in FOLDER_SUFFIXES and entry.is_file():
                info = entry.stat()
                found.append((prefix + name, info.st_size, info.st_mtime))
    return sorted(found)


def parse_document(data: bytes, name: str, *, yaml_ok: bool = False) -> Any:
    """Parse bytes as JSON (or YAML when ``yaml_ok``)."""
    if not data.strip():
        raise InputError(f"{name}: the file is empty; expected a JSON object with 'tasks'")
    text = decode_text(data, name)
    try:
        document = _parse_yaml(text, name) if yaml_ok else _parse_json(text, name)
    except RecursionError:
        raise _problem(name, "$", "nested too deeply to be an orchestrator state") from None
    if _SURROGATE_ESCAPE.search(text):
        document = _replace_surrogates(document)
    return document


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and exc.lineno > 1 and text.lstrip().startswith("{"):
            return parse_jsonl(text, name)  # one object a line: JSONL, whatever the suffix
        raise InputError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:  # NaN / Infinity, which JSON does not allow; huge integers
        reason = _TOO_LONG if "integer string conversion" in str(exc) else exc
        raise InputError(f"{name}: invalid JSON: {reason}") from None


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _parse_yaml(text: str, name: str, *, strings: bool = False) -> Any:
    """``strings``: every scalar a string (YAML's base schema), which is faster and
    all that a front matter's fields need."""
    import yaml

    loader = (getattr(yaml, "CBaseLoader", yaml.BaseLoader) if strings else _string_times_loader())(
        text
    )
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _ANCHOR.search(text):  # no anchor, no alias: the walk is only paid when needed
            _check_aliases(node, name)
        document = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise InputError(f"{name}{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {exc}") from None
    except ValueError:  # an integer of more digits than Python converts
        raise InputError(f"{name}: invalid YAML: {_TOO_LONG}") from None
    finally:
        loader.dispose()
    return _as_json_data(document, name)


def _check_aliases(root: yaml.Node, name: str) -> None:
    """Refuse aliases that contain themselves or expand the document past the limit."""
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            if size[key] > ALIAS_EXPANSION_LIMIT + len(size):
                raise InputError(
                    f"{name}: YAML aliases expand to more than "
                    f"{ALIAS_EXPANSION_LIMIT:,} nodes (an alias bomb?); "
                    "refused"
                ) from None
        elif key in open_nodes:
            mark = node.start_mark
            raise InputError(
                f"{name}:{mark.line + 1}:{mark.column + 1}: a YAML alias refers "
                "to a node that contains it (a recursive document); refused"
            )
        elif key not in size:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children)


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, str):
        return []
    if value and isinstance(value[0], tuple):
        return [part for pair in value for part in pair]
    return list(value)


def _as_json_data(document: Any, name: str) -> Any:
    """YAML's extra scalars made JSON's: keys as JSON writes them, no inf or nan."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if not all(type(key) is str for key in node):
                items = [
                    (_json_key(key, name, document, node), value) for key, value in node.items()
                ]
                node.clear()
                node.update(items)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise _problem(
                name,
                _path_of(document, node),
                f"{node} is not a JSON value; write a number or null",
            )
    return document


def _path_of(document: Any, target: Any) -> str:
    """The JSON path of ``target`` in ``document`` (by identity), for an error message."""
    stack: list[tuple[Any, str]] = [(document, "$")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if isinstance(node, dict):
            stack.extend((value, f"{path}.{key}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(node))
    return "$"


def _json_key(key: Any, name: str, document: Any, mapping: dict[Any, Any]) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float) and not math.isfinite(key):
        raise _problem(name, _path_of(document, mapping), f"the key {key} is not a JSON value")
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise _problem(
        name, _path_of(document, mapping), f"a {type(key).__name__} as a key; keys are strings"
    )


def _replace_surrogates(document: Any) -> Any:
    """Lone surrogates (from ``\\ud800`` escapes) -> U+FFFD: UTF-8 cannot encode them."""

    def fix(value: Any) -> Any:
        return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value

    document = fix(document)
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = [(fix(key), fix(value)) for key, value in node.items()]
            node.clear()
            node.update(items)
            stack.extend(node.values())
        elif isinstance(node, list):
            node[:] = [fix(value) for value in node]
            stack.extend(node)
    return document


def _problem(name: str, path: str, message: str) -> InputError:
    problem = Problem(name, path, message)
    return InputError(str(problem), [problem])
