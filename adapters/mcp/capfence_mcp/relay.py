"""The proxy's message logic between one client and one server, whatever the transport.

The transport hands :meth:`Relay.from_client` and :meth:`Relay.from_server`
each message as it arrives (bytes of one line, or :data:`OVERSIZED`) and gives
the relay two coroutines to send with. The relay

* refuses what :mod:`capfence_mcp.jsonrpc` cannot read strictly, answering the
  client with a JSON-RPC error (malformed server output is dropped and logged;
  a request it was meant to answer gets an error);
* answers ``method not found`` for client methods :mod:`capfence_mcp.methods`
  does not name, and ``invalid request`` for an id already in use;
* decides every ``tools/call`` before forwarding it, with the defaults of the
  tool's ``inputSchema`` filled in for arguments it leaves out
  (:mod:`capfence_mcp.schemas`; the schema is remembered from ``tools/list``
  answers passing by, or asked for with a ``tools/list`` of the proxy's own,
  whose answer never reaches the client; forgotten on
  ``notifications/tools/list_changed``), and forwards exactly the bytes whose
  decoding was decided (see :meth:`_gated_call`);
* bounds every wait: a request the server does not answer in ``request_timeout``
  seconds is answered with an error and cancelled at the server;
* gives every request it forwards an id of its own (and maps the answer back),
  so a late answer to a request that timed out is dropped, never delivered to
  a new request that reuses the client's id;
* when the server goes away answers every open request with an error; when
  the client goes away forwards nothing more.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.view import CallView
from capfence_mcp import jsonrpc, methods
from capfence_mcp.elicitation import (
    CLIENT_CAPABILITIES,
    CLIENT_INFO,
    PROTOCOL_VERSION,
    ClientInfo,
    RoundTrips,
    apply_answer,
    approval_request,
    question,
    record_answer,
)
from capfence_mcp.gatekeeper import Gatekeeper
from capfence_mcp.jsonrpc import IdKey, Malformed, Message
from capfence_mcp.results import blocked_result
from capfence_mcp.schemas import SchemaUnavailable, ToolSchemas, with_defaults

log = logging.getLogger("capfence.mcp")
Send = Callable[[dict[str, Any]], Awaitable[None]]
"""Sends one message body to one side (it is encoded by :func:`capfence_mcp.jsonrpc.encode`)."""
SendRaw = Callable[[bytes], Awaitable[None]]


class _Oversized:
    def __repr__(self) -> str:
        return "OVERSIZED"


OVERSIZED: Final = _Oversized()
"""Passed instead of a message that exceeded the size limit (its bytes were discarded)."""
UNTIMED = frozenset({"subscriptions/listen"})
"""Requests that stay open as long as the client wants (no request timeout)."""
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
"""``_meta`` key of 2026-07-28 subscription notifications: the JSON-RPC id of the ``subscriptions/listen`` request."""
ENVELOPE = (PROTOCOL_VERSION, CLIENT_INFO, CLIENT_CAPABILITIES)
"""The 2026-07-28 ``_meta`` keys a call carries that the proxy's own ``tools/list`` for it carries too."""


def listing_params(call_params: dict[str, Any], cursor: str | None) -> dict[str, Any]:
    """The params of the proxy's own ``tools/list``: the cursor, and the 2026-07-28 envelope of the call it is for."""
    params: dict[str, Any] = {"cursor": cursor} if cursor is not None else {}
    meta = call_params.get("_meta")
    envelope = {k: meta[k] for k in ENVELOPE if k in meta} if isinstance(meta, dict) else {}
    if envelope:
        params["_meta"] = envelope
    return params


def completed(
    body: dict[str, Any], arguments: dict[str, Any], filled: dict[str, Any]
) -> tuple[bytes, dict[str, Any]]:
    """``body`` (a ``tools/call``) with ``filled`` as its arguments: the bytes to forward, and the arguments they decode to."""
    wire = jsonrpc.encode(
        body if filled == arguments else {**body, "params": {**body["params"], "arguments": filled}}
    )
    decided = json.loads(wire)["params"].get("arguments", {})
    return wire, decided


