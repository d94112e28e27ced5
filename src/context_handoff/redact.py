"""Secret scrubbing: credentials in a state never reach a payload, a report or a log.

Runs on the raw document right after validation, so every later stage (payload,
report, annotations, issues) only ever sees ``[REDACTED:<kind>]``; error messages
about a state are scrubbed too (``scrub_error``), before anything is printed.

Two kinds of rule: every string under a field named like a credential (password,
secret, token, api_key, private_key, credential, auth), and patterns found anywhere
in any string. The patterns follow the published rules of two maintained detectors,
gitleaks (``config/gitleaks.toml``) and Yelp's detect-secrets (``plugins/``): the
provider prefixes and lengths are theirs, written here as one alternation. Where they
anchor a token with ``\\b``, these use "no letter or digit before", so a token glued to
``_`` (``DEPLOY_ghp_...``) is found too. Task, phase and file maps are keyed by ids and
paths, not field names, so only the patterns apply to their keys.

Each distinct secret gets its own marker (``[REDACTED:github_token]``, then
``[REDACTED:github_token:2]`` for a second, different one): two task ids that differ
only in a secret stay two tasks, and a dependency on one still names the right one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import string
from collections import Counter
from functools import cache
from itertools import chain
from typing import Any, NamedTuple

from .errors import HandoffError, Problem

SECRET_FIELD = re.compile(
    r"passw(?:or)?d|passphrase|secret|token|api[-_]?key|private[-_]?key|access[-_]?key"
    r"|credential|authorization|(?:^|[-_.])auth(?:$|[-_.])",
    re.IGNORECASE,
)

_START = r"(?<![A-Za-z0-9])"  # gitleaks' \b, but "_" before a token does not hide it
_END = r"(?![A-Za-z0-9])"
# Words that name a credential in "KEY=value" text (detect-secrets' keyword list and
# gitleaks' generic-api-key rule): a suffix after "_", "." or "-" is allowed
# (SECRET_KEY, password.file), a plural or a longer word is not ("tokens: 1200",
# "tokenizer: o200k_base", "passwordless").
_KEYWORD = (
    r"(?i:passw(?:or)?d|passphrase|pwd|secret|token|api[-_]?key|auth[-_]?key"
    r"|access[-_]?key|private[-_]?key|priv[-_]?key|client[-_]?key|account[-_]?key"
    r"|service[-_]?key|(?:db|database)[-_]?(?:key|pass)|key[-_]?pass|credentials?|creds"
    r"|contrase(?:ñ|n)a"
    # "pass" as the last word of a name: DB_PASS, SMTP_PASS, mail.pass
    r"|(?<=[A-Za-z0-9][_.-])pass(?![A-Za-z]))(?:[_.-][A-Za-z0-9_.-]{0,30})?"
)
_ASSIGN = r"""["'\]]{0,2}[ \t]*(?:=>|:=|=|:)[ \t]*"""
# a value on a command line: quoted whole, else up to the next blank (bounded runs)
_ARG = (
    r"""(?:"(?P<secret>[^"\n]{1,200})"|'(?P<secret2>[^'\n]{1,200})'"""
    r"""|(?P<secret3>[^\s'"]{1,200}))"""
)
_COMMAND = r"[^\n]{0,500}?[ \t]"  # the rest of a command line, up to an option

# kind -> pattern. A group named "secret" (or "secret2", "secret3": one per alternative)
# is what gets replaced, else the whole match; every other group is non-capturing.
# Each rule's source (a gitleaks rule id or a detect-secrets plugin) is in
# docs/redaction.md, with an example of what it catches.
PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN[A-Z0-9 _-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END[A-Z0-9 _-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z)"
    r"|PuTTY-User-Key-File-\d+:[\s\S]*?(?:Private-MAC:[^\n]*|\Z)",
    "age_secret_key": _START + r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
    "github_token": _START + r"(?:gh[pousr]_[A-Za-z0-9_]{30,}|github_pat_[A-Za-z0-9_]{20,})",
    "gitlab_token": _START + r"(?:gl(?:pat|dt|ptt|rt|soat|cbt|ffct|imt|agent|ft|oas)"
    r"-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{9}" + _END + r")?"
    r"|GR1348941[A-Za-z0-9_-]{20,}|_gitlab_session=[0-9a-z]{32})",
    "aws_access_key_id": _START + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)"
    r"[A-Z0-9]{16}" + _END,
    "aws_bedrock_key": _START + r"(?:ABSK[A-Za-z0-9+/]{109,269}={0,2}"
    r"|bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%&?._-]*)",
    # detect-secrets: "aws", a key word, then 40 base64 characters within a few more
    "aws_secret_access_key": r"(?i:aws)[A-Za-z0-9_.-]{0,20}?(?i:secret|key|pwd|pw|pass|token)"
    r"[A-Za-z0-9_.-]{0,20}" + _ASSIGN + r"""["']?"""
    r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    "slack_token": _START + r"(?:xoxe\.)?xox[abposre]-[A-Za-z0-9-]{10,}"
    r"|" + _START + r"(?i:xapp)-\d-[A-Za-z0-9-]{10,}"
    r"|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/"
    r"[A-Za-z0-9/+_-]+",
    "stripe_key": _START + r"(?:(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}"
    r"|whsec_[A-Za-z0-9+/=]{20,})",
    "anthropic_key": _START + r"sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_-]{20,}",
    "openai_key": _START + r"(?:sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
    r"|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
    "google_api_key": _START + r"AIza[A-Za-z0-9_-]{35}",
    "azure_storage_key": r"(?i:AccountKey)=(?P<secret>[A-Za-z0-9+/=]{20,})",
    # an Azure AD (Entra ID) client secret: three characters, a digit, "Q~", 31-34 more
    "azure_client_secret": r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}"
    r"(?![A-Za-z0-9_~.-])",
    "npm_token": _START + r"npm_[A-Za-z0-9]{36}",
    "pypi_token": _START + r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}",
    "huggingface_token": _START + r"(?:hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,})",
    "sendgrid_key": _START + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    "twilio_key": _START + r"(?:AC|SK)[0-9a-fA-F]{32}" + _END,
    # not after a character of its own alphabet: a long run of them is then scanned
    # once, not once for every "eyJ" in it. Unsigned ones ("alg": "none") end in "."
    "jwt": r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.(?:[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|eyJ[A-Za-z0-9_-]{5,}\.)"
    # the same, base64-encoded once more ('{"alg":' and '{"typ":' in base64)
    r"|" + _START + r"ZXlK(?:aGJHY2lPaU|MGVYQWlPaU)[A-Za-z0-9+/]{40,}={0,2}",
    # an HTTP Authorization header (or a setting of that name) with any scheme but the
    # two that have rules of their own (bearer, basic)
    "authorization_header": r"(?i:\b(?:proxy-)?authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?!(?i:bearer|basic)\b)"
    r"(?i:(?:token|digest|api-?key|key|sso-key)[ \t]+)?"
    r"(?P<secret>[A-Za-z0-9\-._~+/=:]{8,})",
    # X-API-Key, X-Auth-Token and the like (gitleaks' curl-auth-header)
    "api_key_header": r"(?i:\bx-(?:[a-z]{1,20}-)?(?:api-?)?(?:key|token))[ \t]*:[ \t]*"
    r"(?P<secret>[A-Za-z0-9=~@.+/_-]{8,})",
    "bearer_token": r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9\-._~+/]{12,}=*)",
    "basic_auth": r"(?i:\bbasic)\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
    # detect-secrets' basic-auth URIs; a user may be empty (redis://:pw@host), and the
    # password may hold "/" or "@": it runs to the last "@" before the host (a host
    # holds neither, and ends the authority with "/", "?", "#", a blank or the end)
    # (bounded runs: a state's long strings cost linear time, whatever they hold)
    "url_password": r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/:@]{0,200}:"
    r"(?P<secret>[^\s]{1,200}?)@(?=[^\s@/?#]{0,255}(?:[/?#\s]|\Z))",
    # curl -u user:password, --user=user:password (gitleaks' curl-auth-user)
    "curl_user": r"\bcurl\b" + _COMMAND + r"(?:-u|--user)(?:=|[ \t]{1,5})" + _ARG,
    # mysql -pPASSWORD (glued to -p), mysqldump/mysqladmin alike
    "mysql_password": r"\bmysql(?:dump|admin)?\b"
    + _COMMAND
    + r"-p(?P<secret>[^\s'\"-][^\s'\"]{0,199})",
    # --password x, --passwd "x y" (the "=" form is an assignment, below)
    "password_option": r"(?<![A-Za-z0-9-])--(?:[a-z]{1,20}-)?pass(?:word|wd)?[ \t]+(?!-)" + _ARG,
    # Docker's config.json: "auth" is base64 of user:password; tokens beside it
    "docker_auth": r"\"(?:auth|identitytoken|registrytoken)\"[ \t]*:[ \t]*"
    r"\"(?P<secret>[^\"\n]{8,500})\"",
    "password_assignment": _KEYWORD + _ASSIGN + r"(?!\[REDACTED)"
    r"""(?:"(?P<secret>[^"\n]{1,200})"|'(?P<secret2>[^'\n]{1,200})'"""
    r"""|(?P<secret3>(?i:(?:bearer|basic|token)\s+)?[^\s'",;]{4,}))""",
}


