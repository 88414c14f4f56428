"""Audit records as JSON: the shape ``capfence export`` and ``logs --format json`` write.

One object per decision with every recorded column, in the store's column
order, where ``payload`` and ``detail`` are the JSON values (not their text),
``truncated``/``redacted`` are booleans, and ``outcome`` is the latest outcome
linked to the decision (``ran``, ``blocked``, ``held``, ``tool_error``) or
``null``. This is exactly what ``capfence replay`` reads back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

_BOOLEANS = ("truncated", "redacted")
_JSON_TEXT = ("payload", "detail")


def json_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The exported form of one decision row (see module docstring)."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in _BOOLEANS:
            out[name] = bool(value)
        elif name in _JSON_TEXT and isinstance(value, str):
            out[name] = _parse(value)
        elif name != "linked_outcome":
            out[name] = value
    if "linked_outcome" in row:
        out["outcome"] = row["linked_outcome"]
    return out


def _parse(text: str) -> Any:
    """Stored JSON text as a value; text that is not JSON (a damaged record) stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def dumps(record: Mapping[str, Any]) -> str:
    """One record as compact JSON, UTF-8 text where it can be.

    A lone surrogate (a payload that was not valid Unicode, stored escaped) cannot be written as UTF-8: such a
    record is written with every non-ASCII character escaped instead, which parses to the same values.
    """
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(record, ensure_ascii=True, separators=(",", ":"))
    return text


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write one JSON line per row; return how many. Streams: holds one row at a time."""
    count = 0
    for row in rows:
        out.write(dumps(json_record(row)))
        out.write("\n")
        count += 1
    return count


def export_file(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write ``rows`` to ``path`` atomically: a failed export leaves no partial file behind."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent if str(target.parent) else "."
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            count = write_jsonl(rows, out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
