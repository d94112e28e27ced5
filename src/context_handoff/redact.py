"""Secret scrubbing: credentials in a state never reach a payload or a report.

Runs on the raw document right after validation, so every later stage (payload,
report, annotations, issues) only ever sees ``[REDACTED:<kind>]``. Two kinds of
rule: every string under a field named like a credential (password, secret, token,
api_key, private_key, credential, auth), and patterns found anywhere in any string
(GitHub, AWS, Slack tokens, private key blocks, JWTs, bearer tokens, passwords in
URLs, ``password=...`` assignments). Task, phase and file maps are keyed by ids and
paths, not field names, so only the patterns apply to their keys.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

SECRET_FIELD = re.compile(
    r"passw(?:or)?d|passphrase|secret|token|api[-_]?key|private[-_]?key|access[-_]?key"
    r"|credential|authorization|(?:^|[-_.])auth(?:$|[-_.])",
    re.IGNORECASE,
)

# kind -> pattern. Named groups are the kinds; patterns use only non-capturing groups.
PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
                   r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b",
    "aws_access_key_id": r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]+",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "bearer_token": r"(?i:\bbearer)\s+[A-Za-z0-9\-._~+/]{12,}=*",
    "url_password": r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@",
    # (?<!...) rather than \b: DB_PASSWORD=... has no word boundary before PASSWORD
    "password_assignment": r"(?i:(?<![a-z0-9])(?:password|passwd|pwd|secret|api[-_]?key|token))"
                           r"\s*[=:]\s*['\"]?[^\s'\",;]{4,}",
}
_ANY = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in PATTERNS.items()))


def _marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _keep_prefix(separator: str) -> Callable[[str, str], str]:
    """Keep what comes before ``separator`` (a scheme and user, a 'Bearer', a 'key=')."""

    head_pattern = re.compile(separator)

    def replace(text: str, kind: str) -> str:
        head = head_pattern.match(text)
        return (head.group(0) if head else "") + _marker(kind)

    return replace


_REPLACE: dict[str, Callable[[str, str], str]] = {
    "bearer_token": _keep_prefix(r"(?i)bearer\s+"),
    "url_password": lambda text, kind: text[: text.index(":", text.index("://") + 3) + 1]
    + _marker(kind) + "@",
    "password_assignment": _keep_prefix(r"[^=:]*[=:]\s*['\"]?"),
}


class Redactor:
    """Scrubs strings and documents, counting what it replaced by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        # Ids recur (dependencies, dependents, context lists, phases) and field names
        # recur in every task: each distinct string is searched once.
        self._clean: set[str] = set()
        self._secret_field: dict[str, bool] = {}

    def scrub(self, text: str) -> str:
        """``text`` with every secret pattern replaced."""
        if text in self._clean:
            return text
        if not _ANY.search(text):
            self._clean.add(text)
            return text
        return _ANY.sub(self._replace, text)

    def _is_secret_field(self, key: str) -> bool:
        known = self._secret_field.get(key)
        if known is None:
            known = self._secret_field[key] = bool(SECRET_FIELD.search(key))
        return known

    def _replace(self, match: re.Match[str]) -> str:
        kind = match.lastgroup or "secret"
        self.counts[kind] += 1
        replace = _REPLACE.get(kind)
        return replace(match.group(0), kind) if replace else _marker(kind)

    def redact_document(self, doc: Any) -> Any:
        """Scrub a parsed state in place (and return it); walks iteratively, any depth."""
        id_maps = _id_keyed_maps(doc)
        stack: list[tuple[Any, bool]] = [(doc, False)]
        while stack:
            node, secret = stack.pop()
            if isinstance(node, dict):
                self._redact_dict(node, secret, id(node) in id_maps, stack)
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    node[index] = self._value(value, secret, stack)
        return doc

    def _redact_dict(
        self, node: dict[str, Any], secret: bool, id_keyed: bool, stack: list[tuple[Any, bool]]
    ) -> None:
        renamed = False
        for key, value in list(node.items()):
            under_secret = secret or (not id_keyed and self._is_secret_field(key))
            node[key] = self._value(value, under_secret, stack)
            renamed = renamed or self.scrub(key) != key
        if renamed:  # rare: a key that holds a secret itself (a path with a password)
            items = list(node.items())
            node.clear()
            node.update((self.scrub(key), value) for key, value in items)

    def _value(self, value: Any, secret: bool, stack: list[tuple[Any, bool]]) -> Any:
        if isinstance(value, str):
            if secret and value:
                self.counts["secret_field"] += 1
                return _marker("secret_field")
            return self.scrub(value)
        if isinstance(value, (dict, list)):
            stack.append((value, secret))
        return value


def _id_keyed_maps(doc: Any) -> set[int]:
    """The maps whose keys are task ids, phase ids and file paths, not field names."""
    if not isinstance(doc, dict):
        return set()
    maps = [
        doc.get("tasks"),
        (doc.get("dag") or {}).get("phases") if isinstance(doc.get("dag"), dict) else None,
        (doc.get("filesystem_state") or {}).get("files")
        if isinstance(doc.get("filesystem_state"), dict) else None,
    ]
    return {id(m) for m in maps if isinstance(m, dict)}
