"""The action's run step (action/run.sh, engine docker) against the three-process step it
replaced: generate, then validate, then report into the job summary, each its own
container and tokenizer load.

Needs a Docker engine and the image (``make image``; CONTEXT_HANDOFF_TEST_IMAGE names
another tag); without them the section is skipped, with the reason.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "orchestrator_state.example.json"

# the former step's three CLI runs, through the same `ch` wrapper (action/lib.sh)
THREE_PROCESSES = r"""
. "$GITHUB_ACTION_PATH/action/lib.sh"
out=context-handoff
mkdir -p "$out"
ch none --error-format github generate --level "$CH_LEVEL" --encoding "$CH_ENCODING" \
    --output "$out/context_payload.json" --report "$out/handoff_report.md" \
    --github-output "$GITHUB_OUTPUT" --format auto --snapshot "$out/handoff_snapshot.json" \
    --since "$out/handoff_snapshot.json" || exit $?
ch none validate "$out/context_payload.json" --github-output "$GITHUB_OUTPUT" || exit $?
ch none report "$out/context_payload.json" --max-chars 900000 >> "$GITHUB_STEP_SUMMARY"
"""


def image() -> str:
    return os.environ.get("CONTEXT_HANDOFF_TEST_IMAGE", "context-handoff:local")


def missing() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client"
    if subprocess.run(["docker", "image", "inspect", image()], capture_output=True).returncode:
        return f"no Docker engine, or no image {image()} (make image)"
    return None


def _timed(args: list[str], work: Path, env: dict[str, str]) -> float:
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).write_text("")
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or "valid=true" not in Path(env["GITHUB_OUTPUT"]).read_text():
        raise RuntimeError(f"{args} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    if not Path(env["GITHUB_STEP_SUMMARY"]).read_text().startswith("# Handoff: "):
        raise RuntimeError(f"{args} wrote no job summary")
    return seconds


def bench_action_step(repeats: int) -> dict[str, Any]:
    """Median wall seconds of each step on the example state, runs interleaved."""
    reason = missing()
    if reason:
        return {"skipped": reason}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        shutil.copy(EXAMPLE, work / ".orchestrator_state.json")
        env = {
            **os.environ,
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(work),
            "CH_ENGINE_RESOLVED": "docker",
            "CH_IMAGE_RESOLVED": image(),
            "CH_LEVEL": "standard",
            "CH_ENCODING": "o200k_base",
            "CH_SINCE": "auto",
            "GITHUB_OUTPUT": f"{tmp}/output",
            "GITHUB_STEP_SUMMARY": f"{tmp}/summary",
            "SOURCE_DATE_EPOCH": "1736953200",
        }
        one_args = ["bash", str(ROOT / "action" / "run.sh")]
        three_args = ["bash", "-c", "set -u" + THREE_PROCESSES]
        _timed(one_args, work, env)  # warm-up: the image's layers in the page cache
        one, three = [], []
        for _ in range(repeats):
            one.append(_timed(one_args, work, env))
            three.append(_timed(three_args, work, env))
    return {
        "image": image(),
        "repeats": repeats,
        "one_process_s": round(statistics.median(one), 3),
        "three_processes_s": round(statistics.median(three), 3),
        "saved_s": round(statistics.median(three) - statistics.median(one), 3),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    lines = ["", "## The action's run step", ""]
    if "skipped" in result:
        return [*lines, f"Skipped: {result['skipped']}."]
    return [
        *lines,
        "`action/run.sh` with the docker engine on the example state (standard level, "
        "job summary on), median of "
        f"{result['repeats']} runs: one `generate` writing payload, report, snapshot, step "
        "outputs and job summary, against the former step's three containers "
        "(generate, validate, report).",
        "",
        "| step | wall s |",
        "|---|---:|",
        f"| one process (now) | {result['one_process_s']:.3f} |",
        f"| three processes (before) | {result['three_processes_s']:.3f} |",
        "",
        f"Saved per run: {result['saved_s']:.3f} s.",
    ]
