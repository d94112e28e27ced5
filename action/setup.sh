#!/usr/bin/env bash
# Prepare the engine: check the runner can serve it, or install the package into a venv.
# Writes CH_RUN (how to call the CLI) for the later steps through $GITHUB_ENV.
set -euo pipefail
engine=${CH_ENGINE:-docker}
case "$engine" in
docker)
    if [ "${RUNNER_OS:-Linux}" != "Linux" ]; then
        echo "::error title=context-handoff::engine: docker needs a Linux runner (this is ${RUNNER_OS}). Use the python engine:%0A  with:%0A    engine: python"
        exit 2
    fi
    image=${CH_IMAGE:-$(tr -d '[:space:]' < "$GITHUB_ACTION_PATH/action/image.txt")}
    # fail here, once, with what to change, rather than in every later docker run
    # (GHES without GHCR, a registry mirror that lacks the image, no network)
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        if ! reason=$(docker pull --quiet "$image" 2>&1 >/dev/null); then
            reason=$(printf '%s' "$reason" | tr '\n' ' ' | cut -c1-300)
            echo "::error title=context-handoff::cannot pull the image ${image} (${reason}). Set \`image:\` to a copy this runner can pull (a mirror or a local tag), or use \`engine: python\`."
            exit 2
        fi
    fi
    {
        echo "CH_ENGINE_RESOLVED=docker"
        echo "CH_IMAGE_RESOLVED=$image"
    } >> "$GITHUB_ENV"
    ;;
python)
    venv="${RUNNER_TEMP:?}/context-handoff-venv"
    py=$(command -v python3 || command -v python)
    "$py" -m venv "$venv"
    bin="$venv/bin"
    [ -d "$venv/Scripts" ] && bin="$venv/Scripts"   # Windows runners
    "$bin/python" -m pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"
    {
        echo "CH_ENGINE_RESOLVED=python"
        echo "CH_BIN=$bin"
    } >> "$GITHUB_ENV"
    ;;
*)
    echo "::error title=context-handoff::engine must be docker or python, not '${engine}'"
    exit 2
    ;;
esac
