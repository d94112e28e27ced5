"""The guide's web API, made safe (``pip install context-handoff[web]``).

    context-handoff serve --state-root /srv/states          # or: uvicorn + create_app()

``GET /api/handoff?level=&state_file=``, ``POST /api/handoff`` with ``{"level",
"state_file"}`` or an inline ``{"level", "state"}``, ``GET /healthz``, ``GET /metrics``,
OpenAPI at ``/docs``. ``state_file`` must resolve inside the state root (no ``..``,
no absolute paths, no symlinks out): anything else is a 4xx, never the file; nor is a
file beside it read outside the root (Task Master's ``state.json``). An invalid state is
422 with its JSON-path problems, naming files as the client did, never by the server's
paths; only a real fault is 500 (without a traceback). The request handling is plain
Python (``handle_handoff``), shared by the Flask blueprint.

Limits: a request body over ``max_body_bytes`` is 413 before it is parsed; a handoff
that takes longer than ``request_seconds`` is answered 503 (its work goes on in a
daemon thread, which never holds up a shutdown, and keeps its slot until done); more
than ``max_concurrent`` handoffs at once is 503 as well. ``serve`` shuts down within
5 s of SIGTERM.
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions'
# annotations at run time, and the request model is local to create_app.
import asyncio
import concurrent.futures
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from . import defaults, pipeline
from .defaults import (
    LEVEL_CHOICES,
    MAX_BODY_BYTES,
    MAX_CONCURRENT,
    MAX_PATH_CHARS,
    REQUEST_SECONDS,
)
from .errors import HandoffError, StateFileNotFound
from .metrics import HandoffMetrics
from .redact import scrub_error


class ApiError(Exception):
    def __init__(self, status: int, error: str, problems: list[dict[str, str]] | None = None):
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"success": False, "error": error}
        if problems:
            self.body["problems"] = problems


def resolve_state_file(state_root: Path, state_file: str) -> Path:
    """``state_file`` inside ``state_root``, or ApiError 400/404."""
    if not isinstance(state_file, str) or not state_file or "\0" in state_file:
        raise ApiError(400, "state_file must be a relative path inside the state root")
    if len(state_file) > MAX_PATH_CHARS:
        raise ApiError(400, f"state_file is longer than {MAX_PATH_CHARS} characters")
    relative = Path(state_file)
    if relative.is_absolute() or ".." in relative.parts:
        raise ApiError(400, "state_file must be a relative path inside the state root")
    root = state_root.resolve()
    try:
        candidate = (root / relative).resolve()  # follows symlinks: one pointing out is caught
        inside = candidate.is_relative_to(root)
        # a file, or a folder state (backlog/, conductor/) below the root: the folder
        # reader skips links inside it, so none leads out
        usable = inside and (candidate.is_file() or (candidate.is_dir() and candidate != root))
    except (OSError, RuntimeError, ValueError):  # a name too long, a symlink loop
        raise ApiError(400, "state_file is not a usable path") from None
    if not inside:
        raise ApiError(400, "state_file must be a relative path inside the state root")
    if not usable:
        raise ApiError(404, f"no state file or folder {state_file[:200]!r} in the state root")
    return candidate


class Limiter:
    """Runs handoffs in daemon threads: at most ``concurrent`` at once, each answered
    within ``seconds`` (a late one keeps its slot until it finishes)."""

    def __init__(self, seconds: float = REQUEST_SECONDS, concurrent: int = MAX_CONCURRENT):
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(concurrent)

    def start(self, work: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        if not self._slots.acquire(blocking=False):
            raise ApiError(503, "busy: too many handoffs are being generated; try again soon")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the waiting request, raised there
                future.set_exception(exc)
            finally:
                self._slots.release()

        threading.Thread(target=run, name="context-handoff", daemon=True).start()
        return future

    def run(self, work: Callable[[], Any]) -> Any:
        """Blocking (Flask)."""
        try:
            return self.start(work).result(timeout=self.seconds)
        except concurrent.futures.TimeoutError:
            raise self._late() from None

    async def run_async(self, work: Callable[[], Any]) -> Any:
        """Awaiting in the event loop (FastAPI): no worker thread of the server waits."""
        future = asyncio.wrap_future(self.start(work))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.seconds)
        except asyncio.TimeoutError:
            raise self._late() from None

    def _late(self) -> ApiError:
        return ApiError(
            503, f"the handoff took longer than {self.seconds:g} s; is the state unusually large?"
        )


def check_request(
    state_root: Path,
    *,
    level: Any = defaults.DEFAULT_LEVEL,
    state_file: Any = None,
    state: Any = None,
    budget: Any = None,
) -> pipeline.GenerateOptions:
    """The request's options, or ApiError 400 for any unusable part."""
    if level not in LEVEL_CHOICES:
        raise ApiError(400, f"level must be one of {', '.join(LEVEL_CHOICES)}")
    if (state is None) == (state_file is None):
        raise ApiError(400, "give either state_file or an inline state")
    if state is not None and not isinstance(state, dict):
        raise ApiError(400, "state must be a JSON object (an orchestrator state)")
    if budget is not None:
        if isinstance(budget, str) and budget.strip().isdigit():
            budget = int(budget)
        if not isinstance(budget, int) or isinstance(budget, bool) or not 1 <= budget <= 10**7:
            raise ApiError(400, "budget must be a whole number of tokens, at least 1")
    path = resolve_state_file(state_root, state_file) if state_file is not None else Path()
    return pipeline.GenerateOptions(
        state=path, level=level, budget=budget, root=state_root.resolve()
    )


