"""Fake GitHub and GitLab issue APIs on 127.0.0.1, for the notifier's tests; GitHub's
release endpoints too, for the release rehearsal."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeTracker:
    """In-memory issues; ``fail_next`` queues status codes to answer before serving."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.issues: list[dict[str, Any]] = []
        self.comments: list[tuple[int, str]] = []
        self.labels: set[str] = set()
        self.fail_next: list[int] = []
        self.requests: list[tuple[str, str]] = []
        self.releases: list[dict[str, Any]] = []
        self.assets: dict[str, bytes] = {}
        self.url = ""

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any
               ) -> tuple[int, Any]:
        self.requests.append((method, path))
        if self.fail_next:
            return self.fail_next.pop(0), {"message": "injected"}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path) and method == "POST":
            number = len(self.releases) + 1
            release = {**body, "id": number, "html_url": f"{self.url}/releases/{number}",
                       "upload_url": f"{self.url}/uploads/{number}/assets{{?name,label}}"}
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
            issue = {number_key: number, "title": body["title"], text_key: body[text_key],
                     "labels": labels, "state": "open" if self.kind == "github" else "opened",
                     "html_url" if self.kind == "github" else "web_url":
                     f"{self.url}/issues/{number}"}
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
            return (200, {"name": match.group(1)}) if match.group(1) in self.labels else (
                404, {"message": "Not Found"})
        if path.endswith("/labels") and method == "POST":
            self.labels.add(body["name"])
            return 201, body
        return 404, {"message": f"no route {method} {path}"}


@contextmanager
def serve(kind: str) -> Iterator[FakeTracker]:
    fake = FakeTracker(kind)

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
            status, payload = fake.handle(self.command, url.path, parse_qs(url.query), body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
