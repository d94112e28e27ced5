"""Rehearse a release end to end, offline: `make release-rehearsal`.

scripts/release.py runs unchanged in a scratch clone of this commit, against real local
services on 127.0.0.1: an OCI registry (Debian's `docker-registry`), a package index
(`pypiserver`), a bare git repository as the remote, and a stand-in for GitHub's releases
API. Then, with the image removed from the Docker engine, a user's workflow
(`uses: acme/context-handoff@v1`, the docker engine, no `image:`) runs under act against
the moved v1 tag and must pull the image by its digest and write a valid payload; and
`pip install context-handoff==X.Y.Z` from the local index must run `generate`. The wheels
of every dependency are resolved for arm64 too; the image is built for the host's platform.

Prints the digest (sha256:...) on its last line. Exit 0 when every check held.
Environment: REHEARSAL_REGISTRY_PORT (5714), REHEARSAL_INDEX_PORT (8714),
REHEARSAL_BASE_IMAGE (local/debian-python:bookworm), REHEARSAL_KEEP=1 keeps the scratch
folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fake_api import serve  # noqa: E402  (GitHub's releases API, on 127.0.0.1)

BIN = Path(sys.executable).parent
ACT_DIR = ROOT / "tests" / "act"
EXAMPLE = ROOT / "examples" / "orchestrator_state.example.json"
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"


class RehearsalFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"== rehearsal: {message}", file=sys.stderr, flush=True)


def sh(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, text=True, capture_output=capture
    )
    if check and proc.returncode:
        detail = (proc.stdout or "")[-3000:] + (proc.stderr or "")[-3000:] if capture else ""
        raise RehearsalFailed(
            f"{' '.join(map(str, args[:3]))} failed ({proc.returncode})\n{detail}"
        )
    return proc


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalFailed(message)
    say(f"ok: {message}")


def wait_for(url: str, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RehearsalFailed(f"{what} did not answer at {url}")


@contextlib.contextmanager
def background(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def registry_digest(registry: str, repository: str, tag: str) -> str:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": ", ".join(
                [
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                ]
            )
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


def remove_images(names: list[str]) -> None:
    """Only this rehearsal's own names: other images on the engine are left alone."""
    for name in names:
        subprocess.run(["docker", "image", "rm", "--force", name], capture_output=True)


def git_show(repo: Path, ref: str, path: str) -> str:
    return sh("git", "-C", repo, "show", f"{ref}:{path}", capture=True).stdout


