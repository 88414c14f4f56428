"""The audit record's encodings: timestamps and the compact JSON of payloads and of the hash chain."""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfence.audit.compactjson import compact_encoder
from capfence.audit.record import now

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**200), max_value=10**200),
    st.floats(),
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),  # lone surrogates
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=800, deadline=None)
@given(VALUES, st.booleans())
def test_compact_encoder_writes_what_json_writes(value: object, sort_keys: bool) -> None:
    reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    assert compact_encoder(sort_keys=sort_keys)(value) == reference.encode(value)


def test_compact_encoder_raises_what_json_raises() -> None:
    encode = compact_encoder(sort_keys=True)
    with pytest.raises(TypeError):
        encode({"a": object()})
    with pytest.raises(TypeError):
        encode({1: "a", "b": 2})  # keys that cannot be sorted together
    with pytest.raises(ValueError, match=r"digits|limit"):
        encode([10**5000])  # the payload serializer catches this and writes the int as hex


def test_compact_encoder_falls_back_without_the_c_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = compact_encoder(sort_keys=True)
    assert encode({"b": 1, "a": [None, "é"]}) == '{"a":[null,"é"],"b":1}'


def test_now_is_iso_8601_utc_with_microseconds() -> None:
    before = dt.datetime.now(dt.UTC)
    stamps = [now() for _ in range(2000)]
    after = dt.datetime.now(dt.UTC)
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", stamp), stamp
        assert before <= dt.datetime.fromisoformat(stamp) <= after
    assert stamps == sorted(stamps)
