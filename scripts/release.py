"""Release context-handoff: the package, the image, the pinned action and component, tags.

    python scripts/release.py --image ghcr.io/context-handoff/context-handoff \
        --platforms linux/amd64,linux/arm64 --remote origin \
        --github-api-url https://api.github.com --github-repository context-handoff/context-handoff

In order: the sdist and wheel (dist/); the image's wheels for every platform (each
dependency, web extra included, must have a wheel for each); the image, built and pushed
as :X.Y.Z and :X with OCI labels, and its digest; a release commit pinning the action's
and the GitLab template's image as NAME@sha256:...; the tags vX.Y.Z and X.Y.Z (the GitLab
component's version) on it and the moved major tag vX, pushed to the remote; the GitHub
Release with dist/ attached; with --pypi-url, an upload of dist/ (the release workflow
publishes to PyPI itself, by trusted publishing). The version is pyproject.toml's.

Every remote end is an option, so `make release-rehearsal` runs this same script against
a local registry, package index, git remote and GitHub API.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_FILE = Path("action/image.txt")
TEMPLATE = Path("templates/context-handoff.yml")
SOURCE_URL = "https://github.com/context-handoff/context-handoff"


class ReleaseError(Exception):
    pass


def run(*args: str, capture: bool = False, env: dict[str, str] | None = None) -> str:
    print("+ " + " ".join(args), file=sys.stderr, flush=True)
    proc = subprocess.run(
        args, cwd=ROOT, text=True, env=env, stdout=subprocess.PIPE if capture else None
    )
    if proc.returncode:
        raise ReleaseError(
            f"{args[0]} {args[1] if len(args) > 1 else ''} failed (exit {proc.returncode})"
        )
    return proc.stdout.strip() if capture else ""


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^version = "(\d+\.\d+\.\d+)"$', text, re.MULTILINE)
    if not match:
        raise ReleaseError('pyproject.toml: no version = "X.Y.Z"')
    return match.group(1)


def check_tree(version: str, remote: str) -> None:
    if run("git", "status", "--porcelain", "--untracked-files=no", capture=True):
        raise ReleaseError("the working tree has uncommitted changes")
    tag = f"v{version}"
    if run("git", "tag", "--list", tag, capture=True):
        raise ReleaseError(f"{tag} exists already: raise the version in pyproject.toml")
    if remote and run("git", "ls-remote", "--tags", remote, f"refs/tags/{tag}", capture=True):
        raise ReleaseError(f"{tag} exists on {remote} already")
    pinned = (ROOT / IMAGE_FILE).read_text().strip()
    if pinned not in (ROOT / TEMPLATE).read_text():
        raise ReleaseError(f"{TEMPLATE} does not default to {IMAGE_FILE}'s {pinned}")


def build_dist(version: str) -> list[Path]:
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run(sys.executable, "-m", "build", "--outdir", str(dist), ".")
    files = sorted(dist.iterdir())
    names = [path.name for path in files]
    wanted = [f"context_handoff-{version}-py3-none-any.whl", f"context_handoff-{version}.tar.gz"]
    if sorted(names) != sorted(wanted):
        raise ReleaseError(f"dist/ holds {names}, expected {wanted}")
    with zipfile.ZipFile(dist / wanted[0]) as wheel:
        info = f"context_handoff-{version}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        missing = [
            name
            for name in ("context_handoff/py.typed", f"{info}/licenses/LICENSE")
            if name not in wheel.namelist()
        ]
    if (
        missing
        or f"\nVersion: {version}\n" not in metadata
        or ("Classifier: Framework :: Pytest" not in metadata)
    ):
        raise ReleaseError(f"{wanted[0]}: incomplete (missing {missing or 'metadata'})")
    return files


def build_wheelhouse(base_image: str, wheel: Path, platforms: list[str]) -> None:
    run(
        sys.executable,
        str(ROOT / "scripts" / "fetch_encodings.py"),
        str(ROOT / ".cache" / "tiktoken"),
    )
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "WHEEL": str(wheel),
        "PLATFORMS": " ".join(platforms),
    }
    run("bash", str(ROOT / "scripts" / "build_wheelhouse.sh"), base_image, "wheelhouse", env=env)


def labels(version: str, revision: str) -> list[str]:
    # the released commit's time, not the build's: the same source gives the same labels
    stamp = int(run("git", "log", "-1", "--format=%ct", revision, capture=True))
    created = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    values = {
        "title": "context-handoff",
        "description": "An orchestrator's state as an exact-token, budget-guaranteed handoff "
        "payload and report",
        "version": version,
        "revision": revision,
        "created": created,
        "source": SOURCE_URL,
        "url": SOURCE_URL,
        "documentation": f"{SOURCE_URL}#readme",
        "licenses": "MIT",
        "vendor": "context-handoff contributors",
    }
    return [f"--label=org.opencontainers.image.{key}={value}" for key, value in values.items()]


def host_platform() -> str:
    machine = platform.machine().lower()
    return {
        "x86_64": "linux/amd64",
        "amd64": "linux/amd64",
        "aarch64": "linux/arm64",
        "arm64": "linux/arm64",
    }.get(machine, f"linux/{machine}")


def has_buildx() -> bool:
    return subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0


def build_and_push_image(
    name: str, version: str, revision: str, base_image: str, platforms: list[str]
) -> str:
    """Build, push as :X.Y.Z and :X, and return the pushed digest (sha256:...)."""
    tags = [f"{name}:{version}", f"{name}:{version.split('.')[0]}"]
    common = [f"--build-arg=BASE_IMAGE={base_image}", *labels(version, revision)]
    if has_buildx():
        with tempfile.TemporaryDirectory() as tmp:
            metadata = Path(tmp) / "metadata.json"
            run(
                "docker",
                "buildx",
                "build",
                "--platform",
                ",".join(platforms),
                "--push",
                "--provenance=false",
                f"--metadata-file={metadata}",
                *[f"--tag={tag}" for tag in tags],
                *common,
                ".",
            )
            digest = str(json.loads(metadata.read_text())["containerimage.digest"])
    else:
        # the classic builder (no buildx): one platform, the host's own
        if platforms != [host_platform()]:
            raise ReleaseError(
                f"building for {', '.join(platforms)} needs docker buildx; "
                f"without it only {host_platform()} can be built"
            )
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}
        run("docker", "build", *[f"--tag={tag}" for tag in tags], *common, ".", env=env)
        for tag in tags:
            run("docker", "push", tag)
        digests = run(
            "docker",
            "image",
            "inspect",
            "--format",
            "{{range .RepoDigests}}{{println .}}{{end}}",
            tags[0],
            capture=True,
        )
        found = [
            line.split("@", 1)[1] for line in digests.splitlines() if line.startswith(f"{name}@")
        ]
        if len(found) != 1:
            raise ReleaseError(f"no single pushed digest for {name}: {digests!r}")
        digest = found[0]
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ReleaseError(f"not a digest: {digest!r}")
    return digest


def release_commit(version: str, pinned: str, remote: str) -> str:
    """Pin the image in the action and the template on a release commit; tag it and move
    the major tag; push the tags. Returns the commit's SHA."""
    old = (ROOT / IMAGE_FILE).read_text().strip()
    (ROOT / IMAGE_FILE).write_text(pinned + "\n")
    template = (ROOT / TEMPLATE).read_text()
    default = f"default: {old}\n"
    if template.count(default) != 1:
        raise ReleaseError(f"{TEMPLATE}: expected one '{default.strip()}'")
    (ROOT / TEMPLATE).write_text(template.replace(default, f"default: {pinned}\n"))
    ident = [
        "-c",
        f"user.name={os.environ.get('RELEASE_GIT_NAME', 'github-actions[bot]')}",
        "-c",
        "user.email="
        + os.environ.get(
            "RELEASE_GIT_EMAIL", "41898282+github-actions[bot]@users.noreply.github.com"
        ),
    ]
    run(
        "git",
        *ident,
        "commit",
        "--quiet",
        "-m",
        f"Release {version}: pin {pinned}",
        str(IMAGE_FILE),
        str(TEMPLATE),
    )
    major = f"v{version.split('.')[0]}"
    run("git", *ident, "tag", "-a", f"v{version}", "-m", f"context-handoff {version}")
    run("git", *ident, "tag", "-a", version, "-m", f"context-handoff {version} (GitLab component)")
    run("git", *ident, "tag", "-a", "-f", major, "-m", f"context-handoff {version}")
    if remote:
        run("git", "push", remote, f"refs/tags/v{version}", f"refs/tags/{version}")
        run("git", "push", "--force", remote, f"refs/tags/{major}")
    return run("git", "rev-parse", "HEAD", capture=True)


