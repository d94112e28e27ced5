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

import json
import math
import re
import stat
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .digests import short_digest
from .errors import InputError, Problem, StateFileNotFound
from .model import Source

YAML_SUFFIXES = frozenset({".yml", ".yaml"})
# Nodes that aliases may add to a YAML document beyond its own: generous for anchors
# that share a block of settings, far below what a bomb needs to hurt.
ALIAS_EXPANSION_LIMIT = 1_000_000
_ANCHOR = re.compile(r"&[^\s]")
_SURROGATE_ESCAPE = re.compile(r"\\[uU]0{0,4}[dD][89a-fA-F]")
_TOO_LONG = ("a number of more than 4,300 digits (Python's limit for reading one); "
             "write it as a string")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Loaded(NamedTuple):
    document: Any
    source: Source


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


def inline_source(document: Any) -> Source:
    """Where an already-parsed document came from: no file, its digest by content."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False)
    return Source("<inline state>", short_digest(text), None)


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


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
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not valid UTF-8 (byte {exc.start}: {exc.reason}); save the file as UTF-8"
        ) from None


def load_document(path: str | Path) -> Loaded:
    """Read and parse ``path``; raise InputError (exit 2) when it is unusable."""
    data, source = read_file(path)
    yaml_ok = Path(path).suffix.lower() in YAML_SUFFIXES
    return Loaded(parse_document(data, source.name, yaml_ok=yaml_ok), source)


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
        raise InputError(
            f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON does not allow; huge integers
        reason = _TOO_LONG if "integer string conversion" in str(exc) else exc
        raise InputError(f"{name}: invalid JSON: {reason}") from None


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _parse_yaml(text: str, name: str) -> Any:
    import yaml

    loader = _string_times_loader()(text)
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
                raise InputError(f"{name}: YAML aliases expand to more than "
                                 f"{ALIAS_EXPANSION_LIMIT:,} nodes (an alias bomb?); "
                                 "refused") from None
        elif key in open_nodes:
            mark = node.start_mark
            raise InputError(f"{name}:{mark.line + 1}:{mark.column + 1}: a YAML alias refers "
                             "to a node that contains it (a recursive document); refused")
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
                items = [(_json_key(key, name, document, node), value)
                         for key, value in node.items()]
                node.clear()
                node.update(items)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise _problem(name, _path_of(document, node),
                           f"{node} is not a JSON value; write a number or null")
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
    raise _problem(name, _path_of(document, mapping),
                   f"a {type(key).__name__} as a key; keys are strings")


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
