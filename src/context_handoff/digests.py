"""Short digests: how state digests, handoff ids and fingerprints are made."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone


def short_digest(data: str | bytes, length: int = 12) -> str:
    """The first ``length`` hex digits of the sha256 of ``data`` (text as UTF-8; a lone
    surrogate, which UTF-8 cannot hold, is hashed as written rather than refused)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:length]


def handoff_time(handoff: str) -> datetime | None:
    """The moment a ``handoff_id`` was made at (its first 22 characters), or None when it
    is not one."""
    try:
        return datetime.strptime(handoff[:22], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def handoff_id(state_digest: str, level: str, budget: int, encoding: str, now: datetime) -> str:
    """Unique per state content, settings and microsecond: two runs a second differ."""
    seed = f"{state_digest}|{level}|{budget}|{encoding}|{now.isoformat()}"
    return f"{now.year:04d}{now:%m%dT%H%M%S%fZ}-{short_digest(seed, 8)}"  # year 1: 0001
