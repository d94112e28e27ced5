"""GitLab's REST API (``CI_API_V4_URL``, ``CI_PROJECT_ID``).

``CI_JOB_TOKEN`` cannot create issues, so the token comes from the CI/CD variable
named by ``CONTEXT_HANDOFF_TOKEN_VARIABLE`` (default ``CONTEXT_HANDOFF_GITLAB_TOKEN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from .core import Issue, Refused, build_session, call

DEFAULT_TOKEN_VARIABLE = "CONTEXT_HANDOFF_GITLAB_TOKEN"


class GitLabTracker:
    def __init__(self, api_url: str, project_id: str, token: str) -> None:
        self.base = f"{api_url.rstrip('/')}/projects/{quote(project_id, safe='')}"
        self.session = build_session(token, "PRIVATE-TOKEN")

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        return call(self.session, "GitLab", "the token needs the `api` scope and Reporter access",
                    method, url, **kwargs)

    def find_open(self, label: str, marker: str) -> Issue | None:
        url: str | None = f"/issues?state=opened&labels={quote(label)}&per_page=100"
        while url:
            response = self._call("GET", url)
            for item in response.json():
                if marker in (item.get("description") or ""):
                    return Issue(item["iid"], item["web_url"])
            url = response.links.get("next", {}).get("url")
        return None

    def create(self, title: str, body: str, label: str) -> Issue:
        item = self._call("POST", "/issues",
                          json={"title": title, "description": body, "labels": label}).json()
        return Issue(item["iid"], item["web_url"])

    def comment(self, issue: Issue, body: str) -> None:
        self._call("POST", f"/issues/{issue.number}/notes", json={"body": body})

    def close(self, issue: Issue) -> None:
        self._call("PUT", f"/issues/{issue.number}", json={"state_event": "close"})


def build_tracker(environ: Mapping[str, str]) -> GitLabTracker:
    variable = environ.get("CONTEXT_HANDOFF_TOKEN_VARIABLE") or DEFAULT_TOKEN_VARIABLE
    token = environ.get(variable)
    if not token:
        raise Refused(f"${variable} is not set (a fork, a merge request, or no token added): "
                      "no issue written; CI_JOB_TOKEN cannot create issues")
    api, project = environ.get("CI_API_V4_URL"), environ.get("CI_PROJECT_ID")
    if not api or not project:
        raise Refused("CI_API_V4_URL / CI_PROJECT_ID are not set: not running in GitLab CI?")
    return GitLabTracker(api, project, token)


def run_url(environ: Mapping[str, str]) -> str | None:
    return environ.get("CI_PIPELINE_URL") or environ.get("CI_JOB_URL")
