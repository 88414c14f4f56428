"""JSON-RPC 2.0 messages as the proxy reads them: strictly, or not at all.

The proxy decides a ``tools/call`` on the object it parsed and forwards that
same object, re-serialised (:func:`encode`), never the bytes it received. So
whatever two parsers could read differently is refused here instead of being
passed on: duplicate keys (``{"name": "read", "name": "write"}``), ``NaN``,
``Infinity`` and numbers out of a float's range (``1e400``), batches (JSON arrays; MCP dropped them in 2025-06-18), ids that
are not strings or integers, members JSON-RPC does not define, and anything that
is not exactly one of request, notification, result or error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_TIMEOUT = -32001
"""MCP's code for a request the other side did not answer in time."""

Kind = Literal["request", "notification", "result", "error"]
RequestId = str | int
IdKey = tuple[str, str | int]
"""An id as a dictionary key: ``1`` and ``"1"`` are different ids, and ``True`` is not ``1``."""

_SHAPES: dict[frozenset[str], Kind] = {
    frozenset({"jsonrpc", "id", "method"}): "request",
    frozenset({"jsonrpc", "id", "method", "params"}): "request",
    frozenset({"jsonrpc", "method"}): "notification",
    frozenset({"jsonrpc", "method", "params"}): "notification",
    frozenset({"jsonrpc", "id", "result"}): "result",
    frozenset({"jsonrpc", "id", "error"}): "error",
}


class Malformed(ValueError):
    """A message the proxy will not pass on. ``code`` is the JSON-RPC error code; ``id`` the request's id, if readable."""

    def __init__(
        self, message: str, code: int = INVALID_REQUEST, request_id: RequestId | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True)
class Message:
    """One parsed message. ``body`` is what is forwarded (re-serialised), and the only thing read."""

    kind: Kind
    body: dict[str, Any]

    @property
    def id(self) -> RequestId | None:
        value = self.body.get("id")
        return value if isinstance(value, str | int) and not isinstance(value, bool) else None

    @property
    def key(self) -> IdKey | None:
        return id_key(self.id)

    @property
    def method(self) -> str | None:
        value = self.body.get("method")
        return value if isinstance(value, str) else None

    @property
    def params(self) -> dict[str, Any]:
        value = self.body.get("params")
        return value if isinstance(value, dict) else {}


def id_key(value: RequestId | None) -> IdKey | None:
    if value is None:
        return None
    return ("s", value) if isinstance(value, str) else ("i", value)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Malformed(f"duplicate key {key!r} in a JSON object", PARSE_ERROR)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not JSON", PARSE_ERROR)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: read as inf, which no JSON can carry on
        raise Malformed(f"the number {text[:40]} is out of range", PARSE_ERROR)
    return value


def parse(raw: bytes) -> Message:
    """One message from one line of bytes; raises :class:`Malformed` saying what is wrong."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite,
        )
    except Malformed as exc:
        exc.request_id = _lenient_id(raw)
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON: {exc}", PARSE_ERROR) from None
    if isinstance(value, list):
        raise Malformed("batches (JSON arrays) are not accepted: send one message per line")
    if not isinstance(value, dict):
        raise Malformed(f"a message must be a JSON object, not {type(value).__name__}")
    return classify(value)


def _lenient_id(raw: bytes) -> RequestId | None:
    """The id of a message refused for duplicate keys or NaN, read leniently: only to address the error answer."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # too deep for the lenient reading too: answer without an id
        return None
    request_id = value.get("id") if isinstance(value, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


def classify(body: dict[str, Any]) -> Message:
    """The kind of an already parsed object, or :class:`Malformed`."""
    request_id = body.get("id")
    readable = request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None
    kind = _SHAPES.get(frozenset(body))
    if body.get("jsonrpc") != "2.0":
        raise Malformed('"jsonrpc" must be "2.0"', request_id=readable)
    if kind is None:
        raise Malformed(
            f"not a JSON-RPC request, notification or response (members: {', '.join(sorted(body))})",
            request_id=readable,
        )
    if "id" in body and readable is None and kind in ("request", "result"):
        raise Malformed("an id must be a string or an integer")
    if "method" in body and not isinstance(body["method"], str):
        raise Malformed('"method" must be a string', request_id=readable)
    if "params" in body and not isinstance(body["params"], dict):
        raise Malformed('"params" must be an object (MCP uses named parameters)', INVALID_PARAMS, readable)
    if kind == "error" and not _valid_error(body["error"]):
        raise Malformed(
            '"error" must be an object with an integer "code" and a string "message"', request_id=readable
        )
    return Message(kind, body)


def _valid_error(error: object) -> bool:
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), int)
        and isinstance(error.get("message"), str)
    )


def encode(body: dict[str, Any]) -> bytes:
    """One line: compact JSON (non-ASCII escaped, so a lone surrogate cannot break the encoding) and a newline."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"


def error(request_id: RequestId | None, code: int, message: str, data: object = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


def result(request_id: RequestId, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def request(request_id: RequestId, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}
