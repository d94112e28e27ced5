"""The issue flow shared by every tracker: one open issue per label and fingerprint.

On failure: comment on the open issue that carries the fingerprint marker, or open
one. On success: comment and close it. A tracker that refuses (no token, no
permission, a fork's pull request) is a notice, never a failure of the handoff; so is
any fault of the API (errors, rate limits, answers of the wrong shape, a server that
never finishes answering): the whole notification ends within ``DEADLINE_SECONDS``.
A create whose answer was lost is never simply sent again: the issues are listed first,
so one incident makes at most one issue.
"""

from __future__ import annotations

import email.utils
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import urlsplit

import requests

from .. import defaults
from ..digests import short_digest
from ..errors import HandoffFailed

_T = TypeVar("_T", list, dict)  # type: ignore[type-arg]
_F = TypeVar("_F", int, str)

BODY_LIMIT = defaults.ISSUE_BODY_LIMIT
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


class TrackerKind(Protocol):
    """One issue tracker: a module in notify/ with these names, listed in TRACKERS_BY_NAME."""

    # the CI variables that tell this job from others: project, job, branch (or workflow)
    SCOPE_KEYS: tuple[str, str, str]

    def build_tracker(self, environ: Mapping[str, str], deadline_seconds: float) -> Tracker:
        """The tracker for this CI job's project; ``Refused`` when it cannot be used."""

    def run_url(self, environ: Mapping[str, str]) -> str | None:
        """A link to this CI run, for the issue's body."""


def fingerprint_of(*parts: str) -> str:
    return short_digest("\x1f".join(parts), 16)


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
    body = _body("The scheduled context handoff failed.", options, tag)
    for attempt in (1, 2):
        try:
            return Outcome("created", tracker.create(options.title, body, options.label))
        except Uncertain:
            # the issue may exist although the answer was lost: look before asking again
            existing = tracker.find_open(options.label, tag)
            if existing is not None:
                return Outcome("created", existing)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


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


DEADLINE_SECONDS = 30.0  # the whole notification, every request and wait included
_DEADLINE_MARGIN = 0.5  # kept for what comes after the last request (the notice)
RETRY_AFTER_CAP = 10.0  # the longest a Retry-After is waited for
ATTEMPTS = 3  # of an idempotent request (GET, PATCH, PUT); a POST is never resent blindly
MAX_PAGES = 50  # of an issue list: 5,000 issues with the label
_BACKOFF = (0.5, 1.0, 2.0)


class Uncertain(HandoffFailed):
    """A POST that may or may not have happened (a 5xx, a lost answer): look before
    sending it again."""


class _DeadlineExceeded(TimeoutError):
    """Raised in the middle of a blocking read when the deadline passes."""


