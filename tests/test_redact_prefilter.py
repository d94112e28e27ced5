"""The literal look-out that spares most strings the search of every rule must never
spare one a rule would match: each rule's matches hold one of its literals."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context_handoff import redact

# Lookarounds only narrow where a rule matches; without them, a rule matches more
# strings, every one of which must still hold one of its literals.
_LOOKAROUND = re.compile(r"\(\?<?[!=](?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)")


def _core(pattern: str) -> str:
    return _LOOKAROUND.sub("", pattern).replace(r"\Z", "$")


def test_every_rule_has_its_literals():
    assert set(redact.PATTERNS) == set(redact._CASED_LITERALS) | set(redact._FOLDED_LITERALS)


@pytest.mark.parametrize("kind", sorted(redact.PATTERNS))
def test_each_match_of_a_rule_is_looked_at(kind):
    core = re.compile(_core(redact.PATTERNS[kind]))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(core))
    def check(text: str) -> None:
        assert redact._may_hold_secret(text), text

    check()


@pytest.mark.parametrize(
    "text",
    [
        "DB_PA\u017fSWORD=hunter2hunter2",  # long s: an "s" to (?i:...)
        "API_\u212aEY=hunter2hunter2",  # Kelvin sign: a "k" to (?i:...)
        "\u017fecret: x7Qp2LmZ9r",
    ],
)
def test_case_folding_beyond_ascii_is_looked_at(text):
    assert redact._rules(tuple(redact.PATTERNS)).search(text)
    assert redact._may_hold_secret(text)


def test_ordinary_strings_are_spared():
    for text in (
        "task_000476_provision_cluster",
        "Test billing (step 0)",
        "2024-11-07T03:50:00Z",
        "/project/artifacts/task_1.tar.gz",
    ):
        assert not redact._may_hold_secret(text)


BATCH_NEIGHBOURS = [
    "task_000476_provision_cluster",
    "Test billing (step 0)",
    "Échec de connexion — délai dépassé",
]


@pytest.mark.parametrize("kind", sorted(redact.PATTERNS))
def test_each_match_of_a_rule_is_among_the_suspects(kind):
    core = re.compile(_core(redact.PATTERNS[kind]))

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(core), st.lists(st.sampled_from(BATCH_NEIGHBOURS), max_size=4))
    def check(text: str, others: list[str]) -> None:
        assert text in redact._suspects([*others, text, *reversed(others)]), text

    check()


def test_case_folding_beyond_ascii_is_known_in_full():
    """Every character the rules' (?i:...) takes for an ASCII letter is lower-cased to it or
    listed in _FOLD_TO_ASCII (which the batch search, reading UTF-8, relies on)."""
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    folds = {char.decode(): letter.decode() for char, letter in redact._FOLD_TO_ASCII.items()}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for char in re.findall(f"(?i:{letter})", everything):
            if not char.isascii():
                assert folds.get(char) == letter, hex(ord(char))
        for char in set(re.findall(f"(?i:[{letter}])", everything)) - set(folds):
            assert char.isascii(), hex(ord(char))
