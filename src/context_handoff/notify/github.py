"""GitHub's REST API (``GITHUB_API_URL``, so GitHub Enterprise works too)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .core import DEADLINE_SECONDS, Api, Issue, Refused, field


class GitHubTracker:
    def __init__(
        self, api_url: str, repository: str, token: str, deadline_seconds: float = DEADLINE_SECONDS
    ) -> None:
        self.api = Api(
            "GitHub",
            f"{api_url.rstrip('/')}/repos/{repository}",
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            "the token needs `issues: write`",
            deadline_seconds,
        )

    def find_open(self, label: str, marker: str) -> Issue | None:
        # the issues list, not the search API: search's index lags and would make duplicates
        for item in self.api.get_list(f"/issues?state=open&labels={quote(label)}&per_page=100"):
            if "pull_request" not in item and marker in str(item.get("body") or ""):
                return _issue(item)
        return None

    def create(self, title: str, body: str, label: str) -> Issue:
        self._ensure_label(label)
        return _issue(
            self.api.send("POST", "/issues", {"title": title, "body": body, "labels": [label]})
        )

    def _ensure_label(self, label: str) -> None:
        path = f"/labels/{quote(label, safe='')}"
        if self.api.request("GET", path, ok=(404,)).status_code == 404:
            self.api.send(
                "POST",
                "/labels",
                {
                    "name": label,
                    "color": "d73a4a",
                    "description": "Scheduled context handoff failures",
                },
                ok=(422,),
            )  # a race

    def comment(self, issue: Issue, body: str) -> None:
        self.api.send("POST", f"/issues/{issue.number}/comments", {"body": body})

    def close(self, issue: Issue) -> None:
        self.api.send(
            "PATCH", f"/issues/{issue.number}", {"state": "closed", "state_reason": "completed"}
        )


def _issue(item: dict[str, Any]) -> Issue:
    return Issue(field(item, "number", int, "GitHub"), field(item, "html_url", str, "GitHub"))


def is_fork_pull_request(environ: Mapping[str, str]) -> bool:
    """A pull request from a fork gets a read-only token: no issue can be written."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path or not environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError):
        return False
    head = ((event.get("pull_request") or {}).get("head") or {}).get("repo") or {}
    return bool(head.get("fork")) or head.get("full_name") != environ.get("GITHUB_REPOSITORY")


SCOPE_KEYS = ("GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB")


def build_tracker(
    environ: Mapping[str, str], deadline_seconds: float = DEADLINE_SECONDS
) -> GitHubTracker:
    token = environ.get("GITHUB_TOKEN") or environ.get("INPUT_GITHUB_TOKEN")
    repository = environ.get("GITHUB_REPOSITORY")
    if not token:
        raise Refused("no GITHUB_TOKEN: set `github-token` (it needs `issues: write`)")
    if not repository:
        raise Refused("GITHUB_REPOSITORY is not set: not running in GitHub Actions?")
    if is_fork_pull_request(environ):
        raise Refused("a pull request from a fork has a read-only token; no issue written")
    return GitHubTracker(
        environ.get("GITHUB_API_URL", "https://api.github.com"), repository, token, deadline_seconds
    )


def run_url(environ: Mapping[str, str]) -> str | None:
    server, repo, run = (
        environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