def schema_denial(exc: SchemaUnavailable) -> str:
    """Why a call whose tool's schema cannot be had is denied."""
    return (
        f"the tool's inputSchema is unknown, so the defaults the server would apply cannot be decided: {exc}"
    )


def without_denied(body: dict[str, Any], hidden: Callable[[str], bool]) -> dict[str, Any]:
    """A ``tools/list`` answer without the tools ``hidden`` names (``--hide-denied``); anything else unchanged."""
    result = body.get("result")
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(result, dict) or not isinstance(tools, list):
        return body
    kept = [
        t for t in tools if not (isinstance(t, dict) and isinstance(t.get("name"), str) and hidden(t["name"]))
    ]
    return {**body, "result": {**result, "tools": kept}}


@dataclass(frozen=True)
class Settings:
    request_timeout: float = 300.0
    """Seconds the server has to answer a forwarded request."""
    hide_denied: bool = False
    elicitation: bool = True
    """Ask clients that support elicitation to approve held calls."""
    approval_wait: float = 300.0
    """Seconds to wait for the human's answer to an elicitation."""
    max_message_bytes: int = 16 * 1024 * 1024
    audit_log: str | None = None
    """Named in the approval hint of a held call's result."""


@dataclass
class Pending:
    """A client request the server has not answered yet (or a ``tools/call`` still being decided)."""

    message: Message
    server_id: int = 0
    """The id the request has toward the server (the proxy's own; the client's id is never forwarded)."""
    deciding: bool = False
    cancelled: bool = False
    timer: asyncio.TimerHandle | None = None
    call: tuple[Decision, CallView, Binding] | None = None
    generation: int = 0
    """For a ``tools/list``: the schemas' generation when it was forwarded (its answer is learned only if still current)."""

    def upstream_body(self) -> dict[str, Any]:
        """The request as the server gets it: under the proxy's id."""
        return {**self.message.body, "id": self.server_id}


