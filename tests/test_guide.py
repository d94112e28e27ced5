"""The integration guide's Python, run as its readers copy it.

The guide ships beside the repository (``shared/seeds/INTEGRATION.md``, or the file
named by CONTEXT_HANDOFF_GUIDE); its code stays out of the repository, so these tests
read it from there. Each snippet runs unchanged in a fresh process, in a folder that
holds the example state as ``.orchestrator_state.json``; where the guide leaves a
line for the reader to fill in, the test fills exactly that line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import EXAMPLE, ROOT, beside, code_blocks

GUIDE = Path(
    os.environ.get("CONTEXT_HANDOFF_GUIDE", ROOT.parent / "shared" / "seeds" / "INTEGRATION.md")
)
IMPORT = "from context_generator import ContextPayloadGenerator, CompressionLevel"


def _snippets() -> list[str]:
    text = beside(GUIDE, "the integration guide").read_text(encoding="utf-8")
    return [code for _, code in code_blocks(text, "python")]


def _snippet(marker: str) -> str:
    found = [s for s in _snippets() if marker in s]
    assert len(found) == 1, f"the guide has {len(found)} Python snippets with {marker!r}"
    return found[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".orchestrator_state.json").write_bytes(EXAMPLE.read_bytes())
    return tmp_path


def _run(folder: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = folder / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(folder)}
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _payload(folder: Path, name: str = "context_payload.json") -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _as_module(folder: Path, name: str, marker: str) -> str:
    """The snippet as the reader's module ``name`` (its ``__main__`` block stays idle)."""
    (folder / f"{name}.py").write_text(_snippet(marker), encoding="utf-8")
    return f"from {name} import *\n"


def test_the_guide_imports_work_unchanged(project: Path) -> None:
    assert all(
        IMPORT in s
        for s in _snippets()
        if "ContextPayloadGenerator(" in s and "class MonitoredOrchestrator" not in s
    )
    _run(
        project,
        IMPORT + "\nimport context_handoff\n"
        "assert ContextPayloadGenerator is context_handoff.ContextPayloadGenerator\n"
        "assert CompressionLevel is context_handoff.CompressionLevel\n",
    )


def test_basic_orchestrator_and_automatic_checkpointing(project: Path) -> None:
    # the second snippet extends the first ("# ... existing code"): a reader merges them
    code = "\n".join(
        [
            _as_module(project, "basic", "def _populate_template(self, template, context)"),
            "import basic, tracking",
            _as_module(
                project, "tracking", "def track_tokens(self, prompt_tokens, completion_tokens)"
            ),
            "class Orchestrator(tracking.Orchestrator, basic.Orchestrator):",
            "    def __init__(self):",
            "        basic.Orchestrator.__init__(self)",
            "        tracking.Orchestrator.__init__(self)",
            "o = Orchestrator()",
            "assert o.track_tokens(100000, 40000) is False",
            "assert o.track_tokens(6000, 4000) is True",
        ]
    )
    proc = _run(project, code)
    assert "Handoff Checkpoint Created" in proc.stdout
    payload = _payload(project)
    assert payload["summary"]["progress"] == "53%"
    report = (project / "handoff_report.md").read_text(encoding="utf-8")
    assert report.startswith("# Project Handoff Report")  # the guide's fallback report
    assert payload["handoff_id"] in report


def test_click_handoff_command(project: Path) -> None:
    (project / "cli.py").write_text(_snippet("def handoff(level, output, state_file)"))
    proc = subprocess.run(
        [sys.executable, "cli.py", "handoff", "--level", "minimal"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "✓ Context generated: context_payload.json" in proc.stdout
    tokens = int(re.search(r"Tokens: ~(\d+)", proc.stdout).group(1))  # type: ignore[union-attr]
    written = (project / "context_payload.json").read_text(encoding="utf-8")
    assert tokens == _exact(written)
    assert "version" not in _payload(project)  # v1 readers tell minimal by this


def test_jupyter_magic(project: Path) -> None:
    code = "\n".join(
        [
            "from IPython.testing.globalipapp import start_ipython",
            "ip = start_ipython()",
            f"ip.run_cell({_snippet('@register_line_magic')!r}, store_history=False).raise_error()",
            "context = ip.run_line_magic('handoff', 'full')",
            "assert 'file_state' in context and 'environment' in context",
            "print('magic ok')",
        ]
    )
    proc = _run(project, code)
    assert "magic ok" in proc.stdout
    assert re.search(r"✓ Context generated \(\d+ tokens\)", proc.stdout)


def test_flask_endpoint(project: Path) -> None:
    code = _as_module(project, "guide_flask", "from flask import") + textwrap.dedent("""
        client = app.test_client()
        ok = client.get('/api/handoff?level=minimal').get_json()
        assert ok['success'] and ok['level'] == 'minimal' and 'failed' in ok['context'], ok
        bad = client.get('/api/handoff?state_file=missing.json')
        assert bad.status_code == 500 and bad.get_json()['success'] is False
        print('flask ok')
    """)
    assert "flask ok" in _run(project, code).stdout


def test_fastapi_endpoint(project: Path) -> None:
    code = _as_module(project, "guide_fastapi", "from fastapi import") + textwrap.dedent("""
        from fastapi.testclient import TestClient
        client = TestClient(app)
        ok = client.post('/api/handoff', json={'level': 'full'}).json()
        assert ok['success'] and 'file_state' in ok['context'], ok
        bad = client.post('/api/handoff', json={'state_file': 'missing.json'})
        assert bad.status_code == 500
        print('fastapi ok')
    """)
    assert "fastapi ok" in _run(project, code).stdout


def test_prometheus_monitored_orchestrator(project: Path) -> None:
    # the snippet uses the names the guide imported earlier on the same page
    code = (
        IMPORT
        + "\n"
        + _snippet("class MonitoredOrchestrator")
        + textwrap.dedent("""
        context = MonitoredOrchestrator().checkpoint_for_handoff('standard')
        assert handoff_generated.labels(level='standard')._value.get() == 1
        assert handoff_tokens.labels(level='standard')._sum.get() > 0
        assert 'execution_state' in context
        print('metrics ok')
    """)
    )
    assert "metrics ok" in _run(project, code).stdout


def test_pytest_tests_of_the_guide(project: Path) -> None:
    tests = _snippet("def test_minimal_context(example_state)")
    filler = "    # ... create example state"
    assert filler in tests
    state = json.dumps(EXAMPLE.read_text(encoding="utf-8"))
    tests = tests.replace(filler, f"    state_file.write_text({state}, encoding='utf-8')")
    (project / "test_context_handoff.py").write_text(tests, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_context_handoff.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


def test_python_m_context_generator_takes_the_original_flags(project: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "context_generator",
            "--state-file",
            ".orchestrator_state.json",
            "--output",
            "out.json",
            "--level",
            "full",
            "--show-tokens",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Level: full" in proc.stdout and "Output: out.json" in proc.stdout
    tokens = int(re.search(r"Tokens: (\d+)", proc.stdout).group(1))  # type: ignore[union-attr]
    assert tokens == _exact((project / "out.json").read_text(encoding="utf-8"))
    missing = subprocess.run(
        [sys.executable, "-m", "context_generator", "--state-file", "x.json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2 and "x.json" in missing.stderr
    assert "Traceback" not in missing.stderr


def _exact(text: str) -> int:
    from context_handoff.tokens import build_counter

    return build_counter("o200k_base").count(text)
