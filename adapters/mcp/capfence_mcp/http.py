"""HTTP mode: a streamable-HTTP endpoint on a loopback address in front of a streamable-HTTP server.

Every POST body is read (at most ``max_message_bytes``) and parsed strictly
(:mod:`capfence_mcp.jsonrpc`). A ``tools/call`` is decided first: a blocked call
is answered here with a ``CallToolResult`` (``isError: true``) as
``application/json``; an allowed one is forwarded as the bytes whose decoding
was decided. Other methods the proxy knows (:mod:`capfence_mcp.methods`),
notifications and responses are forwarded; the server's answer (JSON or an SSE
stream), GET streams and DELETE pass back unchanged with the session headers.

The answer to a ``tools/list`` (JSON, or an SSE stream, which then is read to
its end, at most ``max_message_bytes``) is read whole: the tools' ``inputSchema``
are remembered for the MCP session (:mod:`capfence_mcp.schemas`; the session
is the ``Mcp-Session-Id`` and the ``Authorization`` the client sent), and with
``--hide-denied`` it is filtered before it is passed back. A ``tools/call`` for a
tool whose schema the session has not seen sends a ``tools/list`` of the
proxy's own first (same session headers; its answer never reaches the client);
the defaults of the schema are filled in for the arguments the call leaves out,
decided and forwarded. A ``notifications/tools/list_changed`` on any SSE stream
passing back forgets the session's schemas.

A held call is asked through elicitation (:mod:`capfence_mcp.elicitation`) when
the client supports it:

* up to 2025-11-25, the client's capabilities are those it sent in the
  ``initialize`` that created its MCP session (remembered by the session id
  the server assigned); the held call's POST is answered with an SSE stream
  carrying an ``elicitation/create`` request, the client POSTs its answer (taken
  here, answered 202, never forwarded), and the same stream then carries the
  call's result: the blocked result, or the server's answer once forwarded.
  Needs a server that assigns session ids and a client that accepts
  ``text/event-stream``; otherwise the client gets the approval id.
* on 2026-07-28 (capabilities in each request's ``_meta``), the call is answered
  ``input_required`` and the client's retry carries the answer, as over stdio.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.view import CallView
from capfence_mcp import jsonrpc, methods
from capfence_mcp.elicitation import (
    ClientInfo,
    RoundTrips,
    apply_answer,
    approval_request,
    question,
    record_answer,
)
from capfence_mcp.errors import McpConfigError
from capfence_mcp.gatekeeper import Gatekeeper
from capfence_mcp.jsonrpc import Malformed
from capfence_mcp.relay import Settings, completed, listing_params, schema_denial, without_denied
from capfence_mcp.results import blocked_result
from capfence_mcp.schemas import SchemaUnavailable, ToolSchemas, with_defaults

log = logging.getLogger("capfence.mcp")
SESSIONS = 10_000
"""At most this many MCP sessions' client capabilities are remembered (the oldest is forgotten first)."""

FORWARDED_HEADERS = (
    "accept",
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "authorization",
    "mcp-method",
    "mcp-name",
)
RETURNED_HEADERS = ("content-type", "mcp-session-id", "cache-control")


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    valid_port = port.isascii() and port.isdigit() and 1 <= int(port) <= 65535
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]") or not valid_port:
        raise McpConfigError(
            f"--listen must be a loopback HOST:PORT (port 1-65535) such as 127.0.0.1:8765, not {listen!r}"
        )
    return host.strip("[]"), int(port)


