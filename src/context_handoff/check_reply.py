"""The resume check: does a session's ``CONFIRMED - …`` reply match the payload?

The report's resume protocol asks the next session to confirm the current phase, the
task it takes up and the blocking errors, and to reply ``CONFIRMED - <plan>`` (or
``READY TO RESUME - …``, ``RECOVERY PLAN - …``). This checks that reply against the
payload, deterministically: ids and names are matched as words, no model is asked.
It says which of the three the reply names, which it misses, and what it contradicts
(a task the payload lists as failed called done, a phase that is not the current one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import load, payload_file, render, report_view
from .errors import InputError

OPENINGS = ("CONFIRMED", "READY TO RESUME", "RECOVERY PLAN")
_OPENING = re.compile(rf"^\W*({'|'.join(OPENINGS)})\s*[-\u2013\u2014:]", re.IGNORECASE)
_DONE = (
    r"(?:done|completed?|finished|fixed|resolved|succeeded|passe[sd]|passing|green)"
    r"(?!\w)"
)
# the done word said of the task itself: "<id> is done", "<id> - completed", "done: <id>",
# "finished <id>"; not a count ("843/2000 tasks done and <id> failed") nor a quoted error
_AFTER_ID = (
    r"\s*(?:[:=\u2013\u2014-]\s*)?(?:(?:is|was|are|were|has|had|have|been|got|now|"
    r"marked|as|already|all|fully)\s+)*" + _DONE
)
_BEFORE_ID = _DONE + r"\s*(?::\s*|\s+)"
_PARENTHESES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# a clause that denies the word, or puts it in the future, does not call a task done
_NEGATION = re.compile(
    r"\b(not|never|no longer|isn't|wasn't|hasn't|still|until|once|after|"
    r"before|when|will|must|needs?|should|so that|to be)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"\.(?!\w)|[;\n]|,\s|\bbut\b|\bthen\b", re.IGNORECASE)
_PHASE_WORD = re.compile(r"\bphase\b[\s:=`*\"'-]*([\w.-]+)", re.IGNORECASE)


class Expected(NamedTuple):
    """What the payload says the reply should name."""

    phase: str | None
    phase_name: str | None
    other_phases: tuple[str, ...]  # phases the payload knows that are not the current one
    tasks: tuple[str, ...]  # the task to resume: any active one, else the first ready
    failed: tuple[str, ...]  # in the payload's order; the first is the one to name
    names: Mapping[str, str]  # id -> name, where the payload has one


class Verdict(NamedTuple):
    named: dict[str, list[str]]  # "phase", "task", "blockers" -> what the reply names
    problems: list[str]  # one line each: what it misses or contradicts

    @property
    def consistent(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "named": self.named, "problems": self.problems}

    def lines(self) -> list[str]:
        """For a person: ``consistent: …`` when it is, else one line a problem."""
        if self.problems:
            return [f"problem: {p}" for p in self.problems]
        return [
            "consistent: names "
            + "; ".join(
                f"{what} {', '.join(values)}" for what, values in self.named.items() if values
            )
        ]


def expected_from(payload: Mapping[str, Any]) -> Expected:
    """The phase, task and blockers a payload of any level names."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("summary"), Mapping):
        raise InputError("not a context-handoff payload: it has no summary")
    summary = payload["summary"]
    execution = payload.get("execution_state")
    if isinstance(execution, Mapping):  # standard and full
        phase = summary.get("current_phase")
        active, ready = execution.get("active_tasks"), execution.get("next_eligible")
        failed = execution.get("failed_tasks") or []
        names = execution.get("names") or {}
        dag = payload.get("dag_snapshot") or {}
        known = [p.get("id") for p in dag.get("phases") or [] if isinstance(p, Mapping)]
        known += list(dag.get("phases_completed") or [])
    else:  # minimal: "failed" items are "id: ErrorType"
        phase = summary.get("phase")
        active, ready = payload.get("active"), payload.get("next")
        # "failed" items are "<id>: <Type>", the rest of them in more_failed by type
        failed = [tid for tid, _ in report_view.minimal_failed(payload)]
        names, known = {}, []
    tasks = list(active or []) or list(ready or [])[:1]
    others = tuple(dict.fromkeys(str(p) for p in known if p and p != phase))
    return Expected(
        _str(phase),
        _str(summary.get("phase_name")),
        others,
        tuple(map(str, tasks)),
        tuple(map(str, failed)),
        {str(k): str(v) for k, v in names.items() if isinstance(v, str)},
    )


