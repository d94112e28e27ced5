#!/usr/bin/env bash
# Wheels for the image, fetched on the host, so the image can be built with no package
# index or registry in reach (make image, the release, air-gapped users). One folder holds
# the wheels of every platform asked for; pip inside the build picks its own platform's.
# Fails when a dependency (web extra included) has no wheel for one of the platforms.
# usage: [PLATFORMS="linux/amd64 linux/arm64"] [WHEEL=dist/x.whl] scripts/build_wheelhouse.sh BASE_IMAGE [WHEELHOUSE]
#   PLATFORMS: default, the base image's own; WHEEL: default, one built from this checkout
set -euo pipefail
base=${1:?base image}
out=${2:-wheelhouse}
python=${PYTHON:-python3}
read -r pyver machine < <(docker run --rm --network none --entrypoint python3 "$base" \
    -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.machine())')
rm -rf "$out" && mkdir -p "$out"
wheel=${WHEEL:-}
if [ -z "$wheel" ]; then
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" .
    wheel=$(echo "$out"/context_handoff-*.whl)
else
    cp "$wheel" "$out/"
fi
wheel=$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")
for platform in ${PLATFORMS:-$machine}; do
    case "$platform" in
        linux/amd64|x86_64|amd64) arch=x86_64 ;;
        linux/arm64|aarch64|arm64) arch=aarch64 ;;
        *) echo "unsupported platform: $platform" >&2; exit 2 ;;
    esac
    staging="$out/.$arch"
    if ! "$python" -m pip download --quiet --only-binary=:all: --dest "$staging" \
        --python-version "$pyver" --platform "manylinux2014_$arch" --platform "manylinux_2_28_$arch" \
        "context-handoff[web] @ file://$wheel"; then
        echo "no $arch wheel for Python $pyver of a dependency above: the image cannot be built for $platform" >&2
        exit 1
    fi
    echo "wheelhouse for Python $pyver on linux $arch: $(find "$staging" -name '*.whl' | wc -l) wheels (every dependency, web extra included)"
    cp -n "$staging"/*.whl "$out/" 2>/dev/null || true
    rm -rf "$staging"
done