def rehearse(scratch: Path) -> str:
    registry_port = int(os.environ.get("REHEARSAL_REGISTRY_PORT", "5714"))
    index_port = int(os.environ.get("REHEARSAL_INDEX_PORT", "8714"))
    base_image = os.environ.get("REHEARSAL_BASE_IMAGE", "local/debian-python:bookworm")
    registry = f"127.0.0.1:{registry_port}"
    repository = "acme/context-handoff"
    image = f"{registry}/{repository}"
    index = f"http://127.0.0.1:{index_port}"
    version = re.search(
        r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE
    ).group(1)  # type: ignore[union-attr]
    major = version.split(".")[0]

    # a scratch clone of this commit, and a bare repository as its remote
    head = sh("git", "-C", ROOT, "rev-parse", "HEAD", capture=True).stdout.strip()
    origin, work = scratch / "origin.git", scratch / "work"
    sh("git", "clone", "--quiet", "--bare", "--no-local", ROOT, origin)
    sh("git", "clone", "--quiet", origin, work)
    sh("git", "-C", work, "checkout", "--quiet", "--detach", head)
    if (ROOT / ".cache" / "wheels").is_dir():  # the tokenizer's wheel, to skip a download
        shutil.copytree(ROOT / ".cache" / "wheels", work / ".cache" / "wheels")

    (scratch / "registry.yml").write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {scratch / 'registry'}}}}}\n"
        f"http: {{addr: '{registry}'}}\n"
    )
    (scratch / "packages").mkdir()
    remove_images([f"{image}:{version}", f"{image}:{major}"])
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            background(
                ["docker-registry", "serve", str(scratch / "registry.yml")],
                scratch / "registry.log",
            )
        )
        stack.enter_context(
            background(
                [
                    str(BIN / "pypi-server"),
                    "run",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(index_port),
                    "-a",
                    ".",
                    "-P",
                    ".",
                    str(scratch / "packages"),
                ],
                scratch / "index.log",
            )
        )
        github = stack.enter_context(serve("github"))
        stack.callback(remove_images, [f"{image}:{version}", f"{image}:{major}"])
        wait_for(f"http://{registry}/v2/", "the registry")
        wait_for(f"{index}/simple/", "the package index")

        say(f"releasing {version} from a scratch clone of {head[:12]}")
        output = scratch / "release.env"
        env = {
            **os.environ,
            "TWINE_USERNAME": "rehearsal",
            "TWINE_PASSWORD": "rehearsal",
            "GITHUB_TOKEN": "rehearsal",
            "RELEASE_GIT_NAME": "rehearsal",
            "RELEASE_GIT_EMAIL": "rehearsal@example.com",
        }
        env.pop("TIKTOKEN_CACHE_DIR", None)  # the release must not depend on the caller's
        sh(
            sys.executable,
            work / "scripts" / "release.py",
            "--image",
            image,
            "--platforms",
            "linux/amd64",
            "--wheel-platforms",
            "linux/amd64,linux/arm64",
            "--base-image",
            base_image,
            "--remote",
            "origin",
            "--pypi-url",
            f"{index}/",
            "--github-api-url",
            github.url,
            "--github-repository",
            repository,
            "--output",
            output,
            cwd=work,
            env=env,
        )
        result = dict(line.split("=", 1) for line in output.read_text().split())
        digest, pinned = result["digest"], result["image"]
        stack.callback(remove_images, [pinned])

        # what the release left behind
        expect(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None, f"digest {digest}")
        expect(
            registry_digest(registry, repository, version) == digest,
            f"the registry serves {image}:{version} as {digest[:19]}…",
        )
        expect(
            registry_digest(registry, repository, major) == digest,
            f"the registry serves {image}:{major} as the same digest",
        )
        tags = {
            tag: sh(
                "git", "-C", origin, "rev-parse", f"{tag}^{{commit}}", capture=True
            ).stdout.strip()
            for tag in (f"v{version}", version, f"v{major}")
        }
        expect(
            len(set(tags.values())) == 1,
            f"the remote's v{version}, {version} and v{major} name one release commit",
        )
        commit = tags[f"v{major}"]
        expect(
            git_show(origin, commit, "action/image.txt").strip() == pinned,
            f"the release commit pins the action's image as {pinned}",
        )
        expect(
            f"default: {pinned}\n" in git_show(origin, commit, "templates/context-handoff.yml"),
            "the release commit pins the GitLab component's image the same way",
        )
        parent = sh("git", "-C", origin, "rev-parse", f"{commit}^", capture=True).stdout.strip()
        expect(parent == head, "the release commit sits on the released source")
        labels = json.loads(
            sh(
                "docker",
                "image",
                "inspect",
                "--format",
                "{{json .Config.Labels}}",
                f"{image}:{version}",
                capture=True,
            ).stdout
        )
        expect(
            labels.get("org.opencontainers.image.version") == version
            and labels.get("org.opencontainers.image.revision") == head
            and labels.get("org.opencontainers.image.licenses") == "MIT",
            "the image carries OCI labels (version, revision, licenses)",
        )
        aarch64 = sorted(p.name for p in (work / "wheelhouse").glob("*aarch64*.whl"))
        expect(
            bool(aarch64),
            "every dependency resolved to a wheel for arm64 too "
            f"({len(aarch64)} aarch64 binary wheels: {', '.join(aarch64)})",
        )
        dist = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (work / "dist").iterdir()
        }
        uploaded = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (scratch / "packages").iterdir()
        }
        expect(
            uploaded == dist and len(dist) == 2,
            f"the index holds the sdist and wheel: {', '.join(sorted(dist))}",
        )
        assets = {name: hashlib.sha256(data).hexdigest() for name, data in github.assets.items()}
        expect(
            len(github.releases) == 1
            and github.releases[0]["tag_name"] == f"v{version}"
            and assets == dist,
            f"a GitHub Release v{version} with dist/ attached",
        )

        # a user's workflow on an engine without the image
        remove_images([f"{image}:{version}", f"{image}:{major}", pinned])
        gone = subprocess.run(["docker", "image", "inspect", pinned], capture_output=True)
        expect(gone.returncode != 0, "the image is gone from the Docker engine")
        run_consumer(scratch, origin, pinned)
        expect(
            subprocess.run(["docker", "image", "inspect", pinned], capture_output=True).returncode
            == 0,
            f"the consumer pulled {pinned}",
        )

        install_from_index(scratch, index, version)
    return digest


