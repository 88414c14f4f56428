"""A lossless, canonical, type-aware text for a tool call's arguments.

The audit log stores a *readable* JSON form of each payload (see
:mod:`capfence.audit.payload`), which folds distinct values together:
``b"x"`` and ``"x"``, ``(1,)`` and ``[1]``, ``{1: 0}`` and ``{"1": 0}``,
NaN and ``"NaN"``, anything nested deeper than its cut. Whatever *binds* a
decision to arguments (an approval, a reused decision record, the check that
a tool body runs with the arguments that were decided) uses this encoding
instead, which never folds two values the tool could tell apart:

* plain JSON data (dicts with string keys, lists, strings, ints, finite
  floats, booleans, None) encodes as canonical JSON (keys sorted, no spaces),
  so what :func:`encode` returns for it is valid JSON a person can read;
* every other type gets a tagged form that is not JSON: ``(1,)`` for a tuple,
  ``b'x'`` for bytes, ``{|1,2|}`` for a set, ``nan``/``inf`` for non-finite
  floats, ``Decimal("1.10")``, ``datetime(...)``, and ``module.Class(...)``
  for dataclasses, pydantic models, named tuples and container subclasses;
  ``module.Enum.NAME`` for an enum member (a flag's unnamed combination by its
  value, ``module.Flag(8)``);
* mapping keys of any encodable type keep their type (``{1:0}`` is not
  ``{"1":0}``); sets and mappings are ordered by their elements' encodings,
  except an ``OrderedDict``, whose order is part of its value.

Lone surrogates (undecodable file names) are written as JSON escapes
(``"\\udcff"``), so the text is always valid UTF-8 and can be stored.

A value that cannot be encoded losslessly (an arbitrary object, a reference
cycle, nesting deeper than :data:`MAX_DEPTH`, a value whose own code raises
while it is read) raises :class:`NotCanonical`, never another error: callers
must then refuse to bind anything to it (an approval is denied).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import json.encoder
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from capfence.audit.compactjson import compact_encoder

MAX_DEPTH = 100
"""Deeper nesting is refused rather than risk the interpreter's recursion limit."""
REDACTED = "***REDACTED***"
_INT_DIGITS_BITS = 13_000
"""Ints longer than this are written in hex (Python refuses very long decimal conversions)."""


class NotCanonical(ValueError):
    """The value has no lossless encoding here; the message says which part and why."""


def encode(value: object, *, redact: frozenset[str] = frozenset()) -> str:
    """The canonical text of ``value`` (see the module docstring); raises :class:`NotCanonical`.

    ``redact``: lower-cased mapping key names whose values are replaced by a
    marker (for digests stored next to redacted audit payloads).
    """
    try:
        flat = None if redact else _flat(value)
        text = flat if flat is not None else _Encoder(redact).encode(value, 0)
        return text if text.isascii() else _utf8(text)
    except NotCanonical:
        raise
    except RecursionError as exc:
        raise NotCanonical("the arguments are nested too deeply to encode") from exc
    # a value's own code failed while it was read (a tzinfo, a property, a mapping's items())
    except Exception as exc:
        raise NotCanonical(f"the arguments could not be encoded: {type(exc).__name__}: {exc}") from exc


def _utf8(text: str) -> str:
    """``text`` with each lone surrogate written as its JSON escape (``\\udcff``), so it can be stored as UTF-8.

    They occur only inside string literals, where a backslash of the text itself is doubled: still lossless.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
    return text


def digest(value: object, *, redact: frozenset[str] = frozenset()) -> str:
    """SHA-256 (hex) of :func:`encode`; raises :class:`NotCanonical`."""
    return text_digest(encode(value, redact=redact))


def text_digest(text: str) -> str:
    """SHA-256 (hex) of an :func:`encode` result."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same_arguments(value: object, text: str) -> bool:
    """Whether ``value`` encodes to ``text`` (False for a value with no lossless encoding)."""
    try:
        return encode(value) == text
    except NotCanonical:
        return False


def _type_name(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


_text: Callable[[str], str] = json.encoder.encode_basestring
"""A JSON string literal (quotes, backslashes and control characters escaped; lone surrogates kept, then escaped by :func:`_utf8`)."""
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_flat_json = compact_encoder(sort_keys=True)
_FLAT = (str, int, bool, type(None))


def _flat(value: object) -> str | None:
    """The encoding of a flat dict of string keys to strings, ints, booleans and None: its sorted compact JSON."""
    if type(value) is not dict or not all(type(k) is str and type(v) in _FLAT for k, v in value.items()):
        return None
    if any(type(v) is int and v.bit_length() > _INT_DIGITS_BITS for v in value.values()):
        return None
    return _flat_json(value)


def _float(value: float) -> str:
    return (
        repr(value)
        if math.isfinite(value)
        else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    )


def _int(value: int) -> str:
    return str(value) if value.bit_length() <= _INT_DIGITS_BITS else hex(value)


def _time_value(value: dt.datetime | dt.date | dt.time) -> str:
    tz = getattr(value, "tzinfo", None)
    zone = "" if tz is None else "," + _text(str(tz))
    fold = f",fold={value.fold}" if isinstance(value, dt.datetime | dt.time) and value.fold else ""
    return f"{type(value).__name__}({_text(value.isoformat())}{zone}{fold})"


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _text,
    bool: lambda v: "true" if v else "false",
    int: _int,
    float: _float,
    type(None): lambda _v: "null",
    bytes: repr,
    bytearray: lambda v: f"bytearray({bytes(v)!r})",
    Decimal: lambda v: f"Decimal({_text(str(v))})",
    UUID: lambda v: f"UUID({_text(str(v))})",
    dt.timedelta: lambda v: f"timedelta({v.days},{v.seconds},{v.microseconds})",
    dt.datetime: _time_value,
    dt.date: _time_value,
    dt.time: _time_value,
}


