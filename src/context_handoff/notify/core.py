"""The issue flow shared by every tracker: one open issue per label and fingerprint.

On failure: comment on the open issue that carries the fingerprint marker, or open
one. On success: comment and close it. A tracker that refuses (no token, no
permission, a fork's pull request) is a notice, never a failure of the handoff.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import HandoffFailed

BODY_LIMIT = 65_536  # GitHub's limit for an issue or comment body, in characters
MARKER_PREFIX = "<!-- context-handoff:fingerprint="


class Issue(NamedTuple):
    number: int
    url: str


class NotifyOptions(NamedTuple):
    status: str  # "failure" or "success"
    label: str
    fingerprint: str
    title: str
    report: str  # Markdown, already redacted
    run_url: str | None = None
    artifact_url: str | None = None
    close_on_success: bool = True


class Outcome(NamedTuple):
    action: str  # "created", "commented", "closed", "nothing", "skipped"
    issue: Issue | None
    notice: str | None = None  # why it was skipped, for the log


class Refused(Exception):
    """The tracker will not let us act (no token, 401/403, a fork): a notice, not a failure."""


class Tracker(Protocol):
    def find_open(self, label: str, marker: str) -> Issue | None: ...

    def create(self, title: str, body: str, label: str) -> Issue: ...

    def comment(self, issue: Issue, body: str) -> None: ...

    def close(self, issue: Issue) -> None: ...


def fingerprint_of(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def marker(fingerprint: str) -> str:
    return f"{MARKER_PREFIX}{fingerprint} -->"


def notify(tracker: Tracker, options: NotifyOptions) -> Outcome:
    """Carry out the flow; raise Refused when the tracker will not let us."""
    tag = marker(options.fingerprint)
    existing = tracker.find_open(options.label, tag)
    if options.status == "success":
        if existing is None or not options.close_on_success:
            return Outcome("nothing", existing)
        tracker.comment(existing, _body("The handoff succeeded again; closing.", options, ""))
        tracker.close(existing)
        return Outcome("closed", existing)
    if existing is not None:
        tracker.comment(existing, _body("The handoff failed again.", options, ""))
        return Outcome("commented", existing)
    issue = tracker.create(options.title, _body("The scheduled context handoff failed.", options,
                                                tag), options.label)
    return Outcome("created", issue)


def _body(lead: str, options: NotifyOptions, tag: str) -> str:
    links = []
    if options.run_url:
        links.append(f"[workflow run]({options.run_url})")
    if options.artifact_url:
        links.append(f"[payload and report]({options.artifact_url})")
    head = "\n".join(part for part in (tag, lead, " · ".join(links)) if part) + "\n\n"
    return head + cut_to(options.report, BODY_LIMIT - len(head))


def cut_to(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a line and saying so."""
    if len(text) <= limit:
        return text
    note = "\n\n_… cut to fit the issue; the whole report is in the artifact._\n"
    kept = text[: max(0, limit - len(note))]
    return (kept.rsplit("\n", 1)[0] if "\n" in kept else kept) + note


def build_session(token: str, auth_header: str, auth_prefix: str = "") -> requests.Session:
    """A session that retries 5xx and rate limits (honouring Retry-After), with auth."""
    retry = Retry(
        total=5, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST", "PATCH", "PUT"}),
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers[auth_header] = f"{auth_prefix}{token}"
    session.headers["User-Agent"] = "context-handoff"
    return session


def call(session: requests.Session, tracker: str, hint: str, method: str, url: str,
         **kwargs: Any) -> requests.Response:
    """One API request: 401/403 is a Refused (a notice), other errors a HandoffFailed."""
    where = url.split("?", 1)[0]
    try:
        response = session.request(method, url, timeout=30, **kwargs)
    except requests.RequestException as exc:
        raise HandoffFailed(f"{tracker} API unreachable: {exc}") from None
    if response.status_code in (401, 403):
        raise Refused(f"{tracker} answered {response.status_code} to {method} {where}: "
                      f"{_message(response)}; {hint}")
    if response.status_code >= 400:
        raise HandoffFailed(f"{tracker} answered {response.status_code} to {method} {where}: "
                            f"{_message(response)}")
    return response


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body) if isinstance(body, dict) else body)[:200]
