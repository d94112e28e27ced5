#!/usr/bin/env bash
# The resume check: a session's reply (the reply-file input) against this run's payload.
# The verdict goes into the job summary and the reply-consistent output; an inconsistent
# reply fails the step (exit 1), an unreadable one too (exit 2). Inputs arrive as CH_*.
set -uo pipefail
# shellcheck source=action/lib.sh
. "$GITHUB_ACTION_PATH/action/lib.sh"

out=${CH_OUTPUT_DIR:-context-handoff}
args=(check-reply --payload "$out/context_payload.json" "$CH_REPLY_FILE")
if [ "${CH_JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    args+=(--github-summary "$GITHUB_STEP_SUMMARY")
fi
ch none "${args[@]}"
status=$?
case "$status" in
0) echo "reply-consistent=true" >> "$GITHUB_OUTPUT" ;;
1) echo "reply-consistent=false" >> "$GITHUB_OUTPUT" ;;
esac
exit "$status"
