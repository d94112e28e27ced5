"""Stage 2: a raw document -> every problem in it, each with its JSON path.

The schemas ship in the package (draft 2020-12) and are the single definition of
what is accepted; all problems are collected, not just the first.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from .errors import Problem
from .excerpt import describe_value
from .redact import scrub_text

SCHEMA_NAMES = ("state", "minimal", "standard", "full")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The packaged JSON Schema called ``name`` (one of SCHEMA_NAMES)."""
    text = (
        resources.files("context_handoff.schemas")
        .joinpath(f"{name}.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    # imported only when a document is invalid: it costs ~0.1 s of start-up otherwise
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


@cache
def _fast_check(name: str) -> Any:
    # The schemas use only keywords whose meaning draft-07 and 2020-12 share, so the
    # compiled draft-07 validator accepts exactly what jsonschema accepts (tested). They
    # ship pre-compiled (scripts/compile_schemas.py): compiling costs 10-25 ms a process.
    return importlib.import_module(f"context_handoff._validators.{name}").validate


def find_problems(document: Any, schema_name: str, source: str) -> list[Problem]:
    """Every way ``document`` breaks the schema, in document order.

    A compiled validator answers "valid?" about ten times faster than jsonschema,
    which matters at 100,000 tasks; only an invalid document pays for jsonschema's
    complete list of problems with their JSON paths.
    """
    try:
        _fast_check(schema_name)(document)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    errors = sorted(_validator(schema_name).iter_errors(document), key=lambda e: list(e.path))
    return [_to_problem(err, source) for err in errors]


def _to_problem(err: ValidationError, source: str) -> Problem:
    from jsonschema.exceptions import best_match

    if err.context:  # anyOf / oneOf: the branch that came closest says the most
        err = best_match(err.context)
    # scrubbed before it is cut: a credential cut in half would no longer be recognised
    message = scrub_text(_reason_first(err.message, err.instance))
    if len(message) > 300:
        message = message[:297] + "..."
    return Problem(source, err.json_path, message)


_VERBS = (" is not ", " is too ", " should ", " does not ", " has ", " was expected", " is valid ")


def _reason_first(message: str, instance: Any) -> str:
    """jsonschema starts a message with the value's repr, which can be megabytes long and
    push the reason out of sight: show the value's type and an excerpt instead."""
    if isinstance(instance, (dict, list)):
        cut = max(message.rfind(verb) for verb in _VERBS)  # the reason follows the repr
        return describe_value(instance) + message[cut:] if cut > 0 else message
    shown = repr(instance)
    if message.startswith(shown):  # the excerpt from the scrubbed value: no half secrets
        value = scrub_text(instance) if isinstance(instance, str) else instance
        return describe_value(value) + message[len(shown) :]
    return message
