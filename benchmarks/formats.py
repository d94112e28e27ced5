"""How fast each task-list format is read, against an orchestrator state of the same size.

    python -m benchmarks.formats            # 10,000 tasks each (part of make bench)
    python -m benchmarks.formats --tasks 1000

"Read" is pipeline.read_state: parse, check, redact, build the State; timed as CPU
seconds of this process, which a machine busy with other work disturbs far less than
the wall clock; the formats are read in turn, round after round, and each one's ratio is
the median of its ratios to the orchestrator's read in the same round. Each file is written here in
its format's documented shape, with the kind of text real files hold. Writes
benchmarks/results/formats.md and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from context_handoff import pipeline
from context_handoff.synthetic import make_state

from .run import RESULTS, machine

LIMIT = 2.0  # each format within twice the orchestrator's time
REPEATS = 7


def _words(i: int) -> str:
    verbs = ("Add", "Wire", "Test", "Document", "Refactor", "Harden", "Measure")
    nouns = (
        "the sync queue",
        "album thumbnails",
        "sign-in",
        "the export writer",
        "rate limits",
        "the search index",
        "settings storage",
    )
    return f"{verbs[i % 7]} {nouns[(i // 7) % 7]} (part {i})"


def _status(i: int, n: int) -> str:
    return "done" if i < n * 45 // 100 else "running" if i % 50 == 0 else "pending"


def write_orchestrator(folder: Path, n: int) -> Path:
    path = folder / "state.json"
    path.write_text(json.dumps(make_state(n, seed=n)), encoding="utf-8")
    return path


def write_speckit(folder: Path, n: int) -> Path:
    lines = ["# Tasks: Benchmark", ""]
    for i in range(n):
        if i % 100 == 0:
            lines += ["", f"## Phase {i // 100 + 1}: Part {i // 100 + 1}", ""]
        box = "x" if _status(i, n) == "done" else " "
        parallel = "[P] " if i % 3 else ""
        lines.append(
            f"- [{box}] T{i + 1:05d} {parallel}[US{i % 9 + 1}] {_words(i)} in src/module_{i}.py"
        )
    return _write(folder / "specs" / "001-bench" / "tasks.md", lines)


def write_kiro(folder: Path, n: int) -> Path:
    lines = ["# Implementation Plan", ""]
    for i in range(n):
        top, sub = divmod(i, 10)
        box = {"done": "x", "running": "-"}.get(_status(i, n), " ")
        if sub == 0:
            lines += ["", f"- [{box}] {top + 1}. {_words(i)}"]
        else:
            lines += [
                f"  - [{box}] {top + 1}.{sub} {_words(i)}",
                f"    - _Requirements: {top % 9 + 1}.{sub}_",
            ]
    return _write(folder / ".kiro" / "specs" / "bench" / "tasks.md", lines)


def write_conductor(folder: Path, n: int) -> Path:
    root = folder / "conductor"
    tracks, per_track = [], 1000
    for t in range((n + per_track - 1) // per_track):
        tid = f"track{t:03d}_20250301"
        tracks += [
            "---",
            "",
            f"## [{'x' if t == 0 else ' '}] Track: Track {t}",
            "",
            f"*Link: [./conductor/tracks/{tid}/](./conductor/tracks/{tid}/)*",
            "",
        ]
        plan = ["# Implementation Plan", ""]
        for i in range(t * per_track, min(n, (t + 1) * per_track)):
            if i % 50 == 0:
                plan += ["", f"## Phase {i // 50 + 1}: Part", ""]
            box = {"done": "x", "running": "~"}.get(_status(i, n), " ")
            plan.append(f"- [{box}] Task: {_words(i)}")
        _write(root / "tracks" / tid / "plan.md", plan)
    _write(root / "tracks.md", ["# Project Tracks", "", *tracks])
    return root


def write_beads(folder: Path, n: int) -> Path:
    words = {"done": "closed", "running": "in_progress", "pending": "open"}
    lines = []
    for i in range(n):
        issue: dict[str, Any] = {
            "id": f"bd-{i}",
            "title": _words(i),
            "description": f"{_words(i)} as planned.",
            "status": words[_status(i, n)],
            "priority": i % 5,
            "issue_type": "task",
            "created_at": f"2025-02-{i % 28 + 1:02d}T10:00:00Z",
            "updated_at": f"2025-03-{i % 28 + 1:02d}T10:00:00Z",
        }
        if i:
            issue["dependencies"] = [
                {
                    "issue_id": f"bd-{i}",
                    "depends_on_id": f"bd-{i // 2}",
                    "type": "blocks",
                    "created_at": issue["created_at"],
                }
            ]
        lines.append(json.dumps(issue))
    return _write(folder / ".beads" / "issues.jsonl", lines)


def write_backlog(folder: Path, n: int) -> Path:
    root = folder / "backlog"
    _write(
        root / "config.yml",
        [
            'project_name: "Bench"',
            'default_status: "To Do"',
            'statuses: ["To Do", "In Progress", "Done"]',
        ],
    )
    words = {"done": "Done", "running": "In Progress", "pending": "To Do"}
    for i in range(n):
        deps = f"\n  - TASK-{i // 2}" if i else " []"
        _write(
            root / "tasks" / f"task-{i} - part-{i}.md",
            [
                "---",
                f"id: TASK-{i}",
                f"title: {_words(i)}",
                f"status: {words[_status(i, n)]}",
                "assignee: []",
                "created_date: '2025-03-01 10:00'",
                "labels: []",
                f"dependencies:{deps}",
                f"priority: {('high', 'medium', 'low')[i % 3]}",
                f"ordinal: {i * 1000}",
                "---",
                "",
                "## Description",
                "",
                "<!-- SECTION:DESCRIPTION:BEGIN -->",
                f"{_words(i)}.",
                "<!-- SECTION:DESCRIPTION:END -->",
            ],
        )
    return root


def write_bmad(folder: Path, n: int) -> Path:
    words = {"done": "done", "running": "in-progress", "pending": "backlog"}
    lines = ["generated: 2025-03-01", "project: Bench", "development_status:"]
    for i in range(n):
        epic, story = divmod(i, 20)
        if story == 0:
            lines.append(f"  epic-{epic + 1}: in-progress")
        lines.append(f"  {epic + 1}-{story + 1}-part-{i}: {words[_status(i, n)]}")
    return _write(folder / "sprint-status.yaml", lines)


def write_ralph(folder: Path, n: int) -> Path:
    stories = [
        {
            "id": f"US-{i + 1:05d}",
            "title": _words(i),
            "description": f"As a user, I want {_words(i).lower()}.",
            "acceptanceCriteria": ["Typecheck passes", "Tests pass"],
            "priority": i + 1,
            "passes": _status(i, n) == "done",
            "notes": "",
        }
        for i in range(n)
    ]
    path = folder / "prd.json"
    path.write_text(
        json.dumps(
            {"project": "Bench", "branchName": "ralph/bench", "userStories": stories}, indent=2
        ),
        encoding="utf-8",
    )
    return path


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


WRITERS: dict[str, Callable[[Path, int], Path]] = {
    "orchestrator": write_orchestrator,
    "speckit": write_speckit,
    "kiro": write_kiro,
    "beads": write_beads,
    "backlog": write_backlog,
    "bmad": write_bmad,
    "ralph": write_ralph,
    "conductor": write_conductor,
}


def time_read(path: Path) -> float:
    start = time.process_time()
    pipeline.read_state(path)
    return time.process_time() - start


def run(tasks: int) -> dict[str, Any]:
    """Each format read in turn, round after round (after a warm-up read of each), so a
    slower stretch of a shared machine falls on every format alike; each format's ratio
    is the median of its rounds' ratios to the orchestrator's time in the same round."""
    results: dict[str, Any] = {
        "command": f"python -m benchmarks.formats --tasks {tasks}",
        "machine": machine(),
        "tasks": tasks,
        "formats": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, writer in WRITERS.items():
            folder = Path(tmp) / name
            folder.mkdir()
            paths[name] = writer(folder, tasks)
        counts = {name: len(pipeline.read_state(path).tasks) for name, path in paths.items()}
        runs: dict[str, list[float]] = {name: [] for name in paths}
        names = list(paths)
        for round_ in range(REPEATS):
            turn = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in turn:
                runs[name].append(time_read(paths[name]))
    base = runs["orchestrator"]
    for name, times in runs.items():
        seconds = statistics.median(times)
        ratio = statistics.median(t / b for t, b in zip(times, base, strict=True))
        results["formats"][name] = {
            "seconds": round(seconds, 3),
            "tasks": counts[name],
            "ratio": round(ratio, 2),
        }
        print(f"  {name:>12}: {seconds * 1000:.0f} ms ({counts[name]} tasks)", file=sys.stderr)
    return results


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Reading each input format",
        "",
        f"`{results['command']}`: {m['cpu']}, {m['cores']} cores, Python {m['python']}.",
        "",
        f"`pipeline.read_state`, CPU ms (median of {REPEATS} rounds after a warm-up, each "
        f"round reading every format in turn) on {results['tasks']:,} tasks, against an "
        "orchestrator state of the same size (the median of the rounds' ratios); "
        f"the goal is at most {LIMIT:g}x.",
        "",
        "| format | tasks | ms | x orchestrator |",
        "|---|---|---|---|",
    ]
    for name, entry in results["formats"].items():
        lines.append(
            f"| {name} | {entry['tasks']:,} | {entry['seconds'] * 1000:.0f} | "
            f"{entry['ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = run(args.tasks)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "formats.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.output / "formats.md").write_text(render_markdown(results))
    print(render_markdown(results))


if __name__ == "__main__":
    main()