def run_consumer(scratch: Path, origin: Path, pinned: str) -> None:
    action = scratch / "action-v1"
    sh("git", "clone", "--quiet", "--branch", "v1", origin, action)
    uses = [
        line.split("uses:", 1)[1].split("#")[0].strip()
        for line in (action / "action.yml").read_text().splitlines()
        if "uses:" in line
    ]
    upload = next(u for u in uses if u.startswith("actions/upload-artifact@"))
    # restore/ and save/ of actions/cache stand in as one repository
    cache = next(u for u in uses if u.startswith("actions/cache/restore@")).replace(
        "/restore@", "@"
    )
    repo, record, home = scratch / "consumer", scratch / "record", scratch / "act-home"
    for folder in (repo / ".github" / "workflows", record, home):
        folder.mkdir(parents=True)
    shutil.copy(ACT_DIR / "release-consumer.yml", repo / ".github" / "workflows" / "c.yml")
    shutil.copy(EXAMPLE, repo / ".orchestrator_state.json")
    git = ["git", "-C", str(repo), "-c", "user.email=r@example.com", "-c", "user.name=r"]
    sh(*git, "init", "--quiet")
    sh(*git, "remote", "add", "origin", "https://github.com/acme/orchestrator.git")
    sh(*git, "add", "-A")
    sh(*git, "commit", "--quiet", "-m", "state")
    act = BIN / "act" if (BIN / "act").exists() else Path(shutil.which("act") or "act")
    args = [
        act,
        "workflow_dispatch",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--pull=false",
        "--rm",
        "--no-cache-server",
        "-s",
        "GITHUB_TOKEN=rehearsal",
        "--env",
        f"RECORD_DIR={record}",
        "--env",
        f"CHECKOUT_SOURCE={repo}",
        "--local-repository",
        f"acme/context-handoff@v1={action}",
        "--local-repository",
        f"{upload}={ACT_DIR / 'upload-artifact'}",
        "--local-repository",
        f"{cache}={ACT_DIR / 'cache'}",
        "--env",
        f"CACHE_DIR={scratch / 'cache'}",
        "--local-repository",
        f"{CHECKOUT}={ACT_DIR / 'checkout'}",
    ]
    env = {**os.environ, "HOME": str(home), "ACT_DISABLE_VERSION_CHECK": "1"}
    proc = sh(*args, cwd=repo, env=env, capture=True, check=False)
    (scratch / "act.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        raise RehearsalFailed(
            f"the consumer workflow failed ({proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr)[-4000:]}"
        )
    outputs = json.loads((record / "outputs.json").read_text())
    from context_handoff import payload_file

    check = payload_file.check_payload(record / "uploaded" / "context_payload.json")
    expect(
        outputs.get("valid") == "true"
        and check.valid
        and check.level == "standard"
        and check.tokens == int(outputs["tokens"]) <= int(outputs["budget"]),
        f"uses: acme/context-handoff@v1 wrote a valid standard payload "
        f"({outputs['tokens']}/{outputs['budget']} tokens) with the pinned image",
    )


def install_from_index(scratch: Path, index: str, version: str) -> None:
    venv = scratch / "venv"
    sh(sys.executable, "-m", "venv", venv)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    # the package itself only from the rehearsal's index (never a same-named upload
    # elsewhere), then its dependencies from the machine's usual index
    sh(
        *pip,
        "--no-deps",
        "--no-cache-dir",
        "--index-url",
        f"{index}/simple/",
        f"context-handoff=={version}",
    )
    sh(*pip, f"context-handoff=={version}")
    out = scratch / "pip-out"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(ROOT / ".cache" / "tiktoken")}
    sh(
        venv / "bin" / "context-handoff",
        "generate",
        "--state",
        EXAMPLE,
        "--level",
        "minimal",
        "--output",
        out / "context_payload.json",
        "--report",
        out / "handoff_report.md",
        env=env,
        capture=True,
    )
    reported = sh(venv / "bin" / "context-handoff", "--version", capture=True).stdout.strip()
    from context_handoff import payload_file

    check = payload_file.check_payload(out / "context_payload.json")
    expect(
        reported.endswith(version) and check.valid and check.level == "minimal",
        f"pip install context-handoff=={version} from the index runs generate "
        f"({check.tokens} tokens)",
    )


def main() -> int:
    if shutil.which("docker-registry") is None:
        print(
            "release rehearsal: needs Debian's docker-registry (apt-get install docker-registry)",
            file=sys.stderr,
        )
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="context-handoff-rehearsal-"))
    try:
        digest = rehearse(scratch)
    except RehearsalFailed as exc:
        print(f"release rehearsal failed: {exc}\n(logs: {scratch})", file=sys.stderr)
        return 1
    if os.environ.get("REHEARSAL_KEEP") != "1":
        shutil.rmtree(scratch, ignore_errors=True)
    say("passed")
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