class HttpProxy:
    def __init__(self, gatekeeper: Gatekeeper, upstream: str, settings: Settings) -> None:
        import httpx2

        self.gatekeeper = gatekeeper
        self.upstream = upstream
        self.settings = settings
        timeout = httpx2.Timeout(settings.request_timeout, connect=10.0)
        self.client = httpx2.AsyncClient(timeout=timeout, follow_redirects=False)
        self.sessions: OrderedDict[str, ClientInfo] = OrderedDict()
        """What each MCP session's client said at ``initialize``, by the session id the server assigned."""
        self.own: dict[str, tuple[str | None, asyncio.Future[dict[str, Any]]]] = {}
        """The proxy's own ``elicitation/create`` requests awaiting an answer: id -> (session id, answer)."""
        self.round_trips = RoundTrips()
        self.schemas: OrderedDict[str, ToolSchemas] = OrderedDict()
        """The tools' ``inputSchema`` each MCP session was given, by :func:`_session_key` (at most :data:`SESSIONS`)."""

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "DELETE"])])

    async def handle(self, request: Any) -> Any:
        from starlette.responses import JSONResponse, Response

        if request.method == "DELETE" and "mcp-session-id" in request.headers:
            self.sessions.pop(request.headers["mcp-session-id"], None)
            self.schemas.pop(_session_key(request), None)
        if request.method != "POST":
            return await self.forward(request, None)
        body = await self._bounded_body(request)
        if body is None:
            return JSONResponse(
                jsonrpc.error(None, jsonrpc.INVALID_REQUEST, "CapFence: message too large"), status_code=413
            )
        try:
            message = jsonrpc.parse(body)
        except Malformed as exc:
            return JSONResponse(jsonrpc.error(exc.request_id, exc.code, f"CapFence: {exc}"), status_code=400)
        if message.kind == "request" and message.method not in methods.CLIENT_REQUESTS:
            unknown = f"CapFence: method {message.method!r} is not passed on"
            return JSONResponse(jsonrpc.error(message.id, jsonrpc.METHOD_NOT_FOUND, unknown))
        if message.kind == "notification" and message.method not in methods.CLIENT_NOTIFICATIONS:
            return Response(status_code=202)
        if message.kind in ("result", "error") and isinstance(message.id, str) and message.id in self.own:
            return self._answered(request, message)
        wire = jsonrpc.encode(message.body)
        if message.kind == "request" and message.method == methods.INITIALIZE:
            return await self.initialize(request, message, wire)
        if message.kind == "request" and message.method == methods.TOOLS_LIST:
            return await self.listed(request, message, wire)
        if message.method != methods.TOOLS_CALL or message.kind != "request":
            return await self.forward(request, wire)
        return await self.gated(request, message, wire)

    async def initialize(self, request: Any, message: jsonrpc.Message, wire: bytes) -> Any:
        """Forward an ``initialize``; remember what the client supports under the session id the server assigns."""
        response = await self.forward(request, wire)
        session = response.headers.get("mcp-session-id")
        if session:
            self.sessions[session] = ClientInfo.from_initialize(message.params)
            while len(self.sessions) > SESSIONS:
                self.sessions.popitem(last=False)
        return response

    def _answered(self, request: Any, message: jsonrpc.Message) -> Any:
        """The client's answer to one of the proxy's own elicitations: taken here, never forwarded."""
        from starlette.responses import Response

        session, future = self.own[str(message.id)]
        if session != request.headers.get("mcp-session-id"):
            return Response(status_code=404)  # another session cannot answer it
        if not future.done():
            future.set_result(message.body)
        return Response(status_code=202)

    def tool_schemas(self, request: Any) -> ToolSchemas:
        """The schemas remembered for the request's MCP session (the oldest session's are forgotten first)."""
        key = _session_key(request)
        schemas = self.schemas.get(key)
        if schemas is None:
            schemas = self.schemas[key] = ToolSchemas()
            while len(self.schemas) > SESSIONS:
                self.schemas.popitem(last=False)
        self.schemas.move_to_end(key)
        return schemas

    async def listed(self, request: Any, message: jsonrpc.Message, wire: bytes) -> Any:
        """Forward a ``tools/list``; learn the tools' schemas from its answer (JSON or SSE, read whole); pass it back
        (with ``--hide-denied``, without the tools every call of which is denied)."""
        from starlette.responses import JSONResponse, Response

        schemas = self.tool_schemas(request)
        generation = schemas.generation
        response = await self._send(request, wire)
        if not hasattr(response, "aiter_bytes"):
            return response
        chunks, size = [], 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.settings.max_message_bytes:
                    too_big = jsonrpc.error(
                        message.id,
                        jsonrpc.INTERNAL_ERROR,
                        "CapFence: the server's tools/list answer is too large",
                    )
                    return JSONResponse(too_big, status_code=502)
                chunks.append(chunk)
        finally:
            await response.aclose()
        body, kind = b"".join(chunks), response.headers.get("content-type", "")
        learned: list[dict[str, Any]] = []
        filtered = await asyncio.to_thread(self._filter_listing, body, kind, message.key, learned)
        for result in learned:
            schemas.learn(result, generation)
        if b"list_changed" in body and any(_lists_changed(data) for data in _sse_data(body)):
            schemas.invalidate()
        returned = {name: response.headers[name] for name in RETURNED_HEADERS if name in response.headers}
        return Response(filtered, status_code=response.status_code, headers=returned)

    def _filter_listing(
        self, body: bytes, content_type: str, key: jsonrpc.IdKey | None, learned: list[dict[str, Any]]
    ) -> bytes:
        if content_type.startswith("application/json"):
            return self._filter_message(body, key, learned) or body
        if content_type.startswith("text/event-stream"):
            return _rewrite_sse(body, lambda data: self._filter_message(data, key, learned))
        return body

    def _filter_message(
        self, data: bytes, key: jsonrpc.IdKey | None, learned: list[dict[str, Any]]
    ) -> bytes | None:
        """The JSON-RPC answer to ``key`` in ``data`` without hidden tools (its result appended to ``learned``), or None
        if ``data`` is not that answer or nothing is hidden."""
        try:
            value = jsonrpc.parse(data).body
        except Malformed:
            return None
        if "result" not in value or jsonrpc.id_key(value.get("id")) != key:
            return None
        learned.append(value["result"])
        if not self.settings.hide_denied:
            return None
        return jsonrpc.encode(without_denied(value, self.gatekeeper.hidden)).rstrip(b"\n")

    async def _list_page(
        self, request: Any, call_params: dict[str, Any], cursor: str | None
    ) -> dict[str, Any]:
        """One page of the server's ``tools/list`` for the request's session, asked by the proxy (never passed to the client)."""
        own_id = f"capfence-list-{secrets.token_hex(12)}"
        body = jsonrpc.encode(
            jsonrpc.request(own_id, methods.TOOLS_LIST, listing_params(call_params, cursor))
        )
        headers = {name: request.headers[name] for name in LISTING_HEADERS if name in request.headers}
        headers.update({"accept": "application/json, text/event-stream", "content-type": "application/json"})
        if "mcp-method" in request.headers:
            headers["mcp-method"] = methods.TOOLS_LIST
        try:
            async with (
                asyncio.timeout(self.settings.request_timeout),
                self.client.stream("POST", self.upstream, headers=headers, content=body) as response,
            ):
                if response.status_code != 200:
                    raise SchemaUnavailable(
                        f"the server answered tools/list with HTTP {response.status_code}"
                    )
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.settings.max_message_bytes:
                        raise SchemaUnavailable("the server's tools/list answer is too large")
                    chunks.append(chunk)
                    if response.headers.get("content-type", "").startswith(
                        "text/event-stream"
                    ) and _has_answer(chunks, own_id):
                        break  # the stream may stay open after the answer
                kind = response.headers.get("content-type", "")
        except SchemaUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - unreachable, timed out, cut off: the call is denied, saying why
            raise SchemaUnavailable(f"the server's tools/list failed: {type(exc).__name__}: {exc}") from None
        raw = b"".join(chunks)
        messages = _sse_data(raw) if kind.startswith("text/event-stream") else [raw]
        for data in messages:
            try:
                answer = jsonrpc.parse(data)
            except Malformed:
                continue
            if answer.id != own_id:
                continue
            if answer.kind == "error":
                raise SchemaUnavailable(
                    f"the server answered tools/list with an error: {answer.body['error']['message']}"
                )
            result = answer.body.get("result")
            if isinstance(result, dict):
                return result
        raise SchemaUnavailable("the server's tools/list answer was not found in its response")

    async def gated(self, request: Any, message: jsonrpc.Message, wire: bytes) -> Any:
        from starlette.responses import JSONResponse

        modern, retry = ClientInfo.from_request(message.params), None
        # 2026-07-28: the retry of a call the proxy answered input_required carries the answer
        if modern is not None:
            stripped, retry = self.round_trips.take(message.params)
            wire = jsonrpc.encode({**message.body, "params": stripped})
        params = json.loads(wire).get("params", {})
        tool, sent = params.get("name"), params.get("arguments", {})
        if not isinstance(tool, str) or not isinstance(sent, dict):
            problem = 'CapFence: tools/call needs "name" (a string) and "arguments" (an object, if present)'
            return JSONResponse(jsonrpc.error(message.id, jsonrpc.INVALID_PARAMS, problem))
        session = request.headers.get("mcp-session-id")
        headers = {"mcp-session-id": session} if session else None
        # the server applies its schema's defaults to what the call leaves out: decide them, and send them
        try:
            schema = await self.tool_schemas(request).schema(
                tool, functools.partial(self._list_page, request, message.params)
            )
            wire, arguments = completed(json.loads(wire), sent, with_defaults(sent, schema))
        except SchemaUnavailable as exc:
            denied = await asyncio.to_thread(self.gatekeeper.fail_closed, tool, sent, schema_denial(exc))
            blocked = blocked_result(denied, self.settings.audit_log)
            return JSONResponse(jsonrpc.result(message.id, blocked), headers=headers)  # type: ignore[arg-type]
        approvals = getattr(self.gatekeeper.gate, "approvals", None)
        # signed for exactly this tool and these arguments: answer, then decide
        if modern is not None and retry is not None:
            await apply_answer(approvals, retry.approval_id, retry.response, modern.approver)
        decision, view, binding = await self.gatekeeper.adecide(tool, arguments)
        if decision.action == "require_approval" and decision.approval_id and self.settings.elicitation:
            if modern is not None and retry is None and modern.elicitation:
                held = await approval_request(approvals, decision)
                if held is not None:
                    # signed as sent: the retry sends it so
                    asked = self.round_trips.input_required(held, view, tool, sent)
                    return JSONResponse(jsonrpc.result(message.id, asked), headers=headers)  # type: ignore[arg-type]
            client = self.sessions.get(session) if modern is None and session else None
            if (
                client is not None
                and client.elicitation
                and "text/event-stream" in request.headers.get("accept", "")
            ):
                return await self.asked(request, message, wire, (decision, view, binding), arguments, client)
        if not decision.allowed:
            blocked = blocked_result(decision, self.settings.audit_log)
            return JSONResponse(jsonrpc.result(message.id, blocked), headers=headers)  # type: ignore[arg-type]
        try:
            response = await self.forward(request, wire)
        except BaseException as exc:
            self.gatekeeper.record(
                decision, view, "tool_error", f"forwarding failed: {type(exc).__name__}: {exc}"
            )
            raise
        self.gatekeeper.record(decision, view, "ran" if response.status_code < 400 else "tool_error")
        return response

    async def asked(
        self,
        request: Any,
        message: jsonrpc.Message,
        wire: bytes,
        call: tuple[Decision, CallView, Binding],
        arguments: dict[str, Any],
        client: ClientInfo,
    ) -> Any:
        """A held call's answer as an SSE stream: the elicitation, then the call's result (blocked, or the server's)."""
        from starlette.responses import StreamingResponse

        held, view, binding = call
        approvals = self.gatekeeper.gate.approvals
        stored = await approval_request(approvals, held)
        session = request.headers.get("mcp-session-id")

        async def events() -> AsyncIterator[bytes]:
            decision = held
            if stored is not None:
                own_id = f"capfence-{secrets.token_hex(12)}"
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                self.own[own_id] = (session, future)
                try:
                    yield _event(jsonrpc.request(own_id, "elicitation/create", question(stored, view)))
                    response: dict[str, Any] | None = await asyncio.wait_for(
                        future, self.settings.approval_wait
                    )
                except TimeoutError:
                    response = None
                finally:
                    self.own.pop(own_id, None)
                decision = await record_answer(
                    approvals, stored.id, response, client.approver, binding, arguments, held
                )
            if not decision.allowed:
                yield _event(jsonrpc.result(message.id, blocked_result(decision, self.settings.audit_log)))  # type: ignore[arg-type]
                return
            async for chunk in self._forwarded_events(request, message, wire, decision, view):
                yield chunk

        headers = (
            {"mcp-session-id": session, "cache-control": "no-cache"}
            if session
            else {"cache-control": "no-cache"}
        )
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def _forwarded_events(
        self, request: Any, message: jsonrpc.Message, wire: bytes, decision: Decision, view: CallView
    ) -> AsyncIterator[bytes]:
        """Forward an approved call; its answer as SSE events (the server's stream, or its JSON answer as one event)."""
        response = await self._send(request, wire)
        if not hasattr(response, "aiter_bytes"):
            self.gatekeeper.record(decision, view, "tool_error", "the MCP server is unreachable")
            yield _event(
                jsonrpc.error(message.id, jsonrpc.INTERNAL_ERROR, "CapFence: the MCP server is unreachable")
            )
            return
        try:
            kind = response.headers.get("content-type", "")
            if response.status_code >= 400 or not kind.startswith(("text/event-stream", "application/json")):
                self.gatekeeper.record(
                    decision, view, "tool_error", f"the server answered HTTP {response.status_code}"
                )
                failed = f"CapFence: the MCP server answered HTTP {response.status_code}"
                yield _event(jsonrpc.error(message.id, jsonrpc.INTERNAL_ERROR, failed))
                return
            self.gatekeeper.record(decision, view, "ran")
            if kind.startswith("text/event-stream"):
                async for chunk in response.aiter_bytes():
                    yield chunk
                return
            body, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.settings.max_message_bytes:
                    yield _event(
                        jsonrpc.error(
                            message.id, jsonrpc.INTERNAL_ERROR, "CapFence: the server's answer is too large"
                        )
                    )
                    return
                body.append(chunk)
            try:
                answer = jsonrpc.parse(b"".join(body)).body
            except Malformed as exc:
                answer = jsonrpc.error(
                    message.id, jsonrpc.INTERNAL_ERROR, f"CapFence: the server's answer was malformed: {exc}"
                )
            yield _event(answer)
        finally:
            await response.aclose()

    async def _bounded_body(self, request: Any) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.settings.max_message_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _send(self, request: Any, body: bytes | None) -> Any:
        """The upstream's streamed response, or a 502 ``JSONResponse`` if it cannot be reached."""
        from starlette.responses import JSONResponse

        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        upstream = self.client.build_request(request.method, self.upstream, headers=headers, content=body)
        try:
            return await self.client.send(upstream, stream=True)
        except Exception as exc:  # noqa: BLE001 - the server is unreachable: say so, keep serving
            gone = jsonrpc.error(
                None, jsonrpc.INTERNAL_ERROR, f"CapFence: the MCP server is unreachable: {exc}"
            )
            return JSONResponse(gone, status_code=502)

    async def forward(self, request: Any, body: bytes | None) -> Any:
        from starlette.responses import StreamingResponse

        response = await self._send(request, body)
        if not hasattr(response, "aiter_raw"):
            return response
        returned = {name: response.headers[name] for name in RETURNED_HEADERS if name in response.headers}
        scanner = (
            _ListChanged()
            if response.headers.get("content-type", "").startswith("text/event-stream")
            else None
        )
        session = _session_key(request)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    if scanner is not None and scanner.feed(chunk) and session in self.schemas:
                        self.schemas[session].invalidate()  # before the client can see the notification
                    yield chunk
            finally:
                await response.aclose()

        return StreamingResponse(relay(), status_code=response.status_code, headers=returned)


