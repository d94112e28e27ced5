#!/usr/bin/env bash
# Prepare the engine: check the runner can serve it, or install the package into a venv.
# Writes CH_RUN (how to call the CLI) for the later steps through $GITHUB_ENV.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$GITHUB_ACTION_PATH/action/lib.sh"
engine=${CH_ENGINE:-docker}
case "$engine" in
docker)
    if [ "${RUNNER_OS:-Linux}" != "Linux" ]; then
        echo "::error title=context-handoff::engine: docker needs a Linux runner (this is ${RUNNER_OS}). Use the python engine:%0A  with:%0A    engine: python"
        exit 2
    fi
    image=${CH_IMAGE:-$(tr -d '[:space:]' < "$GITHUB_ACTION_PATH/action/image.txt")}
    # an image reference: name[:tag][@digest]; anything else (a newline above all, which
    # would add lines to $GITHUB_ENV) is refused
    if ! [[ $image =~ ^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$ ]] || [ ${#image} -gt 512 ]; then
        echo "::error title=context-handoff::image: '$(gh_escape "$image")' is not an image reference such as registry.example.com/context-handoff:1.0.0"
        exit 2
    fi
    # fail here, once, with what to change, rather than in every later docker run
    # (GHES without GHCR, a registry mirror that lacks the image, no network)
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        if ! reason=$(docker pull --quiet "$image" 2>&1 >/dev/null); then
            reason=$(printf '%s' "$reason" | tr '\n' ' ' | cut -c1-300)
            echo "::error title=context-handoff::cannot pull the image $(gh_escape "$image") ($(gh_escape "$reason")). Set \`image:\` to a copy this runner can pull (a mirror or a local tag), or use \`engine: python\`."
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
    echo "::error title=context-handoff::engine must be docker or python, not '$(gh_escape "$engine")'"
    exit 2
    ;;
esac