@cache
def _rules(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """One search for the rules of ``kinds`` (in PATTERNS' order), each match in a group
    named by its kind. A text is searched for the rules whose literals it holds: the
    others match nowhere in it, so the matches are those of a search for all."""
    return re.compile(
        "|".join(
            f"(?P<{kind}>{re.sub(r'[(][?]P<secret[0-9]?>', '(?:', PATTERNS[kind])})"
            for kind in kinds
        )
    )


@cache
def _one(kind: str) -> re.Pattern[str]:
    """The rule for ``kind`` alone (compiled when first needed: most runs find no secret,
    and compiling every rule costs start-up time)."""
    return re.compile(PATTERNS[kind])


# kind -> literals, one of which every match of the rule holds: a string holding none of
# any rule's cannot match, and skips the search of all the rules at once (most state
# strings: ids, names, times). Kept beside the patterns; tests/test_redact_prefilter.py
# checks each rule's examples and random text against them.
_CASED_LITERALS: dict[str, tuple[str, ...]] = {  # as written: the rule is case-sensitive
    "private_key": ("-----BEGIN", "PuTTY-User-Key-File-"),
    "age_secret_key": ("AGE-SECRET-KEY-1",),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": (
        *(
            f"gl{kind}-"
            for kind in (
                "pat",
                "dt",
                "ptt",
                "rt",
                "soat",
                "cbt",
                "ffct",
                "imt",
                "agent",
                "ft",
                "oas",
            )
        ),
        "GR1348941",
        "_gitlab_session=",
    ),
    "aws_access_key_id": ("A3T", "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA"),
    "aws_bedrock_key": ("ABSK", "bedrock-api-key-"),
    "slack_token": ("xox", "hooks.slack.com/"),
    "stripe_key": (
        *(f"{kind}_{mode}_" for kind in ("sk", "rk") for mode in ("test", "live", "prod")),
        "whsec_",
    ),
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "google_api_key": ("AIza",),
    "azure_client_secret": ("Q~",),
    "npm_token": ("npm_",),
    "pypi_token": ("pypi-",),
    "huggingface_token": ("hf_", "api_org_"),
    "sendgrid_key": ("SG.",),
    # with the hex digit after: "TASK-12" (Backlog.md's ids) holds "SK" but is no key
    "twilio_key": tuple(f"{kind}{digit}" for kind in ("AC", "SK") for digit in string.hexdigits),
    "jwt": ("eyJ", "ZXlK"),
    "url_password": ("://",),
    "curl_user": ("curl",),
    "mysql_password": ("mysql",),
    "password_option": ("--",),
    "docker_auth": ('"auth"', '"identitytoken"', '"registrytoken"'),
}
_FOLDED_LITERALS: dict[str, tuple[str, ...]] = {  # under (?i:...): matched case-blind
    "slack_token": ("xapp-",),
    "aws_secret_access_key": ("aws",),
    "azure_storage_key": ("accountkey=",),
    "authorization_header": ("authorization",),
    "api_key_header": ("key", "token"),
    "bearer_token": ("bearer",),
    "basic_auth": ("basic",),
    "password_assignment": ("pass", "pwd", "secret", "token", "key", "cred", "contrase"),
}


