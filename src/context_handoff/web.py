"""The guide's web API, made safe (``pip install context-handoff[web]``).

    context-handoff serve --state-root /srv/states          # or: uvicorn + create_app()

``GET /api/handoff?level=&state_file=``, ``POST /api/handoff`` with ``{"level",
"state_file"}`` or an inline ``{"level", "state"}``, ``GET /healthz``, ``GET /metrics``,
OpenAPI at ``/docs``. ``state_file`` must resolve inside the state root (no ``..``,
no absolute paths, no symlinks out): anything else is a 4xx, never the file. An
invalid state is 422 with its JSON-path problems; only a real fault is 500. The
request handling is plain Python (``handle_handoff``), shared by the Flask blueprint.
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions'
# annotations at run time, and the request model is local to create_app.
import time
from pathlib import Path
from typing import Any

from . import pipeline
from .errors import HandoffError, StateFileNotFound
from .metrics import HandoffMetrics

LEVELS = ("minimal", "standard", "full", "auto")


class ApiError(Exception):
    def __init__(self, status: int, error: str, problems: list[dict[str, str]] | None = None):
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"success": False, "error": error}
        if problems:
            self.body["problems"] = problems


def resolve_state_file(state_root: Path, state_file: str) -> Path:
    """``state_file`` inside ``state_root``, or ApiError 400/404."""
    relative = Path(state_file)
    if not state_file or relative.is_absolute() or ".." in relative.parts:
        raise ApiError(400, "state_file must be a relative path inside the state root")
    root = state_root.resolve()
    candidate = (root / relative).resolve()  # follows symlinks: one pointing out is caught
    if not candidate.is_relative_to(root):
        raise ApiError(400, "state_file must be a relative path inside the state root")
    if not candidate.is_file():
        raise ApiError(404, f"no state file {state_file!r} in the state root")
    return candidate


def handle_handoff(state_root: Path, metrics: HandoffMetrics, *, level: str = "standard",
                   state_file: str | None = None, state: Any = None,
                   budget: int | None = None) -> dict[str, Any]:
    """One handoff request -> the guide's answer ``{success, context, tokens, level}``."""
    if level not in LEVELS:
        raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
    if (state is None) == (state_file is None):
        raise ApiError(400, "give either state_file or an inline state")
    path = resolve_state_file(state_root, state_file) if state_file is not None else Path()
    options = pipeline.GenerateOptions(state=path, level=level, budget=budget)
    start = time.perf_counter()
    try:
        generated = pipeline.generate(options, document=state)
    except HandoffError as exc:
        metrics.failed()
        # the server's own path for the file is not the client's business
        message = exc.message.replace(str(path), state_file or "state")
        status = 404 if isinstance(exc, StateFileNotFound) else 422
        raise ApiError(status, message, _problems(exc)) from None
    payload = generated.payload
    metrics.observe(payload, time.perf_counter() - start)
    return {"success": True, "context": payload.data, "tokens": payload.tokens,
            "level": payload.level.value}


def _problems(exc: HandoffError) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message} for p in exc.problems]


def create_app(state_root: str | Path, metrics: HandoffMetrics | None = None) -> Any:
    """The FastAPI app serving handoffs of the states under ``state_root``."""
    from fastapi import FastAPI, Query
    from fastapi.responses import JSONResponse, Response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from pydantic import BaseModel, Field

    root = Path(state_root)
    handoff_metrics = metrics or HandoffMetrics()
    app = FastAPI(title="context-handoff", version=_version(),
                  description="Budget-guaranteed handoff payloads from orchestrator states.")

    class HandoffRequest(BaseModel):
        level: str = Field("standard", description="minimal, standard, full or auto")
        state_file: str | None = Field(None, description="a path inside the state root")
        state: dict[str, Any] | None = Field(None, description="an inline state document")
        budget: int | None = Field(None, ge=1)

    def answer(**kwargs: Any) -> Any:
        try:
            return handle_handoff(root, handoff_metrics, **kwargs)
        except ApiError as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    @app.get("/api/handoff")
    def get_handoff(level: str = "standard",
                    state_file: str = Query(".orchestrator_state.json"),
                    budget: int | None = Query(None, ge=1)) -> Any:
        return answer(level=level, state_file=state_file, budget=budget)

    @app.post("/api/handoff")
    def post_handoff(request: HandoffRequest) -> Any:
        return answer(level=request.level, state_file=request.state_file,
                      state=request.state, budget=request.budget)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(handoff_metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    return app


def create_blueprint(state_root: str | Path, metrics: HandoffMetrics | None = None) -> Any:
    """The same ``/api/handoff`` for Flask applications."""
    from flask import Blueprint, jsonify, request

    root = Path(state_root)
    handoff_metrics = metrics or HandoffMetrics()
    blueprint = Blueprint("context_handoff", __name__)

    @blueprint.route("/api/handoff", methods=["GET", "POST"])
    def handoff() -> Any:
        body = (request.get_json(silent=True) or {}) if request.method == "POST" else {}
        args = request.args if request.method == "GET" else body
        try:
            return jsonify(handle_handoff(
                root, handoff_metrics, level=args.get("level", "standard"),
                state_file=args.get("state_file", ".orchestrator_state.json"
                                    if request.method == "GET" else None),
                state=body.get("state")))
        except ApiError as exc:
            return jsonify(exc.body), exc.status

    return blueprint


def _version() -> str:
    from . import __version__

    return __version__
