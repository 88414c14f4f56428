"""Fast JSON parsers for the loops that parse a million records (``replay``, ``suggest``).

:func:`exact_parser` is the standard library's C scanner without ``json.loads``'s Python-level wrapper (which looks
for whitespace with two regular expressions per call). It refuses, by raising, anything it might parse differently
from ``json.loads`` (surrounding whitespace, trailing data), so a caller that falls back to ``json.loads`` on failure
gets exactly ``json.loads``'s result: :func:`loads_with` does that.

:func:`fast_parser` is ``orjson.loads`` when the optional orjson is installed (the ``fast`` extra,
``pip install '.[fast]'`` in a checkout: about a third faster on audit records), else :func:`exact_parser`.
orjson refuses what the standard library would read differently (``NaN``, ``Infinity``, numbers out of a
double's range) except one thing: an integer beyond 64 bits comes back as a float. So its :class:`Parser` says
``exact=False``, and a caller uses such a result only where no number can matter, parsing the line again with
``json.loads`` otherwise (as ``replay`` does). ``suggest`` always uses :func:`exact_parser`.
``CAPFENCE_JSON_PARSER=stdlib`` forces the standard library (benchmarks, tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, NamedTuple, cast


class Parser(NamedTuple):
    parse: Callable[[str], Any]
    """Parses one JSON text, optionally followed by one ``\\n``; raises on what it refuses (see the module)."""
    exact: bool
    """Whether every value it returns is ``json.loads``'s; False: an integer beyond 64 bits may come back as a float."""


def fast_parser() -> Parser:
    """orjson's parser when it is installed (and not turned off by ``CAPFENCE_JSON_PARSER=stdlib``), else the exact one."""
    if os.environ.get("CAPFENCE_JSON_PARSER") != "stdlib":
        try:
            import orjson  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            pass
        else:
            return Parser(cast(Callable[[str], Any], orjson.loads), exact=False)
    return Parser(exact_parser(), exact=True)


def exact_parser() -> Callable[[str], Any]:
    """The standard library's scanner for one JSON text, optionally followed by one ``\\n``; it raises on anything else."""
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
