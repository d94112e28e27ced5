"""GitHub's REST API (``GITHUB_API_URL``, so GitHub Enterprise works too)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from ..errors import HandoffFailed
from .core import Issue, Refused, build_session, call


class GitHubTracker:
    def __init__(self, api_url: str, repository: str, token: str) -> None:
        self.base = f"{api_url.rstrip('/')}/repos/{repository}"
        self.session = build_session(token, "Authorization", "Bearer ")
        self.session.headers["Accept"] = "application/vnd.github+json"
        self.session.headers["X-GitHub-Api-Version"] = "2022-11-28"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        return call(self.session, "GitHub", "the token needs `issues: write`", method, url,
                    **kwargs)

    def find_open(self, label: str, marker: str) -> Issue | None:
        # the issues list, not the search API: search's index lags and would make duplicates
        url: str | None = f"/issues?state=open&labels={quote(label)}&per_page=100"
        while url:
            response = self._call("GET", url)
            for item in response.json():
                if "pull_request" not in item and marker in (item.get("body") or ""):
                    return Issue(item["number"], item["html_url"])
            url = response.links.get("next", {}).get("url")
        return None

    def create(self, title: str, body: str, label: str) -> Issue:
        self._ensure_label(label)
        item = self._call("POST", "/issues",
                          json={"title": title, "body": body, "labels": [label]}).json()
        return Issue(item["number"], item["html_url"])

    def _ensure_label(self, label: str) -> None:
        url = f"{self.base}/labels/{quote(label, safe='')}"
        try:
            exists = self.session.get(url, timeout=30).status_code == 200
        except requests.RequestException as exc:
            raise HandoffFailed(f"GitHub API unreachable: {exc}") from None
        if not exists:
            self._call("POST", "/labels", json={
                "name": label, "color": "d73a4a",
                "description": "Scheduled context handoff failures"})

    def comment(self, issue: Issue, body: str) -> None:
        self._call("POST", f"/issues/{issue.number}/comments", json={"body": body})

    def close(self, issue: Issue) -> None:
        self._call("PATCH", f"/issues/{issue.number}",
                   json={"state": "closed", "state_reason": "completed"})


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


def build_tracker(environ: Mapping[str, str]) -> GitHubTracker:
    token = environ.get("GITHUB_TOKEN") or environ.get("INPUT_GITHUB_TOKEN")
    repository = environ.get("GITHUB_REPOSITORY")
    if not token:
        raise Refused("no GITHUB_TOKEN: set `github-token` (it needs `issues: write`)")
    if not repository:
        raise Refused("GITHUB_REPOSITORY is not set: not running in GitHub Actions?")
    if is_fork_pull_request(environ):
        raise Refused("a pull request from a fork has a read-only token; no issue written")
    return GitHubTracker(environ.get("GITHUB_API_URL", "https://api.github.com"), repository,
                         token)


def run_url(environ: Mapping[str, str]) -> str | None:
    server, repo, run = (environ.get(k) for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