def github_release(
    api_url: str, repository: str, version: str, pinned: str, files: list[Path]
) -> str:
    token = os.environ.get("GITHUB_TOKEN", "")
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    body = (
        f"context-handoff {version}\n\n"
        f"- GitHub Action: `uses: {repository}@v{version}` (or `@v{version.split('.')[0]}`)\n"
        f"- Python: `pip install context-handoff=={version}`\n"
        f"- Image (amd64, arm64): `{pinned}`\n"
        f"- GitLab component: `context-handoff@{version}`\n"
    )
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/repos/{repository}/releases",
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
        data=json.dumps(
            {
                "tag_name": f"v{version}",
                "name": f"context-handoff {version}",
                "body": body,
                "make_latest": "true",
            }
        ).encode(),
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        created = json.load(response)
    upload_url = str(created["upload_url"]).split("{", 1)[0]
    for path in files:
        upload = urllib.request.Request(
            f"{upload_url}?name={path.name}",
            method="POST",
            data=path.read_bytes(),
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(upload, timeout=300):
            pass
    return str(created["html_url"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the image's name, without a tag")
    parser.add_argument(
        "--platforms",
        default="linux/amd64,linux/arm64",
        help="the image's platforms (more than the host's need buildx)",
    )
    parser.add_argument(
        "--wheel-platforms",
        default="linux/amd64,linux/arm64",
        help="platforms whose wheels must all resolve, built or not",
    )
    parser.add_argument("--base-image", default="python:3.12-slim")
    parser.add_argument("--remote", default="origin", help="git remote for the tags ('' none)")
    parser.add_argument("--pypi-url", default="", help="upload dist/ here with twine")
    parser.add_argument("--github-api-url", default="", help="create the GitHub Release here")
    parser.add_argument("--github-repository", default="context-handoff/context-handoff")
    parser.add_argument("--output", type=Path, help="append version=, digest=, image= here")
    args = parser.parse_args(argv)
    platforms = [p for p in args.platforms.split(",") if p]
    wheel_platforms = sorted({*platforms, *(p for p in args.wheel_platforms.split(",") if p)})
    try:
        version = project_version()
        check_tree(version, args.remote)
        revision = run("git", "rev-parse", "HEAD", capture=True)
        files = build_dist(version)
        build_wheelhouse(
            args.base_image, files[-1] if files[-1].suffix == ".whl" else files[0], wheel_platforms
        )
        digest = build_and_push_image(args.image, version, revision, args.base_image, platforms)
        pinned = f"{args.image}@{digest}"
        commit = release_commit(version, pinned, args.remote)
        if args.pypi_url:
            run(
                sys.executable,
                "-m",
                "twine",
                "upload",
                "--non-interactive",
                "--repository-url",
                args.pypi_url,
                *map(str, files),
            )
        url = ""
        if args.github_api_url:
            url = github_release(
                args.github_api_url, args.github_repository, version, pinned, files
            )
    except (ReleaseError, OSError, KeyError, ValueError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    if args.output:
        with args.output.open("a") as out:
            out.write(f"version={version}\ndigest={digest}\nimage={pinned}\ncommit={commit}\n")
    print(
        f"released context-handoff {version}: {pinned} (commit {commit[:12]}, tags "
        f"v{version}, {version}, v{version.split('.')[0]}){' ' + url if url else ''}"
    )
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