def handle_handoff(
    state_root: Path,
    metrics: HandoffMetrics,
    *,
    level: Any = defaults.DEFAULT_LEVEL,
    state_file: Any = None,
    state: Any = None,
    budget: Any = None,
    limiter: Limiter | None = None,
) -> dict[str, Any]:
    """One handoff request -> the guide's answer ``{success, context, tokens, level}``."""
    options = check_request(
        state_root, level=level, state_file=state_file, state=state, budget=budget
    )
    work = _work(options, state, state_file, metrics)
    return limiter.run(work) if limiter is not None else work()


async def handle_handoff_async(
    state_root: Path, metrics: HandoffMetrics, limiter: Limiter, **request: Any
) -> dict[str, Any]:
    """``handle_handoff`` for an event loop: the work runs in the limiter's thread."""
    options = check_request(state_root, **request)
    return await limiter.run_async(  # type: ignore[no-any-return]
        _work(options, request.get("state"), request.get("state_file"), metrics)
    )


def _work(
    options: pipeline.GenerateOptions, state: Any, state_file: str | None, metrics: HandoffMetrics
) -> Callable[[], dict[str, Any]]:
    def work() -> dict[str, Any]:
        start = time.perf_counter()
        try:
            generated = pipeline.generate(options, document=state)
        except HandoffError as exc:
            metrics.failed()
            exc = scrub_error(exc)
            status = 404 if isinstance(exc, StateFileNotFound) else 422
            hide = _PathHider(options, state_file)
            raise ApiError(status, hide(exc.message), _problems(exc, hide)) from None
        except Exception:  # a bug: a plain 500, never a traceback to the client
            metrics.failed()
            raise ApiError(500, "internal error; the server's log has the details") from None
        payload = generated.payload
        metrics.observe(payload, time.perf_counter() - start)
        return {
            "success": True,
            "context": payload.data,
            "tokens": payload.tokens,
            "level": payload.level.value,
        }

    return work


