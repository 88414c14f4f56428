"""The Python client: an ``mcp.ClientSession`` whose ``tools/call`` requests are decided and audited.

    from capfence_mcp import guard_session

    async with ClientSession(read, write) as session:
        await session.initialize()
        gated = guard_session(session, gate=runtime, agent_id="ops-bot", server_name="filesystem",
                              capabilities={"write_file": "filesystem.write", "read_*": "filesystem.read"})
        await gated.call_tool("write_file", {"path": "/tmp/x", "content": "..."})

``guard_session`` returns a gated copy of the session (same class, same
connection); the caller's session is not changed. The gate sits on
``send_request``, which ``call_tool`` and anything else that sends a
``tools/call`` through the session go through, so tools loaded from the gated
session by ``langchain-mcp-adapters`` (``load_mcp_tools(gated)``) are gated too.
The arguments are decided as the JSON that will be sent: the request is
serialised, decided, and rebuilt from that JSON before it is sent. Arguments
the call leaves out that the tool's ``inputSchema`` gives a top-level
``default`` are filled in first, decided, and sent explicitly (the server would
otherwise apply defaults the policy never saw); the schemas are read from the
server's ``tools/list`` once per gated session (again for a tool not found; a
tool the server does not list is denied), through :mod:`capfence_mcp.schemas`, which
the proxy uses too. A blocked
call returns a ``CallToolResult`` with ``isError=True`` and the decision as text
(the model reads it; nothing raises). Guard a session after ``initialize()``:
the copy does not see a handshake made on the original afterwards.

``CapFenceTool(tool=session, capability=..., ...)`` gates a session too
(through this package's adapter), deciding every tool under that one capability.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding
from capfence.call.runtime import ActionRuntime
from capfence.call.wrapping import binding_of, gate_object, gated_class
from capfence.contracts import Gate
from capfence_mcp.capabilities import default_capability
from capfence_mcp.gatekeeper import FRAMEWORK, tool_label
from capfence_mcp.methods import TOOLS_CALL
from capfence_mcp.results import blocked_result
from capfence_mcp.schemas import ToolSchemas, with_defaults

S = TypeVar("S")
TAG = "capfence-mcp"
GUARD_ATTR = "__capfence_mcp_guard__"
SCHEMAS_ATTR = "__capfence_mcp_input_schemas__"


@dataclass(frozen=True)
class SessionGuard:
    """How a gated session names and maps its tools. ``capabilities``: tool name (exact, then globs in order) -> capability."""

    server_name: str | None = None
    capabilities: Mapping[str, str] | None = field(default=None)
    """None: every tool is decided under the binding's own capability (``CapFenceTool`` on a session)."""

    def server(self, session: Any) -> str:
        if self.server_name:
            return self.server_name
        result = getattr(session, "initialize_result", None)
        name = getattr(getattr(result, "server_info", None), "name", None)
        return name if isinstance(name, str) and name else "server"

    def binding(self, binding: Binding, session: Any, tool: str) -> Binding:
        server = self.server(session)
        if self.capabilities is None:
            return replace(binding, tool=tool_label(server, tool))
        capability = self.capabilities.get(tool)
        if capability is None:
            capability = next(
                (c for pattern, c in self.capabilities.items() if fnmatch.fnmatchcase(tool, pattern)), None
            )
        return replace(
            binding, capability=capability or default_capability(server, tool), tool=tool_label(server, tool)
        )


def _fail_closed(binding: Binding, session: Any, request: Any, reason: str) -> Decision:
    """Deny a ``tools/call`` that could not be decided, recorded under its tool (as far as the request tells)."""
    params = getattr(request, "params", None)
    name, arguments = getattr(params, "name", None), getattr(params, "arguments", None)
    try:
        guard: SessionGuard = session.__dict__.get(GUARD_ATTR) or SessionGuard()
        binding = guard.binding(binding, session, name if isinstance(name, str) else "?")
    except Exception:  # noqa: BLE001 - recorded under the session's own binding
        pass
    return binding.fail_closed(arguments if isinstance(arguments, Mapping) else {}, reason)[0]


def _blocked(result_type: Any, decision: Decision, audit_log: str | None = None) -> Any:
    value = blocked_result(decision, audit_log)
    validate = getattr(result_type, "validate_python", None) or result_type.model_validate
    return validate(value)


