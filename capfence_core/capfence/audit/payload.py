"""Turn an arbitrary tool payload into the JSON text stored in the audit log.

Never raises for odd input: values JSON cannot encode (datetimes, bytes,
paths, pydantic models, arbitrary objects) become readable strings, non-string
keys are stringified, and secrets under redacted key names are masked.

A stored payload either holds what the policy saw or is marked truncated: a
payload over the size cap, or one with a part that has no faithful readable
form (a cut cycle, nesting past 64 levels, a non-finite number, an integer
too long for JSON, an object whose text is unprintable or too long), is
replaced by a marker object holding a preview, why it was cut, the SHA-256 of
the full serialization and ``canonical_sha256``, the digest of the payload's
lossless encoding (:mod:`capfence.call.canonical`, redacted keys masked; null if it
has none). Replay counts such records as not replayable.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import NamedTuple
from uuid import UUID

from capfence.audit.compactjson import compact_encoder
from capfence.call import canonical

REDACTED = "***REDACTED***"
TRUNCATED_KEY = "__capfence_truncated__"
_MAX_DEPTH = 64
_MAX_INT_BITS = 13_000
"""Larger ints cannot be written in decimal (Python's 4300-digit limit): stored as hex."""
_PREVIEW_CHARS = 2048


class StoredPayload(NamedTuple):
    text: str
    """Valid JSON: the payload, or a truncation marker object."""
    sha256: str
    """SHA-256 of the full (redacted) serialization, even when truncated."""
    size: int
    truncated: bool
    redacted: bool


def _scalar(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode()
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    if isinstance(value, Enum):
        return value.value  # the sanitizer cleans it in turn
    try:
        dump = getattr(value, "model_dump", None)
    except Exception:  # noqa: BLE001 - a hostile __getattr__ still gets audited
        dump = None
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # noqa: BLE001 - a broken model still gets audited as text
            pass
    try:
        text = f"<{type(value).__name__}: {value!s}>"
    except Exception:  # noqa: BLE001 - even str() may raise
        raise _Lossy(f"a {type(value).__name__} value could not be printed") from None
    if len(text) > _PREVIEW_CHARS:
        raise _Lossy(f"a {type(value).__name__} value prints longer than {_PREVIEW_CHARS} characters")
    return text


class _Lossy(Exception):
    """A part of the payload has no faithful readable form (the sanitizer stores a placeholder and marks the record)."""


def _sort_key(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


class _Sanitizer:
    def __init__(self, redact: frozenset[str]) -> None:
        self.redact = redact
        self.redacted = False
        self.lossy: str | None = None
        """Why the cleaned value is not what the policy saw (the first reason), if it is not."""

    def placeholder(self, text: str, why: str) -> str:
        self.lossy = self.lossy or why
        return text

    def clean(self, value: object, ancestors: frozenset[int] = frozenset(), depth: int = 0) -> object:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return (
                value
                if value.bit_length() <= _MAX_INT_BITS
                else self.placeholder(f"<int: {value:#x}>", "an integer too long for JSON")
            )
        if isinstance(value, float):
            return value if math.isfinite(value) else self.placeholder(str(value), "a non-finite number")
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            if id(value) in ancestors:
                return self.placeholder("<cycle>", "a reference cycle")
            if depth >= _MAX_DEPTH:
                return self.placeholder("<nested too deep>", f"nesting deeper than {_MAX_DEPTH} levels")
            inner = ancestors | {id(value)}
            if isinstance(value, Mapping):
                return self._mapping(value, inner, depth)
            items = sorted(value, key=_sort_key) if isinstance(value, set | frozenset) else list(value)
            return [self.clean(v, inner, depth + 1) for v in items]
        if depth >= _MAX_DEPTH:  # e.g. a model_dump() that returns another model, forever
            return self.placeholder("<nested too deep>", f"nesting deeper than {_MAX_DEPTH} levels")
        try:
            return self.clean(_scalar(value), ancestors, depth + 1)
        except _Lossy as exc:
            return self.placeholder(f"<{type(value).__name__}>", str(exc))

    def _mapping(
        self, value: Mapping[object, object], ancestors: frozenset[int], depth: int
    ) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, item in list(value.items()):
            name = self._key(key)
            while name in out:  # {1: ..., "1": ...}: keep both, mark the stringified one
                name = f"{name} ({type(key).__name__})"
            out[name] = self._value(key, item, ancestors, depth)
        return out

    def _key(self, key: object) -> str:
        return key if isinstance(key, str) else str(self.clean(key))

    def _value(self, key: object, value: object, ancestors: frozenset[int], depth: int) -> object:
        if isinstance(key, str) and key.lower() in self.redact and value is not None:
            self.redacted = True
            return REDACTED
        return self.clean(value, ancestors, depth + 1)


_PLAIN = frozenset({str, int, bool, type(None)})


def _is_plain(payload: object, redact: frozenset[str]) -> bool:
    """A flat dict of str keys to JSON scalars with no redacted key: JSON can take it as is."""
    if type(payload) is not dict:
        return False
    for k, v in payload.items():  # noqa: SIM110 - a loop, not all() over a generator: this runs for every record
        if type(k) is not str or type(v) not in _PLAIN or (redact and k.lower() in redact):
            return False
    return True


_dumps = compact_encoder(sort_keys=True)


def _plain_text(payload: object, redact: frozenset[str]) -> str | None:
    """The JSON text of a payload that needs no cleaning (:func:`_is_plain`), else ``None``."""
    if not _is_plain(payload, redact):
        return None
    try:
        return _dumps(payload)
    except ValueError:  # an int too long for decimal: the sanitizer writes it as hex
        return None


def serialize(payload: object, *, redact: frozenset[str], max_bytes: int) -> StoredPayload:
    """The stored form of ``payload`` (see module docstring)."""
    sanitizer: _Sanitizer | None = None
    text = _plain_text(payload, redact)
    if text is None:
        sanitizer = _Sanitizer(redact)
        text = _dumps(sanitizer.clean(payload))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. undecodable file names): keep them as JSON escapes
        data = text.encode("utf-8", "backslashreplace")
        text = data.decode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    lossy = sanitizer.lossy if sanitizer is not None else None
    redacted = sanitizer is not None and sanitizer.redacted  # (a plain payload has no redacted key)
    if len(data) <= max_bytes and lossy is None:
        return StoredPayload(text, digest, len(data), False, redacted)
    size = max_bytes if lossy else min(_PREVIEW_CHARS, max_bytes // 2)
    preview = data[:size].decode("utf-8", "ignore")
    why = lossy or f"larger than {max_bytes} bytes"
    cut = {
        "sha256": digest,
        "bytes": len(data),
        "preview": preview,
        "why": why,
        "canonical_sha256": _canonical(payload, redact),
    }
    marker = {TRUNCATED_KEY: cut}
    return StoredPayload(json.dumps(marker, ensure_ascii=False), digest, len(data), True, redacted)


def _canonical(payload: object, redact: frozenset[str]) -> str | None:
    """The digest of the payload's lossless encoding (redacted keys masked), or None if it has none."""
    try:
        return canonical.digest(payload, redact=redact)
    except canonical.NotCanonical:
        return None