def _problems(exc: HandoffError, hide: Callable[[str], str]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": hide(p.message)} for p in exc.problems]


class _PathHider:
    """The server's own paths are not the client's business: the state file's as the
    client named it, any other under the state root relative to it."""

    def __init__(self, options: pipeline.GenerateOptions, state_file: str | None) -> None:
        root = options.root or Path()
        self._pairs = [
            (str(options.state), state_file or "state"),
            (str(root) + os.sep, ""),
            (str(root), "."),
        ]

    def __call__(self, text: str) -> str:
        for server, client in self._pairs:
            if server not in ("", "."):
                text = text.replace(server, client)
        return text


def create_app(
    state_root: str | Path,
    metrics: HandoffMetrics | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    request_seconds: float = REQUEST_SECONDS,
    max_concurrent: int = MAX_CONCURRENT,
) -> Any:
    """The FastAPI app serving handoffs of the states under ``state_root``."""
    from fastapi import FastAPI, Query
    from fastapi.responses import JSONResponse, Response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from pydantic import BaseModel, Field

    root = Path(state_root)
    handoff_metrics = metrics or HandoffMetrics()
    limiter = Limiter(request_seconds, max_concurrent)
    app = FastAPI(
        title="context-handoff",
        version=_version(),
        description="Budget-guaranteed handoff payloads from orchestrator states.",
    )
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    class HandoffRequest(BaseModel):
        level: str = Field(defaults.DEFAULT_LEVEL, description=", ".join(LEVEL_CHOICES))
        state_file: str | None = Field(None, description="a path inside the state root")
        state: dict[str, Any] | None = Field(None, description="an inline state document")
        budget: int | None = Field(None, ge=1)

    async def answer(**kwargs: Any) -> Any:
        try:
            return await handle_handoff_async(root, handoff_metrics, limiter, **kwargs)
        except ApiError as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    @app.get("/api/handoff")
    async def get_handoff(
        level: str = defaults.DEFAULT_LEVEL,
        state_file: str = Query(defaults.STATE_FILE),
        budget: int | None = Query(None, ge=1),
    ) -> Any:
        return await answer(level=level, state_file=state_file, budget=budget)

    @app.post("/api/handoff")
    async def post_handoff(request: HandoffRequest) -> Any:
        return await answer(
            level=request.level,
            state_file=request.state_file,
            state=request.state,
            budget=request.budget,
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(handoff_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def create_blueprint(
    state_root: str | Path,
    metrics: HandoffMetrics | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    request_seconds: float = REQUEST_SECONDS,
    max_concurrent: int = MAX_CONCURRENT,
) -> Any:
    """The same ``/api/handoff`` for Flask applications."""
    from flask import Blueprint, jsonify, request

    root = Path(state_root)
    handoff_metrics = metrics or HandoffMetrics()
    limiter = Limiter(request_seconds, max_concurrent)
    blueprint = Blueprint("context_handoff", __name__)

    @blueprint.route("/api/handoff", methods=["GET", "POST"])
    def handoff() -> Any:
        try:
            if request.method == "GET":
                args: Any = request.args
                state_file = args.get("state_file", defaults.STATE_FILE)
            else:
                if (request.content_length or 0) > max_body_bytes:
                    raise ApiError(413, f"the body is over {max_body_bytes:,} bytes")
                args = request.get_json(silent=True)
                if not isinstance(args, dict):
                    raise ApiError(400, "the body must be a JSON object")
                state_file = args.get("state_file")
            return jsonify(
                handle_handoff(
                    root,
                    handoff_metrics,
                    level=args.get("level", defaults.DEFAULT_LEVEL),
                    state_file=state_file,
                    state=args.get("state"),
                    budget=args.get("budget"),
                    limiter=limiter,
                )
            )
        except ApiError as exc:
            return jsonify(exc.body), exc.status

    return blueprint


_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, declared or streamed, before
    the application parses any of it."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: _Send) -> None:
        body = json.dumps(
            {"success": False, "error": f"the body is over {self.max_bytes:,} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _version() -> str:
    from . import __version__

    return __version__