def _decided_request(request: Any) -> tuple[Any, str | None, dict[str, Any]]:
    """(a fresh request rebuilt from the JSON that is decided, the tool name, the arguments)."""
    data = json.loads(
        json.dumps(request.model_dump(by_alias=True, mode="json", exclude_none=True), allow_nan=False)
    )
    params = data.get("params") or {}
    arguments = params.get("arguments") or {}
    name = params.get("name")
    return (
        type(request).model_validate(data, by_name=False),
        name if isinstance(name, str) else None,
        arguments,
    )


async def _input_schema(session: Any, tool: str) -> dict[str, Any]:
    """The ``inputSchema`` the server lists for ``tool`` (remembered per gated session; listed again if not found)."""
    schemas: ToolSchemas = session.__dict__.setdefault(SCHEMAS_ATTR, ToolSchemas())

    async def list_page(cursor: str | None) -> dict[str, Any]:
        from mcp import types

        # tools/list is not gated: this does not come back here
        listing = await session.list_tools(
            params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
        )
        page: dict[str, Any] = listing.model_dump(by_alias=True, mode="json", exclude_none=True)
        return page

    return await schemas.schema(tool, list_page)


async def _decided_call(session: Any, request: Any) -> tuple[Any, str | None, dict[str, Any]]:
    """:func:`_decided_request`, with the tool's defaults filled in (and sent) where arguments are absent."""
    fresh, name, arguments = _decided_request(request)
    filled = with_defaults(arguments, await _input_schema(session, name) if name else None)
    if filled == arguments:
        return fresh, name, arguments
    data = fresh.model_dump(by_alias=True, mode="json", exclude_none=True)
    data["params"]["arguments"] = filled
    return _decided_request(type(request).model_validate(data, by_name=False))


def _gated_send_request(original: Callable[..., Any]) -> Callable[..., Any]:
    async def send_request(self: Any, request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "method", None) != TOOLS_CALL:
            return await original(self, request, result_type, *args, **kwargs)
        try:
            binding = binding_of(self)
        except Exception as exc:  # noqa: BLE001 - a gated class without a binding: no gate to record to
            return _blocked(result_type, failure(f"cannot decide this tools/call: {exc}"))
        audit_log = getattr(binding.gate, "audit_log", None)
        try:
            guard: SessionGuard = self.__dict__.get(GUARD_ATTR) or SessionGuard()
            fresh, name, arguments = await _decided_call(self, request)
            binding = guard.binding(binding, self, name or "?")
        except Exception as exc:  # noqa: BLE001 - arguments that are not JSON, no listing: deny, and record it
            reason = f"cannot decide this tools/call: {type(exc).__name__}: {exc}"
            denied = await asyncio.to_thread(_fail_closed, binding, self, request, reason)
            return _blocked(result_type, denied, audit_log)
        return await binding.acall(
            id(self),
            arguments,
            lambda: original(self, fresh, result_type, *args, **kwargs),
            lambda d: _blocked(result_type, d, audit_log),
        )

    return send_request


def wrap_session(session: S, binding: Binding, guard: SessionGuard | None = None) -> S:
    """A gated copy of ``session`` (the adapter's ``wrap``; :func:`guard_session` adds per-tool capabilities)."""
    cls = gated_class(type(session), {"send_request": _gated_send_request}, tag=TAG)
    gated = gate_object(session, cls, binding)
    object.__setattr__(gated, GUARD_ATTR, guard or SessionGuard())
    return gated


def guard_session(
    session: S,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str,
    capabilities: Mapping[str, str] | None = None,
    server_name: str | None = None,
    environment: str | None = None,
) -> S:
    """A gated copy of ``session``: every ``tools/call`` it sends is decided by ``gate`` and audited first.

    ``capabilities`` maps tool names (exact, then globs) to capabilities; other
    tools are decided as ``mcp.<server>.<tool>``. ``server_name`` defaults to the
    name the server gave at ``initialize`` (pass it to keep the policy independent
    of what the server says about itself).
    """
    binding = Binding(gate, agent_id, "mcp.session", FRAMEWORK, None, environment)
    return wrap_session(session, binding, SessionGuard(server_name, dict(capabilities or {})))
