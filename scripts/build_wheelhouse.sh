#!/usr/bin/env bash
# Wheels for the image's own Python and platform, fetched on the host, so the image can
# be built with no package index or registry in reach (make image; air-gapped users).
# usage: scripts/build_wheelhouse.sh BASE_IMAGE [WHEELHOUSE]
set -euo pipefail
base=${1:?base image}
out=${2:-wheelhouse}
python=${PYTHON:-python3}
read -r pyver machine < <(docker run --rm --network none --entrypoint python3 "$base" \
    -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.machine())')
case "$machine" in
    x86_64|amd64) platform=manylinux2014_x86_64 ;;
    aarch64|arm64) platform=manylinux2014_aarch64 ;;
    *) echo "unsupported architecture: $machine" >&2; exit 2 ;;
esac
rm -rf "$out" && mkdir -p "$out"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" .
"$python" -m pip download --quiet --only-binary=:all: --dest "$out" \
    --python-version "$pyver" --platform "$platform" "$(echo "$out"/context_handoff-*.whl)[web]"
echo "wheelhouse for Python $pyver on $platform: $(find "$out" -name '*.whl' | wc -l) wheels in $out"
