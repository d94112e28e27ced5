"""Exact token counts with tiktoken; never an estimate.

An encoding that cannot be loaded (no network and no cached file) is an InputError
that says how to provide it, not a fallback to characters / 4.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

from . import defaults
from .errors import EncodingUnavailable

if TYPE_CHECKING:
    import tiktoken

ENCODINGS = defaults.ENCODINGS
DEFAULT_ENCODING = defaults.DEFAULT_ENCODING


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class TiktokenCounter:
    """Counts tokens as the model sees them: ``encode_ordinary`` (special-token text is text)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._encode = _load_encoding(name).encode_ordinary

    def count(self, text: str) -> int:
        return len(self._encode(text))


@cache
def build_counter(name: str = DEFAULT_ENCODING) -> TiktokenCounter:
    """The counter for encoding ``name``; loaded once a process."""
    if name not in ENCODINGS:
        raise EncodingUnavailable(
            f"unknown encoding {name!r}; choose one of: {', '.join(ENCODINGS)}"
        )
    return TiktokenCounter(name)


def _load_encoding(name: str) -> tiktoken.Encoding:
    import tiktoken  # imported with the first counter: importing the package stays cheap

    try:
        return tiktoken.get_encoding(name)
    except (OSError, ValueError) as exc:  # requests' errors are OSErrors; bad hash: ValueError
        raise EncodingUnavailable(
            f"cannot load the {name} tokenizer ({type(exc).__name__}: {_first_line(exc)}); "
            "on a machine without network, put its BPE file in TIKTOKEN_CACHE_DIR "
            "(see 'Offline tokenizers' in the README)"
        ) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else "no detail"
