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


def check_calendar(parsed: datetime, where: str | None) -> datetime:
    """``parsed`` if it has a UTC equivalent; InputError (exit 2) for a time at the
    calendar's ends whose offset takes it past year 1 or 9999 (Python would overflow)."""
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError:
        raise InputError(
            f"{where + ': ' if where else ''}{parsed.isoformat()} is outside "
            "the calendar in UTC (years 1 to 9999 once its offset is applied); "
            "write a time within it"
        ) from None
    return parsed


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def utc_stamp(moment: datetime) -> str:
    """``2025-01-15T14:30:00Z``: how payloads and snapshots write a time. The year always
    has four digits, which strftime's ``%Y`` does not give before 1000 on every platform."""
    moment = as_utc(moment)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def resolve_now(now: datetime | None, environ: Mapping[str, str] = os.environ) -> datetime:
    """``now`` if given, else SOURCE_DATE_EPOCH (reproducible builds), else the clock."""
    if now is not None:  # stamped in UTC, whatever offset it was given with
        return as_utc(check_calendar(now, "now"))
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds") from None
    return datetime.now(timezone.utc)
