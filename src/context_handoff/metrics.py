"""Prometheus metrics for handoffs (``pip install context-handoff[metrics]``).

The guide's ``handoff_generated_total{level}``, ``handoff_tokens{level}`` and
``handoff_errors_total``, plus ``handoff_generation_seconds{level}``: served at the web
app's ``/metrics``, or written by ``generate --metrics-file`` in the node-exporter
textfile format for scheduled jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HandoffError, InputError
from .model import Payload

TOKEN_BUCKETS = (100, 250, 500, 750, 1000, 1200, 1500, 2000, 3000, 5000, 10000)


class HandoffMetrics:
    """The handoff metrics in one registry of their own."""

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ImportError:
            raise InputError(
                "metrics need prometheus-client: pip install 'context-handoff[metrics]'"
            ) from None
        self.registry = CollectorRegistry()
        self.generated = Counter(
            "handoff_generated", "Total handoffs generated", ["level"], registry=self.registry
        )
        self.tokens = Histogram(
            "handoff_tokens",
            "Token count distribution",
            ["level"],
            buckets=TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter("handoff_errors", "Total handoff errors", registry=self.registry)
        self.duration = Histogram(
            "handoff_generation_seconds",
            "Time to generate a handoff",
            ["level"],
            registry=self.registry,
        )

    def observe(self, payload: Payload, seconds: float) -> None:
        level = payload.level.value
        self.generated.labels(level=level).inc()
        self.tokens.labels(level=level).observe(payload.tokens)
        self.duration.labels(level=level).observe(seconds)

    def failed(self) -> None:
        self.errors.inc()

    def write_textfile(self, path: str | Path) -> None:
        """Write atomically, as node-exporter's textfile collector expects."""
        from prometheus_client import write_to_textfile

        try:
            write_to_textfile(str(path), self.registry)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the metrics: {exc.strerror or exc}") from None


@contextmanager
def recording_metrics(path: Path | None) -> Iterator[Callable[[Payload], None]]:
    """Around one generation: yields ``record(payload)``; writes the textfile at ``path``
    (if any) after a success, and after a HandoffError too, counting it."""
    if path is None:
        yield lambda _payload: None
        return
    metrics = HandoffMetrics()
    start = time.perf_counter()
    try:
        yield lambda payload: metrics.observe(payload, time.perf_counter() - start)
    except HandoffError:
        metrics.failed()
        metrics.write_textfile(path)
        raise
    metrics.write_textfile(path)