def check_reply(payload: Mapping[str, Any], reply: str) -> Verdict:
    """The verdict on ``reply`` against ``payload``."""
    expected = expected_from(payload)
    problems: list[str] = []
    if not _OPENING.match(reply):
        problems.append(f"the reply does not start with {' - or '.join(OPENINGS)} -")
    named = {
        "phase": _named_phase(expected, reply),
        "task": [t for t in expected.tasks if _names_task(reply, t, expected.names)],
        "blockers": [t for t in expected.failed if _names_task(reply, t, expected.names)],
    }
    if expected.phase is not None and not named["phase"]:
        problems.append(f"it does not name the current phase {expected.phase}")
    if expected.tasks and not named["task"]:
        problems.append(f"it does not name the task to resume: {expected.tasks[0]}")
    if expected.failed and expected.failed[0] not in named["blockers"]:
        problems.append(f"it does not name the first blocking failure: {expected.failed[0]}")
    problems += _contradictions(expected, reply)
    return Verdict(named, problems)


def _named_phase(expected: Expected, reply: str) -> list[str]:
    """The current phase as the reply names it: its id, its name or its number."""
    if expected.phase is not None and _mentions(reply, expected.phase):
        return [expected.phase]
    name = expected.phase_name or ""
    bare = re.sub(r"^\W*phase[\s_#-]*\d+\s*[:.\u2013\u2014-]\s*", "", name, flags=re.IGNORECASE)
    if any(len(n) > 3 and _mentions(reply, n) for n in (name, bare)):
        return [name]
    number = _phase_number(expected)
    if number is not None and re.search(
        rf"\bphase[\s_#-]*0*{number}(?![\w]|[.-]\w)", reply, re.IGNORECASE
    ):
        return [expected.phase or expected.phase_name or number]
    return []


def _phase_number(expected: Expected) -> str | None:
    """The current phase's number, from its id (phase_05) or its name (Phase 5: ...)."""
    for text in (expected.phase_name or "", expected.phase or ""):
        match = re.match(r"\W*phase[\s_#-]*0*(\d+)(?!\d|\.\d)", text, re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def _contradictions(expected: Expected, reply: str) -> list[str]:
    problems = []
    for clause in _CLAUSE.split(_PARENTHESES.sub(" ", reply)):
        if _NEGATION.search(clause):
            continue
        problems += [
            f"it calls {tid} done, but the payload lists it as failed"
            for tid in expected.failed
            if _called_done(clause, tid, expected.names)
        ]
    current = (expected.phase or "").lower()
    for match in _PHASE_WORD.finditer(reply):
        other = _known_phase(match.group(1), expected.other_phases)
        if other and other.lower() != current and not _named_phase(expected, reply):
            problems.append(f"it names phase {other}, but the current phase is {expected.phase}")
    return list(dict.fromkeys(problems))


def _known_phase(word: str, phases: tuple[str, ...]) -> str | None:
    """``word`` (the word after "phase") as one of ``phases``: "3" is phase_3 too."""
    word = word.strip(".-").lower()
    for phase in phases:
        if phase.lower() in (word, f"phase_{word}", f"phase-{word}", f"phase{word}"):
            return phase
    return None


def _called_done(clause: str, tid: str, names: Mapping[str, str]) -> bool:
    """Whether ``clause`` says the task ``tid`` (by id or name) is done."""
    name = names.get(tid)
    for word in (tid, name) if name and len(name) > 3 else (tid,):
        task = rf"(?<![\w]){re.escape(word)}(?![\w]|[.-]\w)"
        if re.search(task + _AFTER_ID, clause, re.IGNORECASE) or re.search(
            r"(?<!\w)" + _BEFORE_ID + task, clause, re.IGNORECASE
        ):
            return True
    return False


def _names_task(text: str, tid: str, names: Mapping[str, str]) -> bool:
    name = names.get(tid)
    return _mentions(text, tid) or bool(name and len(name) > 3 and _mentions(text, name))


def _mentions(text: str, word: str) -> bool:
    """``word`` in ``text`` as a whole word (case-insensitive): t1 is not in t10."""
    pattern = rf"(?<![\w]){re.escape(word)}(?![\w]|[.-]\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def check_reply_files(payload_path: Path, reply_path: Path, stdin: bytes | None = None) -> Verdict:
    """The verdict on a reply file (or ``stdin``, its bytes when given) against a payload
    file; InputError (exit 2) for an unreadable or invalid payload or reply, not UTF-8
    included, whichever way it came."""
    payload = payload_file.read_payload(payload_path)
    if payload.schema_problems:
        raise InputError(
            f"{payload.name}: not a valid {payload.level or 'context-handoff'} payload",
            list(payload.schema_problems),
        )
    raw, name = stdin, "the reply on stdin"
    if raw is None:
        raw, source = load.read_file(reply_path)
        name = source.name
    return check_reply(payload.data, load.decode_text(raw, name))


def verdict_markdown(verdict: Verdict) -> str:
    """The verdict for a job summary; state text in code spans, shown literally."""
    head = (
        "### Resume check: the reply is consistent with the payload"
        if verdict.consistent
        else "### Resume check: the reply does not match the payload"
    )
    named = [
        f"- {what}: " + (", ".join(render.md(v) for v in values) or "none named")
        for what, values in verdict.named.items()
    ]
    problems = [f"- {render.md(p)}" for p in verdict.problems]
    return "\n".join([head, "", *named, *(["", *problems] if problems else []), ""]) + "\n"