def _trie(words: set[str]) -> str:
    """A regex matching any of ``words``, as a trie: one branch per next character, so a
    search looks at each character once instead of trying every word there."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_branch(tree)


def _trie_branch(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(char) + _trie_branch(rest) for char, rest in sorted(node.items()) if char]
    if not branches:
        return ""
    if len(branches) == 1 and not ends:
        return branches[0]
    return "(?:" + "|".join(branches) + ")" + ("?" if ends else "")


_CASED = re.compile(_trie({lit for lits in _CASED_LITERALS.values() for lit in lits}))
_FOLDED = {lit for lits in _FOLDED_LITERALS.values() for lit in lits}
_LOWER = re.compile(_trie(_FOLDED))
# the folded literals under the rules' own (?i:), which folds beyond ASCII as they do
# (the long s U+017F is an "s" and the Kelvin sign U+212A a "k" to both): for text
# that is not ASCII alone
_UNICODE = re.compile(_CASED.pattern + "|(?i:" + _LOWER.pattern + ")")


def _may_hold_secret(text: str) -> bool:
    """False only when no rule can match ``text``: it holds none of their literals."""
    if text.isascii():  # ASCII letters fold to ASCII letters: lower() is (?i:) exactly
        return bool(_CASED.search(text) or _LOWER.search(text.lower()))
    return bool(_UNICODE.search(text))


def _kinds_held(text: str) -> tuple[str, ...]:
    """The rules whose literals ``text`` holds (none when ``_may_hold_secret`` says no),
    in PATTERNS' order."""
    if not _may_hold_secret(text):
        return ()
    folded = text
    if not text.isascii():
        for char, ascii_letter in _FOLD_TO_ASCII.items():
            folded = folded.replace(char.decode(), ascii_letter.decode())
    folded = folded.lower()
    return tuple(
        kind
        for kind in PATTERNS
        if any(literal in text for literal in _CASED_LITERALS.get(kind, ()))
        or any(literal in folded for literal in _FOLDED_LITERALS.get(kind, ()))
    )


