"""Stage 6: a payload -> a Markdown report for the people watching.

Rendered with Jinja2 from the payload only (already redacted). Every string that
came from the state passes through ``md`` (or ``code``/``mermaid_label``), so it is
shown literally: it cannot open a table cell, a code fence, a ``<details>``, a link,
raw HTML or a mention. Values are data: template syntax inside them is never
evaluated, shell syntax never runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from . import defaults, report_view
from .errors import InputError
from .load import check_regular_file

BUILTIN_TEMPLATES = ("standard", "minimal", "error_recovery", "multiday_resumption")
MERMAID_MAX_NODES = 8  # a longer chain is shown as a line of ids, not a graph
TEMPLATE_BY_LEVEL = {"minimal": "minimal", "standard": "standard", "full": "multiday_resumption"}
_SECTION = re.compile(r"^<!-- section: (?P<name>[\w-]+)(?P<keep> keep)? -->\n", re.MULTILINE)
# What Markdown would misread, escaped with a backslash (CommonMark allows one before any
# ASCII punctuation) and nothing else, so "2026-12-06", "p3_data" and "3.11.8" stay as they
# are: anywhere, what opens code, emphasis, links, HTML, strikethrough and table cells;
# "_" only where it can open or close emphasis (not inside a word); "&" only where it
# would make an entity; at the start, what opens a block (heading, quote, list, rule).
_PUNCTUATION = re.compile(r"([\\`*\[\]<|~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^([#>+=-])")
_MENTION = re.compile(r"@(?=\w)")
# A number and "." or ")" then a space (or the end) at the start would make an ordered list
_LIST_NUMBER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
# Control characters (NUL, ESC: terminal escapes), and the bidirectional overrides and
# isolates that make text read differently from what it is (U+202E): never shown as is.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


@dataclass(frozen=True)
class ReportInput:
    """What a report may show: the payload and facts about the payload file itself."""

    payload: Mapping[str, Any]
    tokens: int
    section_tokens: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    text: str
    template: str
    cut_sections: tuple[str, ...] = ()
    unfilled: tuple[str, ...] = ()  # placeholders a plain template used that have no value


def md(value: Any) -> str:
    """A value shown literally in Markdown: inline, one line, nothing interpreted."""
    if value is None:
        return "—"
    text = " ".join(visible(str(value)).split())  # a newline would end a row or an item
    text = _PUNCTUATION.sub(lambda m: "\\" + m.group(0), text)
    text = _BLOCK_START.sub(r"\\\1", text)
    text = _LIST_NUMBER.sub(r"\1\\\2", text)
    text = _MENTION.sub("@\u2060", text)  # a word joiner: no @everyone, @team, @user pings
    text = _AUTOLINK.sub(lambda m: m.group(1)[0] + "\u2060" + m.group(1)[1:], text)
    return text


def visible(text: str) -> str:
    """``text`` with control characters and bidi overrides replaced by U+FFFD (tabs and
    newlines kept)."""
    return _INVISIBLE.sub("\ufffd", text)


def code(value: Any) -> str:
    """A fenced code block whose fence is longer than any backtick run in the value."""
    text = visible(str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def data_block(rows: Any) -> str:
    """``(label, value)`` rows as a fenced block of quoted data, one line a row: state text
    shown apart from our own words, so it reads as data, never as an instruction."""
    lines = [
        f"{label}: {' '.join(str(value).split()) if value is not None else '—'}"
        for label, value in rows
    ]
    return code("\n".join(lines))


def mermaid_label(value: Any) -> str:
    """Text safe inside a Mermaid ``["..."]`` label (no quotes, brackets, HTML, links)."""
    return re.sub(r"[^\w .:/()-]", "?", str(value))[:60] or "?"


def progress_bar(progress: str, width: int = 20) -> str:
    try:
        percent = max(0, min(100, int(str(progress).rstrip("%"))))
    except ValueError:
        percent = 0
    filled = round(width * percent / 100)
    return f"`{'█' * filled}{'░' * (width - filled)}` {percent}%"


def _build_env(sandboxed: bool, loader: jinja2.BaseLoader) -> jinja2.Environment:
    cls = SandboxedEnvironment if sandboxed else jinja2.Environment
    env = cls(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=md,
        code=code,
        mermaid_label=mermaid_label,
        progress_bar=progress_bar,
        age=report_view.age,
        data_block=data_block,
    )
    return env


@cache
def _builtin_env() -> jinja2.Environment:
    # one per process: a template is compiled on first use, then reused (the web app and
    # the checkpointer render many reports)
    return _build_env(False, jinja2.PackageLoader("context_handoff", "templates"))


def _context(report_input: ReportInput) -> dict[str, Any]:
    payload = report_input.payload
    meta = payload.get("meta") or {}
    ranked = sorted(report_input.section_tokens.items(), key=lambda kv: -kv[1])
    critical = payload.get("critical_context") or {}
    execution = report_view.execution(payload, critical)
    summary = payload.get("summary") or {}
    return {
        "p": payload,
        "summary": summary,
        "phase": summary.get("current_phase", summary.get("phase")),  # minimal: "phase"
        "meta": meta,
        "execution": execution,
        "critical": report_view.critical_lists(payload, critical, execution),
        "dag": payload.get("dag_snapshot") or {},
        "files": payload.get("file_state"),
        "environment": payload.get("environment"),
        "omitted": payload.get("omitted") or {},
        "changes": payload.get("changes"),
        "tokens": report_input.tokens,
        "budget": meta.get("budget"),
        "costliest": ranked[:3],
        "status_of": report_view.statuses(execution),
        "counts": report_view.counts(payload),
        "shown": lambda path: report_view.shown(payload, path),
        "first_failure_rows": report_view.FIRST_FAILURE_ROWS,
        "first_task_rows": report_view.FIRST_TASK_ROWS,
        "mermaid_max": MERMAID_MAX_NODES,
    }


def render_report(
    report_input: ReportInput, template: str | Path | None = None, max_chars: int | None = None
) -> Report:
    """Render the report with a built-in template (by name) or a user's template file."""
    level = str((report_input.payload.get("meta") or {}).get("level", defaults.DEFAULT_LEVEL))
    name = str(template) if template is not None else TEMPLATE_BY_LEVEL.get(level, "standard")
    if name in BUILTIN_TEMPLATES:
        text = _builtin_env().get_template(f"{name}.md.j2").render(_context(report_input))
        report = Report(text=text, template=name)
    else:
        report = _render_user_template(Path(name), report_input)
    if max_chars is not None:
        report = _fit(report, max_chars)
    # the markers only served the cutting; a reader never needs them
    text = _SECTION.sub("", report.text)
    return replace(report, text=_single_blank_lines(text) if name in BUILTIN_TEMPLATES else text)