LISTING_HEADERS = ("mcp-session-id", "mcp-protocol-version", "authorization")
"""The client's headers the proxy's own ``tools/list`` carries (it is asked in the client's session)."""


def _session_key(request: Any) -> str:
    """Which MCP session a request belongs to, for the schemas it was listed: its session id and its credentials (hashed)."""
    session = request.headers.get("mcp-session-id", "")
    authorization = request.headers.get("authorization", "")
    return hashlib.sha256(f"{session}\0{authorization}".encode()).hexdigest()


def _sse_data(body: bytes) -> list[bytes]:
    """The data of each event of an SSE stream."""
    out = []
    for event in re.split(rb"(?:\r\n|\r(?!\n)|\n){2}", body):
        data = [
            line[5:].removeprefix(b" ")
            for line in re.split(rb"\r\n|\r|\n", event)
            if line.startswith(b"data:")
        ]
        if data:
            out.append(b"\n".join(data))
    return out


def _has_answer(chunks: list[bytes], own_id: str) -> bool:
    """Whether the SSE bytes read so far hold a complete event answering ``own_id``."""
    body = b"".join(chunks)
    complete = re.split(rb"(?:\r\n|\r(?!\n)|\n){2}", body)[:-1]
    return any(own_id.encode() in event for event in complete)