# The characters that the rules' (?i:...) takes for an ASCII letter, besides the ASCII
# capitals (tests/test_redact_prefilter.py finds them all): dotted and dotless i, the
# long s and the Kelvin sign, each in UTF-8 with the letter it is taken for.
_FOLD_TO_ASCII = {
    "\u0130".encode(): b"i",
    "\u0131".encode(): b"i",
    "\u017f".encode(): b"s",
    "\u212a".encode(): b"k",
}
# Lower-case characters from the most to the least common in state text: each literal is
# looked for from its least common character (the others checked around it), so that
# a search stops at few places: the speed, not what is found, depends on this order.
_COMMONEST = "e ta0osinr21_l4c-3p5d8769kmu():hgbyzvf.wxq,/'\"=j~"


def _rarest_first(words: set[str], tails: dict[str, str]) -> str:
    """A regex matching any of ``words`` (a word in ``tails`` followed by its tail) that
    starts at each word's least common character: a search then stops only there."""
    by_anchor: dict[str, list[str]] = {}
    for word in sorted(words | set(tails)):
        at = max(
            range(len(word)), key=lambda i: (word[i] not in _COMMONEST, _COMMONEST.find(word[i]))
        )
        before = f"(?<={re.escape(word[: at + 1])})" if at else ""
        by_anchor.setdefault(word[at], []).append(
            before + re.escape(word[at + 1 :]) + tails.get(word, "")
        )
    return "|".join(
        re.escape(anchor) + "(?:" + "|".join(rests) + ")"
        for anchor, rests in sorted(by_anchor.items())
    )