@dataclass
class Relay:
    gatekeeper: Gatekeeper
    to_client: Send
    to_server_raw: SendRaw
    settings: Settings = field(default_factory=Settings)
    client: ClientInfo = field(default_factory=ClientInfo)
    pending: dict[IdKey, Pending] = field(default_factory=dict)
    """Open client requests by the client's id."""
    upstream: dict[int, IdKey] = field(default_factory=dict)
    """The proxy's id of each forwarded request -> the client's id (an answer to an id not here is dropped)."""
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    server_requests: set[IdKey] = field(default_factory=set)
    own: dict[IdKey, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    server_alive: bool = True
    client_alive: bool = True
    tasks: set[asyncio.Future[Any]] = field(default_factory=set)
    round_trips: RoundTrips = field(default_factory=RoundTrips)
    schemas: ToolSchemas = field(default_factory=ToolSchemas)
    listings: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    """The proxy's own ``tools/list`` requests (under ids from ``ids``, never the client's) awaiting the server's answer."""

    # --- client -> server --------------------------------------------------------------------
    async def from_client(self, raw: bytes | _Oversized) -> None:
        if isinstance(raw, _Oversized):
            too_big = f"CapFence: message larger than {self.settings.max_message_bytes} bytes; discarded"
            await self.to_client(jsonrpc.error(None, jsonrpc.INVALID_REQUEST, too_big))
            return
        try:
            message = jsonrpc.parse(raw)
        except Malformed as exc:
            await self.to_client(jsonrpc.error(exc.request_id, exc.code, f"CapFence: {exc}"))
            return
        handler = {"request": self._client_request, "notification": self._client_notification}.get(
            message.kind, self._client_response
        )
        await handler(message)

    async def _client_request(self, message: Message) -> None:
        key, method = message.key, message.method
        assert key is not None and method is not None  # a request has both (jsonrpc.classify)
        if method not in methods.CLIENT_REQUESTS:
            await self.to_client(
                jsonrpc.error(
                    message.id, jsonrpc.METHOD_NOT_FOUND, f"CapFence: method {method!r} is not passed on"
                )
            )
            return
        if key in self.pending or key in self.own:
            in_use = "CapFence: this id is already in use by a request in progress"
            await self.to_client(jsonrpc.error(message.id, jsonrpc.INVALID_REQUEST, in_use))
            return
        if method == methods.INITIALIZE:
            self.client = ClientInfo.from_initialize(message.params)
        pending = Pending(message, next(self.ids), generation=self.schemas.generation)
        self.pending[key] = pending
        self.upstream[pending.server_id] = key
        if method == methods.TOOLS_CALL:
            pending.deciding = True
            self._spawn(self._gated_call(key, pending))
            return
        await self._forward(key, pending, jsonrpc.encode(pending.upstream_body()))

    async def _client_notification(self, message: Message) -> None:
        method = message.method
        if method not in methods.CLIENT_NOTIFICATIONS:
            log.warning("dropped a notification the proxy does not pass on: %r", method)
            return
        body = message.body
        if method == methods.CANCELLED:
            target = self.pending.get(jsonrpc.id_key(message.params.get("requestId")) or ("s", ""))
            # answered, timed out, or never sent: its id may name another request at the server
            if target is None:
                log.info(
                    "dropped a cancellation of no request in progress (%r)", message.params.get("requestId")
                )
                return
            if target.deciding:  # the server never saw it: nothing to cancel there
                target.cancelled = True
                return
            body = {**body, "params": {**message.params, "requestId": target.server_id}}
        await self._send_server(jsonrpc.encode(body))

    async def _client_response(self, message: Message) -> None:
        key = message.key
        if key is not None and key in self.own:
            future = self.own.pop(key)
            if not future.done():
                future.set_result(message.body)
            return
        if key is not None and key in self.server_requests:
            self.server_requests.discard(key)
            await self._send_server(jsonrpc.encode(message.body))
            return
        log.warning("dropped a response from the client to no request in progress (id %r)", message.id)

    # --- tools/call ---------------------------------------------------------------------------
    async def _gated_call(self, key: IdKey, pending: Pending) -> None:
        """:meth:`_decide_and_forward`; if that fails before forwarding, the call is answered with an error (never left open)."""
        try:
            await self._decide_and_forward(key, pending)
        except Exception as exc:
            if pending.deciding and self._settle(key) is not None and self.client_alive:
                failed = f"CapFence: not forwarded: {type(exc).__name__}: {exc}"
                await self.to_client(jsonrpc.error(pending.message.id, jsonrpc.INTERNAL_ERROR, failed))
            raise

    async def _decide_and_forward(self, key: IdKey, pending: Pending) -> None:
        """Decide, then forward or answer. The forwarded bytes are encoded first and decoded again for the decision."""
        message = pending.message
        body, retry = pending.upstream_body(), None
        modern = ClientInfo.from_request(message.params)
        # 2026-07-28: the retry of a call the proxy answered input_required carries the answer
        if modern is not None:
            stripped, retry = self.round_trips.take(message.params)
            body = {**body, "params": stripped}
        wire = jsonrpc.encode(body)
        params = json.loads(wire)["params"] if "params" in message.body else {}
        tool, sent = params.get("name"), params.get("arguments", {})
        if not isinstance(tool, str) or not isinstance(sent, dict):
            self._settle(key)
            problem = 'tools/call needs "name" (a string) and "arguments" (an object, if present)'
            await self.to_client(jsonrpc.error(message.id, jsonrpc.INVALID_PARAMS, f"CapFence: {problem}"))
            return
        done = await self._completed(key, pending, wire, tool, sent)
        if done is None:
            return
        wire, arguments = done
        # signed for exactly this tool and these arguments: answer, then decide
        if modern is not None and retry is not None:
            await apply_answer(
                self.gatekeeper.gate.approvals, retry.approval_id, retry.response, modern.approver
            )
        decision, view, binding = await self.gatekeeper.adecide(tool, arguments)
        if decision.action == "require_approval" and decision.approval_id:
            if modern is not None:
                if retry is None and self.settings.elicitation and modern.elicitation:
                    # signed as sent: the retry sends it so
                    asked = await self._input_required(decision, view, tool, sent)
                    # the question, as the call's result; the client retries with the answer
                    if asked is not None:
                        self._settle(key)
                        await self.to_client(jsonrpc.result(message.id, asked))  # type: ignore[arg-type]
                        return
            elif self._can_elicit():
                decision = await self._elicit(decision, view, binding, arguments)
        pending.call = (decision, view, binding)
        if not decision.allowed:
            self._settle(key)
            await self.to_client(
                jsonrpc.result(message.id, blocked_result(decision, self.settings.audit_log))  # type: ignore[arg-type]
            )
            return
        if pending.cancelled or not self.server_alive or not self.client_alive:
            self._settle(key)
            why = (
                "cancelled by the client"
                if pending.cancelled
                else "server gone"
                if not self.server_alive
                else "client disconnected"
            )
            self.gatekeeper.record(decision, view, "blocked", f"not forwarded: {why}")
            if self.client_alive and not pending.cancelled:
                await self.to_client(
                    jsonrpc.error(message.id, jsonrpc.INTERNAL_ERROR, f"CapFence: not forwarded: {why}")
                )
            return
        pending.deciding = False
        await self._forward(key, pending, wire)

    async def _completed(
        self, key: IdKey, pending: Pending, wire: bytes, tool: str, sent: dict[str, Any]
    ) -> tuple[bytes, dict[str, Any]] | None:
        """The call with the defaults of the tool's schema filled in: the bytes to forward and the arguments to decide.

        None if the schema cannot be had: the call is then denied (and answered) here.
        """
        # the server applies its schema's defaults to what the call leaves out: decide them, and send them
        try:
            schema = await self.schemas.schema(
                tool, functools.partial(self._list_page, pending.message.params)
            )
            return completed(json.loads(wire), sent, with_defaults(sent, schema))
        except SchemaUnavailable as exc:
            self._settle(key)
            decision = await asyncio.to_thread(self.gatekeeper.fail_closed, tool, sent, schema_denial(exc))
            if self.client_alive and not pending.cancelled:
                blocked = blocked_result(decision, self.settings.audit_log)
                await self.to_client(jsonrpc.result(pending.message.id, blocked))  # type: ignore[arg-type]
            return None

    async def _list_page(self, call_params: dict[str, Any], cursor: str | None) -> dict[str, Any]:
        """One page of the server's ``tools/list``, asked under an id of the proxy's own (the answer is taken, never passed on)."""
        if not self.server_alive:
            raise SchemaUnavailable("the MCP server is not running")
        own_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.listings[own_id] = future
        try:
            await self._send_server(
                jsonrpc.encode(
                    jsonrpc.request(own_id, methods.TOOLS_LIST, listing_params(call_params, cursor))
                )
            )
            answer = await asyncio.wait_for(future, self.settings.request_timeout)
        except TimeoutError:
            cancel = jsonrpc.notification(
                methods.CANCELLED, {"requestId": own_id, "reason": "timed out at the CapFence proxy"}
            )
            await self._send_server(jsonrpc.encode(cancel))
            raise SchemaUnavailable(
                f"the server did not answer tools/list within {self.settings.request_timeout:g} s"
            ) from None
        finally:
            self.listings.pop(own_id, None)
        if "error" in answer:
            error = answer["error"]
            said = error.get("message") if isinstance(error, dict) else error
            raise SchemaUnavailable(f"the server answered tools/list with an error: {said}")
        result = answer.get("result")
        if not isinstance(result, dict):
            raise SchemaUnavailable("the server's tools/list answer has no result")
        return result

    def _can_elicit(self) -> bool:
        return self.settings.elicitation and self.client.elicitation and self.client_alive

    async def _input_required(
        self, held: Decision, view: CallView, tool: str, arguments: dict[str, Any]
    ) -> dict[str, Any] | None:
        """2026-07-28: the ``input_required`` result asking about ``held`` (None if its request cannot be read)."""
        request = await approval_request(self.gatekeeper.gate.approvals, held)
        return None if request is None else self.round_trips.input_required(request, view, tool, arguments)

    async def _elicit(
        self, held: Decision, view: CallView, binding: Binding, arguments: dict[str, Any]
    ) -> Decision:
        """Ask the client's human; record the answer in the approval queue; decide again from the store."""
        approvals = self.gatekeeper.gate.approvals
        request = await approval_request(approvals, held)
        if request is None:
            return held
        own_id = f"capfence-{secrets.token_hex(12)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.own[("s", own_id)] = future
        try:
            await self.to_client(jsonrpc.request(own_id, "elicitation/create", question(request, view)))
            response: dict[str, Any] | None = await asyncio.wait_for(future, self.settings.approval_wait)
        except (TimeoutError, OSError):  # not answered in time, or the client's pipe is gone
            response = None
        finally:
            self.own.pop(("s", own_id), None)
        return await record_answer(
            approvals, request.id, response, self.client.approver, binding, arguments, held
        )

    # --- forwarding and answers -----------------------------------------------------------------
    async def _forward(self, key: IdKey, pending: Pending, wire: bytes) -> None:
        if not self.server_alive:
            self._settle(key)
            await self.to_client(
                jsonrpc.error(
                    pending.message.id, jsonrpc.INTERNAL_ERROR, "CapFence: the MCP server is not running"
                )
            )
            return
        if pending.message.method not in UNTIMED:
            pending.timer = asyncio.get_running_loop().call_later(
                self.settings.request_timeout, self._timed_out, key
            )
        await self._send_server(wire)

    def _timed_out(self, key: IdKey) -> None:
        pending = self._settle(key)  # its late answer, if any, is dropped: no request has its id any more
        if pending is None:
            return
        seconds = self.settings.request_timeout
        if pending.call is not None:
            decision, view, _ = pending.call
            self.gatekeeper.record(
                decision, view, "tool_error", f"the server did not answer within {seconds:g} s"
            )
        message = f"CapFence: the MCP server did not answer {pending.message.method} within {seconds:g} s; cancelled"
        self._spawn(self.to_client(jsonrpc.error(pending.message.id, jsonrpc.REQUEST_TIMEOUT, message)))
        cancel = jsonrpc.notification(
            methods.CANCELLED, {"requestId": pending.server_id, "reason": "timed out at the CapFence proxy"}
        )
        self._spawn(self._send_server(jsonrpc.encode(cancel)))

    async def _send_server(self, wire: bytes) -> None:
        if self.server_alive:
            await self.to_server_raw(wire)

    # --- server -> client ---------------------------------------------------------------------
    async def from_server(self, raw: bytes | _Oversized) -> None:
        if isinstance(raw, _Oversized):
            log.error(
                "the server sent a message larger than %d bytes; discarded", self.settings.max_message_bytes
            )
            return
        try:
            message = jsonrpc.parse(raw)
        except Malformed as exc:
            await self._server_malformed(exc)
            return
        if message.kind in ("result", "error"):
            await self._server_response(message)
            return
        if message.kind == "request" and message.key is not None:
            self.server_requests.add(message.key)
        if message.kind == "notification" and message.method == methods.TOOLS_LIST_CHANGED:
            self.schemas.invalidate()
        await self.to_client(self._subscription_to_client(message.body))

    def _subscription_to_client(self, body: dict[str, Any]) -> dict[str, Any]:
        """A subscription notification names its ``subscriptions/listen`` by id: the proxy's id, mapped back to the client's."""
        params = body.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        key = self._client_key(meta.get(SUBSCRIPTION_ID)) if isinstance(meta, dict) else None
        pending = self.pending.get(key) if key is not None else None
        if pending is None or not isinstance(params, dict) or not isinstance(meta, dict):
            return body
        return {**body, "params": {**params, "_meta": {**meta, SUBSCRIPTION_ID: pending.message.id}}}

    def _client_key(self, server_id: object) -> IdKey | None:
        """The client's id of the request the proxy forwarded as ``server_id``."""
        return (
            self.upstream.get(server_id)
            if isinstance(server_id, int) and not isinstance(server_id, bool)
            else None
        )

    async def _server_malformed(self, exc: Malformed) -> None:
        log.error("dropped malformed output from the server: %s", exc)
        own = (
            exc.request_id
            if isinstance(exc.request_id, int) and not isinstance(exc.request_id, bool)
            else None
        )
        listing = self.listings.pop(own, None) if own is not None else None
        if listing is not None:  # the answer to the proxy's own tools/list: its call is denied, saying why
            if not listing.done():
                listing.set_result(jsonrpc.error(None, jsonrpc.INTERNAL_ERROR, f"malformed answer: {exc}"))
            return
        key = self._client_key(exc.request_id)
        pending = self.pending.get(key) if key is not None else None
        if pending is not None and not pending.deciding:
            self._settle(key)
            if pending.call is not None:
                self.gatekeeper.record(*pending.call[:2], "tool_error", f"malformed response: {exc}")
            text = f"CapFence: the server's answer was malformed: {exc}"
            await self.to_client(jsonrpc.error(pending.message.id, jsonrpc.INTERNAL_ERROR, text))

    def _settle(self, key: IdKey | None) -> Pending | None:
        """Forget a client request (answered, refused, timed out or abandoned): an answer to it from now on is dropped."""
        pending = self.pending.pop(key, None) if key is not None else None
        if pending is not None:
            self.upstream.pop(pending.server_id, None)
            if pending.timer is not None:
                pending.timer.cancel()
        return pending

    async def _server_response(self, message: Message) -> None:
        listing = (
            self.listings.pop(message.id, None)
            if isinstance(message.id, int) and not isinstance(message.id, bool)
            else None
        )
        if listing is not None:  # the answer to the proxy's own tools/list: taken here
            if not listing.done():
                listing.set_result(message.body)
            return
        key = self._client_key(message.id)
        pending = self.pending.get(key) if key is not None else None
        if pending is None or pending.deciding:
            log.warning("dropped a response from the server to no request in progress (id %r)", message.id)
            return
        self._settle(key)
        body = {**message.body, "id": pending.message.id}
        result = body.get("result")
        meta = result.get("_meta") if isinstance(result, dict) else None
        if (
            pending.message.method in UNTIMED
            and isinstance(result, dict)
            and isinstance(meta, dict)
            and SUBSCRIPTION_ID in meta
        ):
            body["result"] = {**result, "_meta": {**meta, SUBSCRIPTION_ID: pending.message.id}}
        if pending.call is not None:
            failed = message.kind == "error" or (
                isinstance(body.get("result"), dict) and body["result"].get("isError") is True
            )
            self.gatekeeper.record(*pending.call[:2], "tool_error" if failed else "ran")
        elif pending.message.method == methods.TOOLS_LIST and message.kind == "result":
            self.schemas.learn(body.get("result"), pending.generation)
            if self.settings.hide_denied:
                body = await asyncio.to_thread(self._without_denied, body)
        await self.to_client(body)

    def _without_denied(self, body: dict[str, Any]) -> dict[str, Any]:
        return without_denied(body, self.gatekeeper.hidden)

    # --- ends ---------------------------------------------------------------------------------
    async def server_gone(self, reason: str) -> None:
        """Answer every open request with an error; forward nothing more."""
        self.server_alive = False
        # the proxy's own tools/list: its call is denied (never forwarded)
        for future in self.listings.values():
            if not future.done():
                future.set_result(jsonrpc.error(None, jsonrpc.INTERNAL_ERROR, reason))
        for key in list(self.pending):
            pending = self.pending[key]
            if pending.deciding:
                continue  # answered by _gated_call once decided (never forwarded)
            self._settle(key)
            if pending.call is not None:
                self.gatekeeper.record(*pending.call[:2], "tool_error", reason)
            await self.to_client(
                jsonrpc.error(pending.message.id, jsonrpc.INTERNAL_ERROR, f"CapFence: {reason}")
            )

    def client_gone(self) -> None:
        self.client_alive = False
        for future in self.own.values():
            if not future.done():
                future.set_result({})  # unanswered: the held call stays pending

    def abandon(self, reason: str) -> None:
        """Settle the requests still open at the server (the proxy is stopping); a forwarded call's outcome is recorded."""
        for key in list(self.pending):
            pending = self._settle(key)
            if pending is not None and pending.call is not None and not pending.deciding:
                self.gatekeeper.record(
                    *pending.call[:2],
                    "tool_error",
                    f"{reason} before the server answered; the outcome is unknown",
                )

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("proxy task failed: %s", task.exception())

    async def drain(self) -> None:
        """Wait for the calls still being decided (each ends answered or recorded)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
