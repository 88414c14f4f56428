"""The fastest exact JSON parser at hand, for the loops that parse a million records (``replay``, ``suggest``).

:func:`fast_parser` returns ``orjson.loads`` when orjson is installed (optional: about twice as fast on audit
records), else the standard library's C scanner without ``json.loads``'s Python-level wrapper (which looks for
whitespace with two regular expressions per call). It refuses, by raising, anything it might parse differently from
``json.loads`` (surrounding whitespace, ``NaN``, integers orjson cannot hold, trailing data), so a caller that falls
back to ``json.loads`` on failure gets exactly ``json.loads``'s result, whichever parser ran:
:func:`loads` does that. ``CAPFENCE_JSON_PARSER=stdlib`` forces the standard library (benchmarks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, cast


def fast_parser() -> Callable[[str], Any]:
    """A parser for one JSON text, optionally followed by one ``\\n``; it raises on anything else (see the module)."""
    try:
        if os.environ.get("CAPFENCE_JSON_PARSER") == "stdlib":
            raise ImportError("the standard library parser was asked for")
        import orjson  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        return cast(Callable[[str], Any], orjson.loads)
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

    def parse(text: str) -> Any:
        obj, end = scan(text, 0)
        if end != len(text) and text[end:] != "\n":
            raise ValueError("trailing data")
        return obj

    return parse


def loads_with(fast: Callable[[str], Any]) -> Callable[[str], Any]:
    """``json.loads``, sooner: ``fast`` first, ``json.loads`` (and its errors) for what ``fast`` refuses."""

    def loads(text: str) -> Any:
        try:
            return fast(text)
        except Exception:  # noqa: BLE001 - rare (whitespace, NaN, bad JSON): json.loads decides, and raises
            return json.loads(text)

    return loads