_FENCE = re.compile(r"^(`{3,}|~{3,})")


def _single_blank_lines(text: str) -> str:
    """No run of blank lines outside code blocks, and one newline at the end."""
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            fence = "" if line.strip() == fence else fence
        elif opened:
            fence = opened.group(1)
        elif not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    return "\n".join(out).rstrip("\n") + "\n"


def _render_user_template(path: Path, report_input: ReportInput) -> Report:
    try:
        check_regular_file(path)  # a FIFO would wait for a writer
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such template; built-in ones are {', '.join(BUILTIN_TEMPLATES)}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the template: {exc}") from None
    if not path.name.endswith(".j2"):
        return _fill_placeholders(source, path, report_input)
    env = _build_env(True, jinja2.DictLoader({str(path): source}))
    try:
        text = env.get_template(str(path)).render(_context(report_input))
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}: template syntax error: {exc.message}") from None
    except _TEMPLATE_ERRORS as exc:  # undefined variables, sandbox violations, and the
        # errors of the template's own expressions ({{ x / 0 }}, a filter given a number)
        raise InputError(f"{path}:{_template_line()}: {type(exc).__name__}: {exc}") from None
    return Report(text=text, template=str(path))


# what a template's expressions can raise: the template is at fault, not the program
_TEMPLATE_ERRORS = (
    jinja2.TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    RecursionError,
)


