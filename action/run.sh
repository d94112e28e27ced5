#!/usr/bin/env bash
# generate + validate + report into the job summary. Inputs arrive as CH_* variables.
set -uo pipefail
# shellcheck source=action/lib.sh
. "$GITHUB_ACTION_PATH/action/lib.sh"

out=${CH_OUTPUT_DIR:-context-handoff}
mkdir -p "$out"
payload="$out/context_payload.json"
report="$out/handoff_report.md"
snapshot="$out/snapshot.json"
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
# mtimes are its own time, which would make any state look fresh).
if [ "${CH_ENGINE_RESOLVED:-}" = docker ] \
    && committed=$(git log -1 --format=%cI -- "$CH_STATE_FILE" 2>/dev/null) \
    && [ -n "$committed" ]; then
    args+=(--committed-at "$committed")
fi

ch none "${args[@]}"
status=$?
if [ "$status" -ne 0 ]; then
    echo "valid=false" >> "$GITHUB_OUTPUT"
    if [ "${CH_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        printf '## context-handoff failed\n\nThe handoff failed with exit code %s; the errors are annotated on this run.\n' \
            "$status" >> "$GITHUB_STEP_SUMMARY"
    fi
    exit "$status"
fi
ch none validate "$payload" --github-output "$GITHUB_OUTPUT" || exit $?
if [ "${CH_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    # a job summary holds 1 MiB; keep well under it, cutting whole sections
    report_args=(report "$payload" --max-chars 900000)
    [ -n "${CH_TEMPLATE:-}" ] && report_args+=(--template "$CH_TEMPLATE")
    ch none "${report_args[@]}" >> "$GITHUB_STEP_SUMMARY" || exit $?
fi
