"""One version, one place: the package, the CLI, the action's and the GitLab component's
image, and the documented install lines agree; the Marketplace's and PyPI's basics hold."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import metadata
from pathlib import Path

import yaml

import context_handoff

from .conftest import ROOT

VERSION = re.findall(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)[0]
MAJOR = VERSION.split(".")[0]
TEMPLATE = ROOT / "templates" / "context-handoff.yml"
DOCUMENTS = [
    ROOT / "README.md",
    TEMPLATE,
    *sorted((ROOT / "gitlab").iterdir()),
    ROOT / "examples" / "docker-compose.yml",
    ROOT / "action" / "image.txt",
    *sorted((ROOT / "examples" / "workflows").glob("*.yml")),
]


def test_the_release_line_is_1x():
    assert re.fullmatch(r"1\.\d+\.\d+", VERSION)


def test_package_metadata_and_cli_report_the_pyproject_version():
    assert context_handoff.__version__ == VERSION
    proc = subprocess.run(
        [sys.executable, "-m", "context_handoff", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == f"context-handoff, version {VERSION}"


def test_action_and_component_default_to_the_same_image_of_this_major():
    pinned = (ROOT / "action" / "image.txt").read_text().strip()
    header = yaml.safe_load(TEMPLATE.read_text().split("\n---\n", 1)[0])
    assert header["spec"]["inputs"]["image"]["default"] == pinned
    # between releases: the moving major tag the release pushes; a release commit pins a digest
    assert re.fullmatch(
        rf"ghcr\.io/context-handoff/context-handoff(:{MAJOR}|@sha256:[0-9a-f]{{64}})", pinned
    )


def test_documented_versions_are_this_release():
    for path in DOCUMENTS:
        text = path.read_text()
        for found in re.findall(r"context-handoff@v?(\d+(?:\.\d+)*)\b", text):
            assert found in (VERSION, MAJOR), f"{path.name}: context-handoff@{found}"
        for found in re.findall(r"context-handoff/(?:v)?(\d+\.\d+\.\d+)/templates/", text):
            assert found == VERSION, f"{path.name}: remote include of {found}"
        for found in re.findall(r"context-handoff==(\d+\.\d+\.\d+)", text):
            assert found == VERSION, f"{path.name}: pip pin {found}"
        for found in re.findall(r"ghcr\.io/context-handoff/context-handoff:([\w.-]+)", text):
            assert found in (VERSION, MAJOR), (
                f"{path.name}: image tag {found} (no release pushes it)"
            )
        assert "gitlab/context-handoff.yml" not in text, path.name
    readme = (ROOT / "README.md").read_text()
    assert f"context-handoff@v{MAJOR}" in readme
    assert f"context-handoff/context-handoff@{VERSION}" in readme  # the GitLab component
    assert f"context-handoff/v{VERSION}/templates/context-handoff.yml" in readme


def test_action_description_fits_the_marketplace():
    description = yaml.safe_load((ROOT / "action.yml").read_text())["description"]
    assert 0 < len(description) < 125, len(description)


def test_pypi_basics():
    installed = metadata("context-handoff")
    assert installed["Version"] == VERSION
    classifiers = installed.get_all("Classifier") or []
    assert "Framework :: Pytest" in classifiers
    assert "License :: OSI Approved :: MIT License" in classifiers
    urls = {entry.split(",", 1)[0] for entry in installed.get_all("Project-URL") or []}
    assert {"Homepage", "Source", "Issues"} <= urls
    assert (ROOT / "src" / "context_handoff" / "py.typed").exists()
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "context-handoff contributors" in license_text


def test_nested_actions_are_pinned_by_sha_with_their_tag():
    files = [
        ROOT / "action.yml",
        *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
        *sorted((ROOT / "examples" / "workflows").glob("*.yml")),
    ]
    for path in files:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*([\w.-]+/[\w./-]+)@(\S+)(.*)", line)
            if not match or match.group(1).startswith("context-handoff/"):
                continue
            assert re.fullmatch(r"[0-9a-f]{40}", match.group(2)), f"{path.name}: {line.strip()}"
            assert re.search(r"# v\d+\.\d+\.\d+", match.group(3)), f"{path.name}: {line.strip()}"


def test_dependabot_keeps_every_ecosystem_current():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"github-actions", "pip", "docker", "npm"} <= ecosystems


def test_make_image_ignores_the_callers_tiktoken_cache_dir():
    """The encodings are fetched into the build context's .cache/tiktoken itself, so a
    TIKTOKEN_CACHE_DIR set elsewhere cannot leave the Dockerfile's COPY without files."""
    assert "COPY .cache/tiktoken/ " in (ROOT / "Dockerfile").read_text()
    proc = subprocess.run(
        ["make", "-n", "image", "TIKTOKEN_CACHE_DIR=/elsewhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"fetch_encodings.py {ROOT}/.cache/tiktoken" in proc.stdout, proc.stdout
    assert "/elsewhere" not in proc.stdout


def _scratch_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(clone)], check=True)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", head], check=True)
    return clone


def _release(clone: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(clone / "scripts" / "release.py"),
            "--image",
            "127.0.0.1:9/acme/context-handoff",
            "--remote",
            "",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_refuses_a_version_already_tagged_or_a_dirty_tree(tmp_path):
    """Checked before anything is built or pushed (the full run: make release-rehearsal)."""
    clone = _scratch_clone(tmp_path)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "tag", f"v{VERSION}"], check=True)
    tagged = _release(clone)
    assert tagged.returncode == 1
    assert f"release: v{VERSION} exists already" in tagged.stderr
    assert not (clone / "dist").exists()
    subprocess.run([*git, "tag", "-d", f"v{VERSION}"], check=True, capture_output=True)
    (clone / "action" / "image.txt").write_text("elsewhere/context-handoff:1\n")
    dirty = _release(clone)
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr
    subprocess.run([*git, "commit", "-qam", "drift"], check=True)
    drifted = _release(clone)
    assert drifted.returncode == 1
    assert "does not default to action/image.txt's elsewhere/context-handoff:1" in drifted.stderr