def _template_line() -> str:
    """The template line a render error came from: Jinja2 rewrites the traceback so that
    the template's own frames carry its line numbers, under the name "<template>"."""
    tb = sys.exc_info()[2]
    line = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in ("<template>", "<unknown>"):
            line = str(tb.tb_lineno)
        tb = tb.tb_next
    return line


_PLACEHOLDER = re.compile(r"\{(?P<name>[a-z_]+)\}(?P<percent>%?)")


def placeholder_values(payload: Mapping[str, Any], tokens: int) -> dict[str, str]:
    """The guide's ``{placeholder}`` names, each from the payload."""
    summary = payload.get("summary") or {}
    meta = payload.get("meta") or {}
    values = {
        "handoff_id": payload.get("handoff_id"),
        "timestamp": summary.get("generated_at"),
        "project_name": summary.get("project"),
        "current_phase": summary.get("current_phase", summary.get("phase")),
        "overall_progress": summary.get("progress"),
        "tasks_complete": summary.get("tasks_complete"),
        "tasks_total": summary.get("tasks_total"),
        "level": meta.get("level"),
        "token_count": tokens,
        "budget": meta.get("budget"),
        "state_digest": meta.get("state_digest"),
        "last_updated": summary.get("last_updated"),
    }
    return {k: md(v) for k, v in values.items() if v is not None}


def _fill_placeholders(source: str, path: Path, report_input: ReportInput) -> Report:
    values = placeholder_values(report_input.payload, report_input.tokens)
    unfilled: list[str] = []

    def fill(match: re.Match[str]) -> str:
        key, percent = match.group("name"), match.group("percent")
        if key not in values:
            unfilled.append(key)
            return match.group(0)
        value = values[key]
        # "{overall_progress}%" printed "53%%" in the original: the value has its "%"
        return value + percent if not (percent and value.endswith("%")) else value

    # one pass over the template: a value that looks like {a_placeholder} stays as it is
    text = _PLACEHOLDER.sub(fill, source)
    return Report(text=text, template=str(path), unfilled=tuple(dict.fromkeys(unfilled)))


def _fit(report: Report, max_chars: int) -> Report:
    """Cut whole sections from the least important end until the report fits."""
    if len(report.text) <= max_chars:
        return report
    parts = _split_sections(report.text)
    cut: list[str] = []
    while len(_join(parts, cut)) > max_chars:
        removable = [i for i, (name, keep, _) in enumerate(parts) if not keep]
        if not removable:
            break
        name, _, _ = parts.pop(removable[-1])
        cut.insert(0, name)
    text = _join(parts, cut)
    if len(text) > max_chars:  # no sections left to cut (a user's template): cut the text
        note = f"\n\n_Report cut to {max_chars:,} characters._\n"
        text = text[: max(0, max_chars - len(note))].rsplit("\n", 1)[0] + note
        cut.append("(text)")
    return Report(
        text=text, template=report.template, cut_sections=tuple(cut), unfilled=report.unfilled
    )


def _split_sections(text: str) -> list[tuple[str, bool, str]]:
    parts: list[tuple[str, bool, str]] = []
    matches = list(_SECTION.finditer(text))
    head = text[: matches[0].start()] if matches else text
    parts.append(("header", True, head))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        parts.append((match.group("name"), bool(match.group("keep")), text[match.end() : end]))
    return parts


def _join(parts: list[tuple[str, bool, str]], cut: list[str]) -> str:
    text = "".join(body for _, _, body in parts)
    if cut:
        text = text.rstrip("\n") + (
            f"\n\n_Cut to fit: {', '.join(cut)} (see the payload for everything)._\n"
        )
    return text
