"""Backlog.md's front matter read without the YAML parser must read as the YAML parser
reads it, wherever it answers; where it does not, the YAML parser reads the file."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context_handoff.errors import InputError
from context_handoff.formats.front_matter import simple_front_matter
from context_handoff.load import parse_front_matter
from context_handoff.markdown import split_front_matter


def _yaml(text: str) -> object:
    """What the YAML parser reads, as the Backlog.md reader would otherwise read it."""
    front, _, _ = split_front_matter(text)
    return None if front is None else parse_front_matter(front, "task.md")


def _same_or_declined(text: str) -> None:
    fast = simple_front_matter(text)
    if fast is None:
        return
    try:
        expected = _yaml(text)
    except InputError as exc:  # the YAML parser refuses it: it must not be read here
        raise AssertionError(f"read {fast!r} where YAML says {exc.message}") from None
    assert fast == expected, text
    assert list(fast) == list(expected), text  # the keys' order too  # type: ignore[arg-type]


# As the backlog CLI writes them (js-yaml): plain, quoted, folded and list values.
WRITTEN = [
    "id: TASK-1\ntitle: Recipe schema\nstatus: Done\nassignee: []\n"
    "created_date: '2025-03-01 10:00'\nlabels: []\ndependencies: []\npriority: high\n"
    "ordinal: 1000\n",
    "id: TASK-1\ntitle: 'Fix: the ''quoted'' thing #1'\nstatus: To Do\nlabels:\n  - a b\n"
    "  - c\ndependencies:\n  - TASK-1\n  - task-2.1\nparent_task_id: TASK-1\n",
    "id: TASK-3\ntitle: >-\n  A very long title that goes on and on and on well past the\n"
    "  eighty character line width\nstatus: In Progress\nassignee:\n  - '@me'\n",
    "id: TASK-2\ntitle: 'Ünïcödé \u2013 dash: ok'\nstatus: \"To Do\"\nupdated_date: ''\n",
    "id: 7\ntitle: Tabs [x] {y}, a#b, a:b\nstatus:\nlabels: [api, ui , db]\n\npriority: low\n",
    "id: TASK-1\nid: TASK-2\ndependencies:\n- TASK-1\n- 'TASK-3'\nnotes: \"\"\n",
]


@pytest.mark.parametrize("front", WRITTEN)
def test_the_shapes_backlog_writes_are_read_as_yaml_reads_them(front):
    text = f"---\n{front}---\n\n## Description\n"
    assert simple_front_matter(text) is not None
    _same_or_declined(text)


@pytest.mark.parametrize(
    "front",
    [
        "id: TASK-1 # a comment\n",
        'title: "a\\tb"\n',  # an escape
        "title: |-\n  two\n  lines\n",
        "title: >-\n  a\n\n  b\n",  # a blank line in a folded block keeps a line break
        "title: >-\n  a\n    b\n",  # a more indented line keeps its line break
        "id: TASK-1\r\ntitle: x\r\n",
        "id: &a TASK-1\nparent: *a\n",
        "id: x\n  continued\n",
        "deps:\n  - a\n    - b\n",
        "deps:\n  - a\n - b\n",
        "meta:\n  nested: map\n",
        "# a comment\nid: x\n",
        "id: x\u2028y\n",
        "id: \ufeffx\n",
        "title: - dash\n",
        "labels: ['a', b]\n",
        "labels: [a, b,]\n",
        "labels: [a: b]\n",
        "\n\n",
        "k" * 300 + ": v\n",
    ],
)
def test_other_shapes_are_left_to_the_yaml_parser(front):
    assert simple_front_matter(f"---\n{front}---\nbody\n") is None


def test_no_front_matter_is_none():
    for text in ("", "# Title\n", "---\n", "---\nid: x\n", "--- \nid: x\n---\n", "---\n---\n"):
        assert simple_front_matter(text) is None


def test_a_file_ending_with_its_front_matter():
    assert simple_front_matter("---\nid: x\n---") == {"id": "x"} == _yaml("---\nid: x\n---")


_KEYS = st.sampled_from(
    ["id", "title", "status", "dependencies", "a-b", "_x", "on", "null", "1x", "a b", "x:y", "é"]
)
_SEPARATORS = st.sampled_from([":", ": ", ":  ", " : ", ":\t", ":x"])
_TOKENS = st.sampled_from(
    [
        "[]", "[a, b]", "[@x]", "[.x]", "[a@b, c.d/e+f]", "[_x]", "[ a ,b ]", "[a,, b]", "[a, b,]", "[-a]", "[a b]", "'it''s'", "''",
        '""', '"x"', '"a\\tb"', ">-", "|-", ">", "&a x", "*a", "!!str x", "~", "null", "- x",
        "-x", "x #c", "x#c", "x: y", "x:y", "x:", "'a", "a'", "@x", "`x`", "%x", "{a: b}",
        "---", "...", "? x", "a  b", "a\xa0", "\xa0a", "é", "a\u3000b", "a\x85b", "a\tb",
        "TASK-1", "2025-03-01 10:00", "#x", ",x", "x,", "x]", "[x", "'a' b", '"a" b',
    ]
)  # fmt: skip
_ALPHABET = st.sampled_from(list(" \t:#-'\"[]{},>|&*!%@`?.\\xyzAB01é\xa0\u2028\ufeff\x7f"))
_VALUES = st.one_of(_TOKENS, st.text(_ALPHABET, max_size=8), st.lists(_TOKENS).map(" ".join))
_INDENTS = st.sampled_from(["", " ", "  ", "    ", "\t"])


@st.composite
def _lines(
    draw: st.DrawFn, keys: st.SearchStrategy[str], separators: st.SearchStrategy[str]
) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:  # an item of a block list
        return f"{draw(_INDENTS)}- {draw(_VALUES)}{draw(st.sampled_from(['', ' ']))}"
    if kind == 1:  # a line of a folded block, a blank or a comment line
        return draw(_INDENTS) + draw(st.sampled_from(["", "text here", "# c", "a: b", "- a"]))
    return f"{draw(keys)}{draw(separators)}{draw(_VALUES)}"


_WELL_FORMED = st.sampled_from(["id", "title", "status", "deps", "a-b", "_x", "on"])
_SAFE = st.text(st.sampled_from(list("abc XY01-_.:#'\"[]{},@é\xa0")), min_size=1, max_size=12)
_SCALARS = st.one_of(
    _TOKENS,
    _SAFE,
    _SAFE.map(lambda text: "'" + text.replace("'", "''") + "'"),
    _SAFE.map(lambda text: f'"{text}"'),
)


@st.composite
def _entry(draw: st.DrawFn) -> str:
    """A key and a value in one of the shapes read here, of more or less tame text."""
    key, shape = draw(_WELL_FORMED), draw(st.integers(0, 3))
    if shape == 0:
        return f"{key}: {draw(_SCALARS)}{draw(st.sampled_from(['', ' ']))}"
    if shape == 1:
        indent = draw(_INDENTS)
        items = draw(st.lists(_SCALARS, max_size=3))
        return f"{key}:" + "".join(f"\n{indent}- {item}" for item in items)
    if shape == 2:
        words = draw(st.lists(st.one_of(_TOKENS, _SAFE), max_size=3))
        return f"{key}: [{', '.join(words)}]"
    indent = draw(_INDENTS)
    lines = draw(st.lists(st.one_of(_SAFE, _TOKENS), min_size=1, max_size=3))
    return f"{key}: >-" + "".join(f"\n{indent}{line}" for line in lines)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_lines(_KEYS, _SEPARATORS), min_size=1, max_size=8))
def test_wherever_it_answers_it_reads_as_yaml(lines):
    _same_or_declined("---\n" + "\n".join(lines) + "\n---\nbody\n")


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(_entry(), _entry(), _lines(_WELL_FORMED, _SEPARATORS)), max_size=5))
def test_fronts_of_the_shapes_read_here_read_as_yaml(entries):
    _same_or_declined("---\n" + "\n".join(entries) + "\n---\nbody\n")


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(st.sampled_from(list("ab :-'\"[]#>\n ,")), max_size=40))
def test_any_text_reads_as_yaml_or_is_declined(front):
    _same_or_declined(f"---\n{front}\n---\n")