# Every rule's literals lower-cased, found in lower-cased text: a text holding a literal
# of a case-sensitive rule holds its lower case too. Twilio's two capitals are too
# common a pair in lower case: the 32 hex digits that follow them go with them.
_SUSPECT = re.compile(
    _rarest_first(
        {
            lit.lower()
            for kind, lits in _CASED_LITERALS.items()
            for lit in lits
            if kind != "twilio_key"
        }
        | _FOLDED,
        tails={"ac": "[0-9a-f]{32}", "sk": "[0-9a-f]{32}"},
    ).encode()
)


def _suspects(texts: list[str]) -> list[str]:
    """The ``texts`` that may hold a secret (the rest cannot): one search of them all,
    joined by NULs and lower-cased as UTF-8, for the rules' literals, then a closer
    look at each text it finds (its literals, by case, as ``_may_hold_secret``)."""
    try:
        data = "\0".join(texts).encode("utf-8", "surrogatepass")
    except TypeError:  # numbers and the like, from lists
        texts = list(filter(str.__instancecheck__, texts))
        data = "\0".join(texts).encode("utf-8", "surrogatepass")
    if data.count(b"\0") != len(texts) - 1:  # a NUL in a text: looked at one by one
        return [text for text in texts if _may_hold_secret(text)]
    for char, ascii_letter in _FOLD_TO_ASCII.items():
        if char in data:
            data = data.replace(char, ascii_letter)
    data = data.lower()
    found, index, position = [], 0, 0
    while match := _SUSPECT.search(data, position):
        index += data.count(b"\0", position, match.start())  # the text it lies in
        found.append(texts[index])
        position = data.find(b"\0", match.start()) + 1 or len(data)
        index += 1
    return [text for text in found if _may_hold_secret(text)]


_DIGITS = re.compile(r"\d+")
SECRET_FIELD_MARKER = "[REDACTED:secret_field]"  # field values are never keys: one marker


class _Plan(NamedTuple):
    """What one walk of a document found to change."""

    found: dict[tuple[str, str], str]  # (kind, secret) -> its SHA-256 digest
    hidden: list[tuple[Any, Any]]  # (map or list, key or index): a credential field's value
    dirty: list[tuple[Any, Any]]  # a string there holds a secret
    renamed: list[dict[str, Any]]  # a map with a key that holds a secret


