"""Stage 1: a file on disk -> the raw document (JSON or YAML), or one clear error.

Parse errors name the file, line and column; nothing here ever lets a decoder's
traceback through (empty files, invalid UTF-8, truncated JSON, absurd nesting).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import InputError, Problem, StateFileNotFound
from .model import Source

YAML_SUFFIXES = frozenset({".yml", ".yaml"})


class Loaded(NamedTuple):
    document: Any
    source: Source


if TYPE_CHECKING:
    import yaml


@cache
def _string_times_loader() -> type[yaml.SafeLoader]:
    """A safe loader that leaves ISO times as strings, as JSON would."""
    import yaml  # only YAML states pay for the import

    class StringTimesLoader(yaml.SafeLoader):
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
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except FileNotFoundError:
        raise StateFileNotFound(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return data, Source(name=name, digest=hashlib.sha256(data).hexdigest()[:12], mtime=mtime)


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
        return _parse_yaml(text, name) if yaml_ok else _parse_json(text, name)
    except RecursionError:
        raise _problem(name, "$", "nested too deeply to be an orchestrator state") from None


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON does not allow
        raise InputError(f"{name}: invalid JSON: {exc}") from None


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _parse_yaml(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_string_times_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise InputError(f"{name}{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {exc}") from None


def _problem(name: str, path: str, message: str) -> InputError:
    problem = Problem(name, path, message)
    return InputError(str(problem), [problem])
