"""Times: the one ISO 8601 parser, the one UTC stamp, and the time a run is stamped with."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone

from .errors import InputError


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as an aware datetime: ``Z`` (either case) is UTC, and so is a
    time without an offset. ValueError when ``text`` is not one."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def utc_stamp(moment: datetime) -> str:
    """``2025-01-15T14:30:00Z``: how payloads and snapshots write a time."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_now(now: datetime | None, environ: Mapping[str, str] = os.environ) -> datetime:
    """``now`` if given, else SOURCE_DATE_EPOCH (reproducible builds), else the clock."""
    if now is not None:  # stamped in UTC, whatever offset it was given with
        return as_utc(now)
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds") from None
    return datetime.now(timezone.utc)
