#!/usr/bin/env bash
# Open, comment on or close the tracking issue. Never fails the step: a notification
# problem must not hide (or replace) the handoff's own result.
set -uo pipefail
# shellcheck source=action/lib.sh
. "$GITHUB_ACTION_PATH/action/lib.sh"

if [ -z "${CH_ENGINE_RESOLVED:-}" ]; then
    exit 0   # the engine could not be set up; setup.sh has said why
fi
report="${CH_OUTPUT_DIR:-context-handoff}/handoff_report.md"
args=(notify github --status "$CH_STATUS" --label "$CH_LABEL" --report "$report")
[ -n "${CH_ARTIFACT_URL:-}" ] && args+=(--artifact-url "$CH_ARTIFACT_URL")
ch host "${args[@]}" || echo "::warning title=context-handoff::could not update the tracking issue"
exit 0
