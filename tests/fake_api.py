"""Fake GitHub and GitLab issue APIs on 127.0.0.1, for the notifier's tests; GitHub's
release endpoints too, for the release rehearsal.

``fault`` makes the fake misbehave the way real servers and proxies do (see FAULTS);
``foreign`` is a second server, another origin, that records what reaches it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

FAULTS = (
    "created-then-502",  # POST /issues creates the issue, then answers 502
    "foreign-next",  # the issue list's Link: next points to another origin
    "foreign-redirect",  # every answer is a 307 to another origin
    "html",  # 200 with an HTML page (a captive portal, a proxy's login)
    "object-for-list",  # the issue list is a JSON object
    "self-next",  # the issue list's Link: next points to itself
    "retry-after-huge",  # 503 with Retry-After: 100000
    "rate-limit-403",  # GitHub's secondary rate limit: 403 with X-RateLimit-Remaining: 0
    "trickle",  # the answer comes one byte at a time, never ending
    "bad-issue",  # a created issue without a number
)


class FakeTracker:
    """In-memory issues; ``fail_next`` queues status codes to answer before serving."""

    def __init__(self, kind: str, fault: str | None = None) -> None:
        self.kind = kind
        self.fault = fault
        self.foreign_url = ""
        self.foreign_requests: list[dict[str, str]] = []
        self.issues: list[dict[str, Any]] = []
        self.comments: list[tuple[int, str]] = []
        self.labels: set[str] = set()
        self.fail_next: list[int] = []
        self.requests: list[tuple[str, str]] = []
        self.releases: list[dict[str, Any]] = []
        self.assets: dict[str, bytes] = {}
        self.url = ""

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        self.requests.append((method, path))
        if self.fail_next:
            return self.fail_next.pop(0), {"message": "injected"}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path) and method == "POST":
            number = len(self.releases) + 1
            release = {
                **body,
                "id": number,
                "html_url": f"{self.url}/releases/{number}",
                "upload_url": f"{self.url}/uploads/{number}/assets{{?name,label}}",
            }
            self.releases.append(release)
            return 201, release
        if re.fullmatch(r"/uploads/\d+/assets", path) and method == "POST":
            self.assets[query["name"][0]] = body
            return 201, {"name": query["name"][0]}
        number_key = "number" if self.kind == "github" else "iid"
        text_key = "body" if self.kind == "github" else "description"
        if re.fullmatch(r".*/issues", path) and method == "GET":
            wanted = query.get("labels", [""])[0]
            state = "open" if self.kind == "github" else "opened"
            return 200, [i for i in self.issues if i["state"] == state and wanted in i["labels"]]
        if re.fullmatch(r".*/issues", path) and method == "POST":
            labels = body["labels"] if self.kind == "github" else body["labels"].split(",")
            number = len(self.issues) + 1
            issue = {
                number_key: number,
                "title": body["title"],
                text_key: body[text_key],
                "labels": labels,
                "state": "open" if self.kind == "github" else "opened",
                "html_url" if self.kind == "github" else "web_url": f"{self.url}/issues/{number}",
            }
            self.issues.append(issue)
            return 201, issue
        match = re.fullmatch(r".*/issues/(\d+)/(comments|notes)", path)
        if match and method == "POST":
            self.comments.append((int(match.group(1)), body["body"]))
            return 201, {"id": len(self.comments)}
        match = re.fullmatch(r".*/issues/(\d+)", path)
        if match and method in ("PATCH", "PUT"):
            issue = self.issues[int(match.group(1)) - 1]
            issue["state"] = "closed"
            return 200, issue
        match = re.fullmatch(r".*/labels/(.+)", path)
        if match and method == "GET":
            return (
                (200, {"name": match.group(1)})
                if match.group(1) in self.labels
                else (404, {"message": "Not Found"})
            )
        if path.endswith("/labels") and method == "POST":
            self.labels.add(body["name"])
            return 201, body
        return 404, {"message": f"no route {method} {path}"}

    def faulty(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]] | None:
        """The fault's answer, or None to answer normally."""
        listing = method == "GET" and path.endswith("/issues")
        fault = self.fault
        if fault == "created-then-502" and method == "POST" and path.endswith("/issues"):
            self.handle(method, path, query, body)
            return 502, {"message": "Bad Gateway"}, {}
        if fault == "foreign-next" and listing:
            self.requests.append((method, path))
            link = f'<{self.foreign_url}{path}?page=2>; rel="next"'
            return 200, [], {"Link": link}
        if fault == "foreign-redirect":
            self.requests.append((method, path))
            return 307, {"message": "moved"}, {"Location": f"{self.foreign_url}{path}"}
        if fault == "html":
            self.requests.append((method, path))
            return 200, "<!doctype html><title>Sign in</title>", {"Content-Type": "text/html"}
        if fault == "object-for-list" and listing:
            self.requests.append((method, path))
            return 200, {"items": []}, {}
        if fault == "self-next" and listing:
            self.requests.append((method, path))
            return (
                200,
                [],
                {"Link": f'<{self.url}{path}?{urlencode(query, doseq=True)}>; rel="next"'},
            )
        if fault == "retry-after-huge":
            self.requests.append((method, path))
            return 503, {"message": "Service Unavailable"}, {"Retry-After": "100000"}
        if fault == "rate-limit-403":
            self.requests.append((method, path))
            return (
                403,
                {"message": "API rate limit exceeded for installation ID 1."},
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)},
            )
        if fault == "bad-issue" and method == "POST" and path.endswith("/issues"):
            self.requests.append((method, path))
            return 201, {"number": "one", "title": "x"}, {}
        return None


@contextmanager
def serve_handler(handler: Any) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 for ``handler``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a trickling answer must not hold up the shutdown
    # polled often: shutting a test's server down is then quick
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(kind: str, fault: str | None = None) -> Iterator[FakeTracker]:
    fake = FakeTracker(kind, fault)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body: Any = None
            if length:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw  # an uploaded file
            query = parse_qs(url.query)
            if fake.fault == "trickle":
                fake.requests.append((self.command, url.path))
                self._trickle()
                return
            answer = fake.faulty(self.command, url.path, query, body)
            if answer is None:
                status, payload = fake.handle(self.command, url.path, query, body)
                headers: dict[str, str] = {}
            else:
                status, payload, headers = answer
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self) -> None:
            """Status line and headers a byte at a time, a byte every 0.2 s, forever."""
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
            try:
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.01)
                while True:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client gave up: that is the point
                pass

        do_GET = do_POST = do_PATCH = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    class Foreign(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            fake.foreign_requests.append(dict(self.headers.items()))
            data = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    with serve_handler(Handler) as url, serve_handler(Foreign) as foreign_url:
        fake.url, fake.foreign_url = url, foreign_url
        yield fake
