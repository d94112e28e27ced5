"""Every default, defined once: levels and their budgets, encodings, file names, limits.

The CLI's help, the Python API, the web API, the Jupyter magic, the checkpointer and the
metrics read them from here; action.yml and the GitLab template restate some for their
users, and a test checks that they agree.
"""

from __future__ import annotations

# Levels, smallest first, and the token budget each packs to unless told otherwise.
BUDGETS = {"minimal": 500, "standard": 1200, "full": 2000}
LEVELS = tuple(BUDGETS)
DEFAULT_LEVEL = "standard"
# What --level and --format take to decide by the input: the richest level the budget
# affords; the format the content shows.
AUTO = "auto"
LEVEL_CHOICES = (*LEVELS, AUTO)

# Tokenizer encodings (tiktoken's names); the first is the default.
ENCODINGS = ("o200k_base", "cl100k_base")
DEFAULT_ENCODING = ENCODINGS[0]

# Files, by convention.
STATE_FILE = ".orchestrator_state.json"
TASKMASTER_FILE = ".taskmaster/tasks/tasks.json"  # looked for when STATE_FILE is absent
PAYLOAD_FILE = "context_payload.json"
REPORT_FILE = "handoff_report.md"
SNAPSHOT_FILE = "handoff_snapshot.json"  # what the next run's --since compares with
CI_OUTPUT_DIR = "context-handoff"  # the action's and the GitLab job's folder (not hidden)
CHECKPOINT_DIR = "handoffs"  # the orchestrator checkpointer's folder

# Size limits of where reports go.
JOB_SUMMARY_LIMIT = 1024 * 1024  # GitHub's job summary, in bytes
JOB_SUMMARY_CHARS = JOB_SUMMARY_LIMIT // 4  # a report cut to this always fits: UTF-8 takes
# at most 4 bytes a character
ISSUE_BODY_LIMIT = 65_536  # GitHub's issue or comment body, in characters

# The web API's limits.
MAX_BODY_BYTES = 32 * 1024 * 1024  # five times the largest states measured (6.5 MB)
REQUEST_SECONDS = 60.0  # a handoff that takes longer is answered 503
MAX_CONCURRENT = 4  # handoffs at once; more are answered 503
MAX_PATH_CHARS = 1024  # the longest state_file asked for
SHUTDOWN_SECONDS = 5  # serve stops within this of SIGTERM