class Api:
    """Requests to one tracker's API: credentials only ever to the API's own origin (no
    redirects followed, no foreign pagination links), one overall deadline, bounded
    retries, and answers checked for the shape the caller expects."""

    def __init__(
        self,
        tracker: str,
        base: str,
        headers: dict[str, str],
        hint: str,
        deadline_seconds: float = DEADLINE_SECONDS,
    ) -> None:
        self.tracker = tracker
        self.base = base.rstrip("/")
        self.origin = _origin(self.base)
        self.hint = hint
        self.deadline = time.monotonic() + max(deadline_seconds - _DEADLINE_MARGIN, 0.5)
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.headers["User-Agent"] = "context-handoff"

    def get_list(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``Link: next`` on the same origin."""
        url: str | None = path
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_PAGES:
            seen.add(url)
            response = self.request("GET", url)
            items = _json(response, self.tracker, list)
            for item in items:
                if isinstance(item, dict):
                    yield item
            url = response.links.get("next", {}).get("url")
            if url and _origin(url) != self.origin:
                raise HandoffFailed(
                    f"{self.tracker}'s next page is on {_origin(url)}, not "
                    f"{self.origin}; not followed (the token stays with the API)"
                )

    def send(
        self, method: str, path: str, body: dict[str, Any], *, ok: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        response = self.request(method, path, json=body, ok=ok)
        if response.status_code in ok and response.status_code >= 300:
            return {}
        return _json(response, self.tracker, dict)

    def request(
        self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> requests.Response:
        """One request, retried (GET, PATCH, PUT) on 5xx, 429 and lost connections while
        the deadline allows; statuses in ``ok`` are answers, not errors."""
        url = path if "://" in path else f"{self.base}{path}"
        where = f"{method} {url.split('?', 1)[0]}"
        if _origin(url) != self.origin:
            raise HandoffFailed(f"{where}: not the API's origin {self.origin}; not sent")
        idempotent = method != "POST"
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS or not idempotent
            remaining = self.deadline - time.monotonic()
            if remaining <= 0.1:
                raise HandoffFailed(
                    f"{self.tracker} API: no answer within the deadline "
                    f"({where}); the issue was not updated"
                )
            try:
                with _alarm(remaining):
                    response = self.session.request(
                        method,
                        url,
                        timeout=(min(10.0, remaining), min(20.0, remaining)),
                        allow_redirects=False,
                        **kwargs,
                    )
            except (requests.RequestException, _DeadlineExceeded) as exc:
                if last:
                    error = Uncertain if not idempotent else HandoffFailed
                    raise error(
                        f"{self.tracker} API unreachable ({where}): {_short(exc)}"
                    ) from None
                self._pause(_BACKOFF[attempt - 1])
                continue
            status = response.status_code
            if status in ok:
                return response
            if _rate_limited(response):
                wait = _retry_after(response)
                if not last and wait is not None and wait < self.deadline - time.monotonic():
                    self._pause(wait)
                    continue
                raise HandoffFailed(
                    f"{self.tracker} API rate limit reached ({where}"
                    f"{f', retry after {wait:g} s' if wait else ''}); "
                    "the issue was not updated this time"
                )
            if status in (401, 403):
                raise Refused(
                    f"{self.tracker} answered {status} to {where}: "
                    f"{_message(response)}; {self.hint}"
                )
            if 300 <= status < 400:
                raise HandoffFailed(
                    f"{self.tracker} answered {status} (a redirect) to {where}; "
                    "not followed: the token stays with the API"
                )
            if status >= 500:
                if not last:
                    self._pause(_retry_after(response) or _BACKOFF[attempt - 1])
                    continue
                error = Uncertain if not idempotent else HandoffFailed
                raise error(f"{self.tracker} answered {status} to {where}: {_message(response)}")
            if status >= 400:
                raise HandoffFailed(
                    f"{self.tracker} answered {status} to {where}: {_message(response)}"
                )
            return response
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _pause(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, RETRY_AFTER_CAP, self.deadline - time.monotonic() - 0.1)))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _rate_limited(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    return (
        headers.get("X-RateLimit-Remaining") == "0"
        or "Retry-After" in headers
        or "rate limit" in _message(response).lower()
    )


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait (Retry-After, or GitHub's X-RateLimit-Reset), capped."""
    value = response.headers.get("Retry-After")
    seconds: float | None = None
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError, OverflowError):
                seconds = None
    elif response.headers.get("X-RateLimit-Reset", "").isdigit():
        seconds = int(response.headers["X-RateLimit-Reset"]) - time.time()
    if seconds is None or seconds != seconds:
        return None
    return max(0.0, min(seconds, RETRY_AFTER_CAP * 100))


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a blocking read at the deadline: a server that trickles its answer a
    byte at a time never trips a per-read timeout. Main thread on POSIX only; elsewhere
    the per-request timeouts are all there is."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _DeadlineExceeded("the deadline passed while reading the answer")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _json(response: requests.Response, tracker: str, expected: type[_T]) -> _T:
    where = f"{response.request.method} {str(response.url).split('?', 1)[0]}"
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        raise HandoffFailed(
            f"{tracker} answered {where} with something that is not JSON "
            f"({kind}); is the API's address right?"
        ) from None
    if not isinstance(body, expected):
        raise HandoffFailed(
            f"{tracker} answered {where} with a JSON "
            f"{type(body).__name__} where a {expected.__name__} was expected"
        )
    return body


def field(item: dict[str, Any], key: str, kind: type[_F], tracker: str) -> _F:
    """``item[key]`` if it is a ``kind``; HandoffFailed (a notice) otherwise."""
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise HandoffFailed(f"{tracker} answered an issue without a usable {key!r}")
    return value


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body) if isinstance(body, dict) else body)[:200]