class Redactor:
    """Scrubs strings and documents, counting what it replaced by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        # Ids recur (dependencies, dependents, context lists, phases) and field names
        # recur in every task: each distinct string is searched once.
        self._clean: set[str] = set()
        self._secret_field: dict[str, bool] = {}
        self._plain_fields: set[Any] = set()  # keys known to name no credential
        self._markers: dict[tuple[str, str], str] = {}
        self._distinct: Counter[str] = Counter()

    def scrub(self, text: str) -> str:
        """``text`` with every secret pattern replaced."""
        if text in self._clean or not self._secrets(text):
            return text
        return _rules(_kinds_held(text)).sub(self._replace, text)

    def _secrets(self, text: str) -> list[tuple[str, str]]:
        """The (kind, secret) pairs in ``text``; a string with none is remembered."""
        found: list[tuple[str, str]] = []
        kinds = _kinds_held(text)
        if kinds:
            for match in _rules(kinds).finditer(text):
                hit = _found(match)
                if hit is not None:
                    kind, start, end = hit
                    found.append((kind, match.group(0)[start:end]))
        if not found:
            self._clean.add(text)
        return found

    def marker(self, kind: str, secret: str) -> str:
        """The marker for this secret: the same secret, the same marker, everywhere."""
        key = (kind, secret)
        known = self._markers.get(key)
        if known is None:
            self._distinct[kind] += 1
            number = self._distinct[kind]
            known = self._markers[key] = (
                f"[REDACTED:{kind}]" if number == 1 else f"[REDACTED:{kind}:{number}]"
            )
        return known

    def _is_secret_field(self, key: str) -> bool:
        known = self._secret_field.get(key)
        if known is None:  # field names recur in every task: each is searched once
            known = self._secret_field[key] = bool(SECRET_FIELD.search(key))
        return known

    def _replace(self, match: re.Match[str]) -> str:
        found = _found(match)
        if found is None:
            return match.group(0)
        kind, start, end = found
        text = match.group(0)
        self.counts[kind] += 1
        return text[:start] + self.marker(kind, text[start:end]) + text[end:]

    def redact_document(self, doc: Any) -> Any:
        """Scrub a parsed state in place (and return it); walks iteratively, any depth.

        One walk finds what to change: the strings that hold a secret (keys included)
        and the values of fields named like a credential. Markers are then handed out,
        and only those places are rewritten."""
        if self._is_plain(doc):  # the common case: nothing to change, no walk to plan it
            self._redact_error_pairs(doc)
            return doc
        plan = self._plan(doc)
        for key in sorted(plan.found, key=plan.found.__getitem__):
            self.marker(*key)
        for node, key in plan.hidden:
            self.counts["secret_field"] += 1
            node[key] = SECRET_FIELD_MARKER
        for node, key in plan.dirty:
            node[key] = self.scrub(node[key])
        for node in plan.renamed:
            self._rename_keys(node)
        self._redact_error_pairs(doc)
        return doc

    def _is_plain(self, doc: Any) -> bool:
        """Whether ``doc`` is sure to need no change: none of its strings (keys included)
        holds a secret and no field named like a credential holds a value to hide.

        The proof costs a fraction of a planned walk: one pass gathers the distinct
        strings, which are then searched for the rules' literals all at once; only those
        holding one are searched for the rules themselves. A False sends the document to
        the full walk, which then finds every string proven clean here already known."""
        strings = self._gathered_strings(doc)
        if strings is None:
            return False
        strings -= self._clean
        suspects = _suspects(list(strings))
        strings.difference_update(suspects)  # clean once a search of them says so
        if self._clean:  # (numbers from lists join them too: harmless, never looked up)
            self._clean |= strings
        else:
            self._clean = strings
        return not any([self._secrets(text) for text in suspects])

    def _gathered_strings(self, doc: Any) -> set[Any] | None:
        """Every key and string value in ``doc`` (with other hashable values); None when a
        field named like a credential holds a string to hide.

        The tree is read a level at a time: each level's keys and lists of ids are taken
        in bulk (a state's tasks are one level, their dependencies the next)."""
        found: set[Any] = set()
        id_maps = _id_keyed_maps(doc)
        dicts: list[Any] = [doc] if isinstance(doc, dict) else []
        lists: list[Any] = [doc] if isinstance(doc, list) else []
        while dicts or lists:
            values: list[Any] = []
            if id_maps and not id_maps.isdisjoint(map(id, dicts)):
                for keyed in [node for node in dicts if id(node) in id_maps]:
                    found.update(keyed)  # ids, not field names
                    values += keyed.values()
                dicts = [node for node in dicts if id(node) not in id_maps]
            names = set(chain.from_iterable(dicts))
            found |= names
            if not self._hides_nothing(dicts, names):
                return None
            values += chain.from_iterable(map(dict.values, dicts))
            try:  # lists of ids: nothing in them to look into
                found.update(chain.from_iterable(lists))
            except TypeError:  # one holds a map or a list: each on its own
                for items in lists:
                    try:
                        found.update(items)
                    except TypeError:
                        values += items
            dicts, lists = _sorted_values(values, found)
        return found

    def _hides_nothing(self, dicts: list[dict[Any, Any]], names: set[Any]) -> bool:
        """Whether no field of ``dicts`` (whose keys are ``names``) named like a credential
        holds a string to hide (a value that is not one, or empty, or holds none, is left
        as it is)."""
        names = names - self._plain_fields
        credentials = {key for key in names if isinstance(key, str) and SECRET_FIELD.search(key)}
        self._plain_fields.update(names - credentials)
        if not credentials:
            return True
        stack = [node[key] for node in dicts for key in credentials.intersection(node)]
        while stack:
            value = stack.pop()
            if isinstance(value, str):
                if value:
                    return False
            elif isinstance(value, dict):
                stack += value.values()
            elif isinstance(value, list):
                stack += value
        return True

    def _plan(self, doc: Any) -> _Plan:
        """The places to change, and each secret found with its digest: markers are
        numbered in the order of the digests, so the same secrets get the same markers
        whatever order the document lists them in (a state saved with its tasks in
        another order reads the same), and a number says nothing of its secret."""
        plan = _Plan({}, [], [], [])
        items: Any
        id_maps, clean = _id_keyed_maps(doc), self._clean
        stack: list[tuple[Any, bool]] = [(doc, False)]
        while stack:
            node, secret = stack.pop()
            if isinstance(node, dict):
                fields, renamed, items = not secret and id(node) not in id_maps, False, node.items()
            elif isinstance(node, list):
                fields, renamed, items = False, False, enumerate(node)
            else:
                continue
            for key, value in items:
                under = secret
                if isinstance(key, str):  # a field name or an id (a list's index is not)
                    if key not in clean and self._note(key, plan):
                        renamed = True
                    under = secret or (fields and self._is_secret_field(key))
                if isinstance(value, str):
                    if not under:
                        if value not in clean and self._note(value, plan):
                            plan.dirty.append((node, key))
                    elif value:
                        plan.hidden.append((node, key))
                elif isinstance(value, (dict, list)):
                    stack.append((value, under))
            if renamed:
                plan.renamed.append(node)
        return plan

    def _note(self, text: str, plan: _Plan) -> bool:
        """Whether ``text`` holds a secret; each one new is noted with its digest."""
        secrets = self._secrets(text)
        for kind, secret in secrets:
            if (kind, secret) not in self._markers:
                plan.found[kind, secret] = hashlib.sha256(
                    f"{kind}\0{secret}".encode("utf-8", "surrogatepass")
                ).hexdigest()
        return bool(secrets)

    def _rename_keys(self, node: dict[str, Any]) -> None:
        """Rare: keys that hold a secret themselves (a path with a password)."""
        items = list(node.items())
        node.clear()
        for key, value in items:
            new_key = self.scrub(key)
            while new_key in node:  # never lose an entry to a collision
                new_key += "'"
            node[new_key] = value

    def _redact_error_pairs(self, doc: Any) -> None:
        """An error's type and message are shown joined ("DB_PASSWORD: hunter2"): when the
        joined text holds a secret that neither part holds alone, the message goes."""
        if not isinstance(doc, dict):
            return
        pairs: list[tuple[dict[str, Any], str, str]] = []
        tasks = doc.get("tasks")
        for task in tasks.values() if isinstance(tasks, dict) else ():
            error = task.get("error") if isinstance(task, dict) else None
            if isinstance(error, dict):
                pairs.append((error, "type", "message"))
        tracking = doc.get("error_tracking")
        errors = tracking.get("errors") if isinstance(tracking, dict) else None
        for record in errors if isinstance(errors, list) else ():
            if isinstance(record, dict):
                pairs.append((record, "error_type", "message"))
        for record, type_key, message_key in pairs:
            kind, message = record.get(type_key), record.get(message_key)
            if isinstance(kind, str) and isinstance(message, str) and kind and message:
                joined = f"{kind}: {message}"
                # found, not replaced: no marker is handed out for a text never shown
                if joined not in self._clean and self._secrets(joined):
                    self.counts["secret_field"] += 1
                    record[message_key] = SECRET_FIELD_MARKER


def _found(match: re.Match[str]) -> tuple[str, int, int] | None:
    """The kind of secret a match of ``_rules`` found and where it lies in the match (its
    "secret" group, else all of it); None when a second look says it is no secret."""
    kind = match.lastgroup or "secret"
    detail = _one(kind).match(match.string, match.start(), match.end())
    start, end = 0, match.end() - match.start()
    if detail is not None:
        for name in ("secret", "secret2", "secret3"):
            if name in detail.re.groupindex and detail.group(name) is not None:
                start, end = detail.start(name) - match.start(), detail.end(name) - match.start()
                break
    return (kind, start, end) if _is_secret(kind, match.group(0)[start:end]) else None


def _is_secret(kind: str, secret: str) -> bool:
    """Second looks that a pattern alone cannot take."""
    if kind == "basic_auth":  # base64 of "user:password", not the word "basic" in prose
        try:
            return b":" in base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True)
        except (binascii.Error, ValueError):
            return False
    if kind == "curl_user":  # a user alone: curl asks for the password
        return ":" in secret
    if kind in _VALUE_KINDS:  # "token: 1200" is a count, "secret: true" a flag
        return not (_DIGITS.fullmatch(secret) and len(secret) < 6) and secret.lower() not in (
            "true",
            "false",
            "null",
            "none",
            "required",
            "redacted",
        )
    return True


