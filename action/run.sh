#!/usr/bin/env bash
# One generate: payload, report, snapshot, step outputs and the job summary. Inputs arrive
# as CH_* variables.
set -uo pipefail
# shellcheck source=action/lib.sh
. "$GITHUB_ACTION_PATH/action/lib.sh"

# a path with a line break would reach the log as a line of its own (a workflow command)
for pair in output-dir=CH_OUTPUT_DIR since=CH_SINCE; do
    variable=${pair#*=}
    value=${!variable:-}
    if [[ $value == *[$'\n\r']* ]]; then
        echo "::error title=context-handoff::${pair%%=*}: '$(gh_escape "$value")' holds a line break; give a path without one"
        echo "valid=false" >> "$GITHUB_OUTPUT"
        exit 2
    fi
done

out=${CH_OUTPUT_DIR:-context-handoff}
mkdir -p "$out"
payload="$out/context_payload.json"
report="$out/handoff_report.md"
snapshot="$out/handoff_snapshot.json"
args=(--error-format github generate --level "$CH_LEVEL"
      --encoding "$CH_ENCODING" --output "$payload" --report "$report"
      --github-output "$GITHUB_OUTPUT" --format "${CH_FORMAT:-auto}" --snapshot "$snapshot")
# since: auto compares with the snapshot restored in place (read before it is replaced)
case "${CH_SINCE:-auto}" in
auto) args+=(--since "$snapshot") ;;
none | "") ;;
*) args+=(--since "$CH_SINCE") ;;
esac
# no state file named: the CLI finds .orchestrator_state.json, else .taskmaster/tasks/tasks.json
[ -n "${CH_STATE_FILE:-}" ] && args+=(--state "$CH_STATE_FILE")
[ -n "${CH_TAG:-}" ] && args+=(--tag "$CH_TAG")
[ -n "${CH_BUDGET:-}" ] && args+=(--budget "$CH_BUDGET")
[ -n "${CH_TEMPLATE:-}" ] && args+=(--template "$CH_TEMPLATE")
[ -n "${CH_MAX_STATE_AGE:-}" ] && args+=(--max-age "$CH_MAX_STATE_AGE")
# The image has no git: the state file's last commit comes from the runner (a checkout's
# mtimes are its own time, which would make any state look fresh). No file named: the one
# the CLI finds.
if [ "${CH_ENGINE_RESOLVED:-}" = docker ] \
    && state_file=${CH_STATE_FILE:-$(ch none discover 2>/dev/null)} \
    && committed=$(git log -1 --format=%cI -- "$state_file" 2>/dev/null) \
    && [ -n "$committed" ]; then
    args+=(--committed-at "$committed")
fi

# the job summary: the report cut to fit, or a short note when the handoff fails
if [ "${CH_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    args+=(--github-summary "$GITHUB_STEP_SUMMARY")
fi

ch none "${args[@]}"
status=$?
# the CLI writes valid=false itself; this covers a CLI that never started (the engine,
# or an input the CLI refused before reading it)
if [ "$status" -ne 0 ] && ! grep -q '^valid=' "$GITHUB_OUTPUT" 2>/dev/null; then
    echo "valid=false" >> "$GITHUB_OUTPUT"
    if [ "${CH_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        printf '## context-handoff failed\n\nThe handoff failed with exit code %s; the errors are annotated on this run.\n' \
            "$status" >> "$GITHUB_STEP_SUMMARY"
    fi
fi
exit "$status"