_UNWRAP: dict[type, Callable[[Any], object]] = {
    str: str.__str__,
    int: int.__index__,
    float: float.__float__,
    bytes: lambda v: bytes(memoryview(v)),
    bytearray: lambda v: bytearray(memoryview(v)),
}
"""The plain value inside a subclass of a scalar type, read past any method the subclass overrides."""


class _Encoder:
    def __init__(self, redact: frozenset[str]) -> None:
        self.redact = redact
        self.path: set[int] = set()

    def encode(self, value: object, depth: int) -> str:
        scalar = _SCALARS.get(type(value))
        if scalar is not None:
            return scalar(value)
        if depth >= MAX_DEPTH:
            raise NotCanonical(f"the arguments are nested more than {MAX_DEPTH} levels deep")
        if id(value) in self.path:
            raise NotCanonical("the arguments contain a reference cycle")
        self.path.add(id(value))
        try:
            return self._compound(value, depth + 1)
        finally:
            self.path.discard(id(value))

    def _compound(self, value: object, depth: int) -> str:
        kind = type(value)
        if kind is dict:
            return self._mapping(value, depth)  # type: ignore[arg-type]
        if kind is list:
            return "[" + ",".join(self.encode(v, depth) for v in value) + "]"  # type: ignore[attr-defined]
        if kind is tuple:
            return self._tuple(value, depth)  # type: ignore[arg-type]
        if kind is set or kind is frozenset:
            prefix = "frozenset" if kind is frozenset else ""
            return prefix + "{|" + ",".join(sorted(self.encode(v, depth) for v in value)) + "|}"  # type: ignore[attr-defined]
        return _type_name(value) + self._other(value, depth)

    def _tuple(self, value: tuple[object, ...], depth: int) -> str:
        items = [self.encode(v, depth) for v in value]
        return "(" + ",".join(items) + ("," if len(items) == 1 else "") + ")"

    def _mapping(self, value: Mapping[Any, object], depth: int) -> str:
        items = list(value.items())
        # its order is part of its value (OrderedDict(a=1, b=2) != OrderedDict(b=2, a=1))
        if isinstance(value, OrderedDict):
            return (
                "{"
                + ",".join(
                    self.encode(key, depth) + ":" + self._item(key, item, depth) for key, item in items
                )
                + "}"
            )
        if all(type(key) is str for key, _ in items):  # as JSON orders them (sort_keys)
            items.sort(key=lambda kv: str(kv[0]))
            entries = [_text(key) + ":" + self._item(key, item, depth) for key, item in items]
        else:  # keys of several types: ordered by their encodings
            entries = sorted(
                self.encode(key, depth) + ":" + self._item(key, item, depth) for key, item in items
            )
        return "{" + ",".join(entries) + "}"

    def _item(self, key: object, item: object, depth: int) -> str:
        if isinstance(key, str) and item is not None and key.lower() in self.redact:
            return _text(REDACTED)
        return self.encode(item, depth)

    def _other(self, value: object, depth: int) -> str:
        """A subclass or a structured object, after its qualified type name."""
        if isinstance(value, Enum):
            return self._enum(value, depth)
        for base, scalar in _SCALARS.items():
            if isinstance(value, base):
                plain = _UNWRAP.get(base)
                return "(" + scalar(plain(value) if plain else value) + ")"
        if isinstance(value, PurePath):
            return "(" + _text(str(value)) + ")"
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, tuple):
            return self._tuple(value, depth)
        if isinstance(value, list):
            return "[" + ",".join(self.encode(v, depth) for v in value) + "]"
        if isinstance(value, set | frozenset):
            return "{|" + ",".join(sorted(self.encode(v, depth) for v in value)) + "|}"
        fields = _fields(value)
        if fields is None:
            raise NotCanonical(f"a {type(value).__qualname__} value has no lossless encoding")
        return "(" + self._mapping(fields, depth) + ")"

    def _enum(self, value: Enum, depth: int) -> str:
        """``.NAME`` for a member; a flag's pseudo-member (no name, or a name like ``A|B``) by its value."""
        name = value.name
        if isinstance(name, str) and type(value).__members__.get(name) is value:
            return "." + name
        return "(" + self.encode(value.value, depth) + ")"


def _fields(value: object) -> dict[str, object] | None:
    """The state of a dataclass instance or a pydantic model (fields and extras), else None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(type(value), "__pydantic_fields__") and not isinstance(value, type):
        try:
            state: dict[str, object] = dict(value)  # type: ignore[call-overload]  # v2 models iterate as (field, value), extras too
            return state
        except Exception as exc:
            raise NotCanonical(f"a {type(value).__qualname__} model could not be read: {exc}") from exc
    return None