# kinds found by a name and a value, whose value may be a word that is no credential
_VALUE_KINDS = frozenset(
    {
        "password_assignment",
        "authorization_header",
        "api_key_header",
        "password_option",
        "docker_auth",
    }
)


def scrub_text(text: str) -> str:
    """One string scrubbed with a fresh redactor (messages, log lines)."""
    return Redactor().scrub(text)


def scrub_error(error: HandoffError) -> HandoffError:
    """The error, its message and problems scrubbed in place, for printing anywhere
    (a terminal, GitHub annotations, a web response)."""
    redactor = Redactor()
    message = redactor.scrub(error.message)
    problems = [
        Problem(
            redactor.scrub(p.source),
            redactor.scrub(p.path),
            _HIDDEN if _names_secret_field(p.path) else redactor.scrub(p.message),
        )
        for p in error.problems
    ]
    error.message, error.problems, error.args = message, tuple(problems), (message,)
    return error


_HIDDEN = "not valid (the value is not shown: the field holds a credential)"
_LAST_KEY = re.compile(r"(?:\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\])$")


def _names_secret_field(path: str) -> bool:
    """Whether a JSON path ends at a field named like a credential."""
    last = _LAST_KEY.search(path)
    return bool(last and SECRET_FIELD.search(last.group(1) or last.group(2) or ""))


