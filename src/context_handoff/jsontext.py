"""Compact JSON: what every JSON file we write and every JSON output we set holds."""

from __future__ import annotations

import json
from typing import Any


def compact_json(value: Any) -> str:
    """``value`` as JSON without spaces, non-ASCII text as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
