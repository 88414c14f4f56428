"""The fast parsers of ``replay`` and ``suggest`` read every text exactly as ``json.loads`` does, or refuse it.

:func:`capfence.offline.jsonparse.fast_parser` is orjson when it is installed (the test extra installs it) and the
standard library's scanner otherwise (``CAPFENCE_JSON_PARSER=stdlib``); :func:`loads_with` falls back to ``json.loads``
for what it refuses. Both parsers are checked against ``json.loads`` on texts chosen to differ (numbers out of range,
``NaN``, lone surrogates, control characters, duplicate keys, whitespace, trailing data) and on generated ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfence.offline.jsonparse import Parser, exact_parser, fast_parser, loads_with

TRICKY = [
    "{}",
    '{"a": 1}\n',
    ' {"a": 1}',
    '{"a": 1} ',
    '{"a": 1}\n\n',
    '{"a": 1}\r\n',
    '{"a": 1} x',
    '{"a": 1}{"b": 2}',
    "\ufeff{}",
    '{"a": NaN}',
    '{"a": Infinity, "b": -Infinity}',
    '{"a": 1e400}',
    '{"a": -1e400}',
    '{"a": 1e-400}',
    '{"a": 123456789012345678901234567890}',
    '{"a": -9223372036854775809}',
    '{"a": 18446744073709551616}',
    '{"a": 18446744073709551615}',
    '{"a": -0}',
    '{"a": -0.0}',
    '{"a": 1.0}',
    '{"a": 1E5}',
    '{"a": 0.1000000000000000055511151231257827}',
    '{"a": 01}',
    '{"a": .5}',
    '{"a": 1.}',
    '{"a": "\\ud800"}',
    '{"a": "\\udc00\\ud800"}',
    '{"\\ud83d": "\\ude00"}',
    '{"a": "\\ud83d\\ude00"}',
    '{"a": "\x01"}',
    '{"a": "tab\there"}',
    '{"a": "\\u0000"}',
    '{"a": 1, "a": 2}',
    '{"a": 1, "b": 2, "a": 3}',
    '{"a": [1, 2,]}',
    '{"a": 1,}',
    "{'a': 1}",
    '{"a": true, "b": false, "c": null}',
    '{"a": True}',
    '{"a"\t:\n1}',
    '{"a": 1}\x0c',
    '{"a": "\\/"}',
    '{"a": "\\x41"}',
    '{"a": "é", "b": "\\u00e9"}',
    "[1, 2, 3]",
    '"text"',
    "42",
    "",
    "   ",
    "null",
    "[" * 200 + "]" * 200,
]


def same(a: Any, b: Any, *, wide_ints_as_floats: bool = False) -> bool:
    """Equal values of the same types all the way down (``1 == 1.0 == True`` do not count; NaN equals NaN).

    ``wide_ints_as_floats``: ``b`` may hold, where ``a`` has an integer beyond 64 bits, that integer as a float
    (what a parser that is not ``exact`` may do, and all it may do).
    """
    if wide_ints_as_floats and type(a) is int and type(b) is float and not -(2**63) <= a < 2**64:
        return float(a) == b
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same(a[k], b[k], wide_ints_as_floats=wide_ints_as_floats) for k in a
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(
            same(x, y, wide_ints_as_floats=wide_ints_as_floats) for x, y in zip(a, b, strict=True)
        )
    return bool(a == b)


def outcome(parse: Callable[[str], Any], text: str) -> tuple[str, Any]:
    try:
        return "value", parse(text)
    except ValueError:
        return "error", None


@pytest.fixture(params=["default", "stdlib"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Parser:
    if request.param == "stdlib":
        monkeypatch.setenv("CAPFENCE_JSON_PARSER", "stdlib")
    else:
        monkeypatch.delenv("CAPFENCE_JSON_PARSER", raising=False)
    return fast_parser()


def test_the_test_extra_brings_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """Otherwise both fixtures would test the standard library's scanner."""
    import orjson

    monkeypatch.delenv("CAPFENCE_JSON_PARSER", raising=False)
    assert fast_parser() == (orjson.loads, False)
    monkeypatch.setenv("CAPFENCE_JSON_PARSER", "stdlib")
    assert fast_parser().exact


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_read_as_json_loads_reads_them(parser: Parser, text: str) -> None:
    expected, got = outcome(json.loads, text), outcome(loads_with(parser.parse), text)
    assert expected[0] == got[0], (text, expected, got)
    assert same(expected[1], got[1], wide_ints_as_floats=not parser.exact), (text, expected, got)


def test_the_exact_parser_keeps_wide_integers() -> None:
    """What makes orjson inexact, and why ``suggest`` and replay's careful path use the exact parser."""
    text = '{"a": 123456789012345678901234567890, "b": -9223372036854775809, "c": 18446744073709551616}'
    assert loads_with(exact_parser())(text) == json.loads(text)
    assert all(type(v) is int for v in loads_with(exact_parser())(text).values())


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    value=JSON_VALUES,
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
    end=st.sampled_from(["", "\n", " "]),
)
def test_generated_texts_read_as_json_loads_reads_them(
    value: Any, ascii_only: bool, indent: int | None, end: str
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent) + end
    expected = json.loads(text)
    for env in ("default", "stdlib"):
        with pytest.MonkeyPatch.context() as patch:
            if env == "stdlib":
                patch.setenv("CAPFENCE_JSON_PARSER", "stdlib")
            else:
                patch.delenv("CAPFENCE_JSON_PARSER", raising=False)
            parser = fast_parser()
            got = loads_with(parser.parse)(text)
            assert same(expected, got, wide_ints_as_floats=not parser.exact), (env, text)
