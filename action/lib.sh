# shellcheck shell=bash
# gh_escape TEXT: TEXT as the data of a workflow command (actions/toolkit's escaping), so
# an input holding a newline cannot start a command of its own.
gh_escape() {
    local text=${1//'%'/%25}
    text=${text//$'\r'/%0D}
    printf '%s' "${text//$'\n'/%0A}"
}

# ch ARGS...: the context-handoff CLI through the engine chosen by setup.sh.
# network: "none" for generate (the image needs none), "host" for the issue API.
ch() {
    local network=$1
    shift
    if [ "${CH_ENGINE_RESOLVED:-}" = python ]; then
        "$CH_BIN/context-handoff" "$@"
        return
    fi
    local mounts=(-v "$GITHUB_WORKSPACE:$GITHUB_WORKSPACE" -w "$PWD")
    local file
    for file in "${GITHUB_OUTPUT:-}" "${GITHUB_STEP_SUMMARY:-}" "${GITHUB_EVENT_PATH:-}"; do
        if [ -n "$file" ] && [ -e "$file" ]; then mounts+=(-v "$file:$file"); fi
    done
    local env=()
    local name
    for name in GITHUB_ACTIONS GITHUB_API_URL GITHUB_SERVER_URL GITHUB_REPOSITORY GITHUB_RUN_ID \
        GITHUB_WORKFLOW GITHUB_JOB GITHUB_EVENT_NAME GITHUB_EVENT_PATH GITHUB_OUTPUT \
        GITHUB_TOKEN SOURCE_DATE_EPOCH; do
        if [ -n "${!name:-}" ]; then env+=(-e "$name"); fi
    done
    docker run --rm --network "$network" --user "$(id -u):$(id -g)" \
        "${mounts[@]}" "${env[@]}" "$CH_IMAGE_RESOLVED" "$@"
}