def _lists_changed(data: bytes) -> bool:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and value.get("method") == methods.TOOLS_LIST_CHANGED and "id" not in value


class _ListChanged:
    """Reads an SSE stream passing back, a chunk at a time: whether a complete event was ``notifications/tools/list_changed``."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> bool:
        self._buffer += chunk
        events = re.split(rb"(?:\r\n|\r(?!\n)|\n){2}", self._buffer)
        self._buffer = events.pop()  # the event still arriving
        if len(self._buffer) > 1 << 20 and b"list_changed" not in self._buffer:
            self._buffer = b""  # a long event that cannot be the notification: not kept
        return any(
            b"list_changed" in event and any(_lists_changed(d) for d in _sse_data(event)) for event in events
        )


def _event(body: dict[str, Any]) -> bytes:
    """One SSE event carrying one JSON-RPC message."""
    return b"event: message\ndata: " + jsonrpc.encode(body).rstrip(b"\n") + b"\n\n"


def _rewrite_sse(body: bytes, rewrite: Callable[[bytes], bytes | None]) -> bytes:
    """``body`` (an SSE stream) with each event's data replaced by ``rewrite(data)`` where that is not None."""
    events, out = re.split(rb"(?:\r\n|\r(?!\n)|\n){2}", body), []
    for event in events:
        lines = re.split(rb"\r\n|\r|\n", event)
        data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
        new = rewrite(b"\n".join(data)) if data else None
        if new is None:
            out.append(event)
            continue
        first = next(i for i, line in enumerate(lines) if line.startswith(b"data:"))
        kept = [line for i, line in enumerate(lines) if i == first or not line.startswith(b"data:")]
        kept[first] = b"data: " + new
        out.append(b"\n".join(kept))
    return b"\n\n".join(out)


def run_http(gatekeeper: Gatekeeper, listen: str, upstream: str, settings: Settings) -> None:
    import uvicorn

    host, port = parse_listen(listen)
    proxy = HttpProxy(gatekeeper, upstream, settings)
    config = uvicorn.Config(proxy.app(), host=host, port=port, log_level="warning", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve())