def _sorted_values(values: list[Any], strings: set[Any]) -> tuple[list[Any], list[Any]]:
    """The maps and the lists among ``values``; their strings are added to ``strings``."""
    dicts: list[Any] = []
    lists: list[Any] = []
    add_string, add_dict, add_list = strings.add, dicts.append, lists.append
    for value in values:
        kind = type(value)
        if kind is str:
            add_string(value)
        elif kind is dict:
            add_dict(value)
        elif kind is list:
            add_list(value)
        elif kind not in _SCALARS:  # subclasses: as isinstance sees them
            if isinstance(value, str):
                add_string(value)
            elif isinstance(value, dict):
                add_dict(value)
            elif isinstance(value, list):
                add_list(value)
    return dicts, lists


_SCALARS = frozenset({int, float, bool, type(None)})


def _id_keyed_maps(doc: Any) -> set[int]:
    """The maps whose keys are task ids, phase ids and file paths, not field names."""
    if not isinstance(doc, dict):
        return set()
    maps = [
        doc.get("tasks"),
        (doc.get("dag") or {}).get("phases") if isinstance(doc.get("dag"), dict) else None,
        (doc.get("filesystem_state") or {}).get("files")
        if isinstance(doc.get("filesystem_state"), dict)
        else None,
    ]
    return {id(m) for m in maps if isinstance(m, dict)}
