"""GitLab's REST API (``CI_API_V4_URL``, ``CI_PROJECT_ID``).

``CI_JOB_TOKEN`` cannot create issues, so the token comes from the CI/CD variable
named by ``CONTEXT_HANDOFF_TOKEN_VARIABLE`` (default ``CONTEXT_HANDOFF_GITLAB_TOKEN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .core import DEADLINE_SECONDS, Api, Issue, Refused, field

DEFAULT_TOKEN_VARIABLE = "CONTEXT_HANDOFF_GITLAB_TOKEN"


class GitLabTracker:
    def __init__(
        self, api_url: str, project_id: str, token: str, deadline_seconds: float = DEADLINE_SECONDS
    ) -> None:
        self.api = Api(
            "GitLab",
            f"{api_url.rstrip('/')}/projects/{quote(project_id, safe='')}",
            {"PRIVATE-TOKEN": token},
            "the token needs the `api` scope and Reporter access",
            deadline_seconds,
        )

    def find_open(self, label: str, marker: str) -> Issue | None:
        for item in self.api.get_list(f"/issues?state=opened&labels={quote(label)}&per_page=100"):
            if marker in str(item.get("description") or ""):
                return _issue(item)
        return None

    def create(self, title: str, body: str, label: str) -> Issue:
        return _issue(
            self.api.send("POST", "/issues", {"title": title, "description": body, "labels": label})
        )

    def comment(self, issue: Issue, body: str) -> None:
        self.api.send("POST", f"/issues/{issue.number}/notes", {"body": body})

    def close(self, issue: Issue) -> None:
        self.api.send("PUT", f"/issues/{issue.number}", {"state_event": "close"})


def _issue(item: dict[str, Any]) -> Issue:
    return Issue(field(item, "iid", int, "GitLab"), field(item, "web_url", str, "GitLab"))


SCOPE_KEYS = ("CI_PROJECT_PATH", "CI_JOB_NAME", "CI_COMMIT_REF_NAME")


def build_tracker(
    environ: Mapping[str, str], deadline_seconds: float = DEADLINE_SECONDS
) -> GitLabTracker:
    variable = environ.get("CONTEXT_HANDOFF_TOKEN_VARIABLE") or DEFAULT_TOKEN_VARIABLE
    token = environ.get(variable)
    if not token:
        raise Refused(
            f"${variable} is not set (a fork, a merge request, or no token added): "
            "no issue written; CI_JOB_TOKEN cannot create issues"
        )
    api, project = environ.get("CI_API_V4_URL"), environ.get("CI_PROJECT_ID")
    if not api or not project:
        raise Refused("CI_API_V4_URL / CI_PROJECT_ID are not set: not running in GitLab CI?")
    return GitLabTracker(api, project, token, deadline_seconds)


def run_url(environ: Mapping[str, str]) -> str | None:
    return environ.get("CI_PIPELINE_URL") or environ.get("CI_JOB_URL")
