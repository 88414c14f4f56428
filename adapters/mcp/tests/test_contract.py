"""``CapFenceTool(tool=session, ...)`` (the MCP adapter) passes CapFence's adapter contract suite.

The contract calls tools synchronously; an ``mcp.ClientSession`` is async and bound to the event loop
it was opened in. :class:`SessionHarness` runs one event loop in a background thread that holds each
session (to a server built with the SDK's ``MCPServer``, in this process, over the SDK's in-memory
transport: real JSON-RPC both ways), and gives the contract a synchronous facade: every call is a
coroutine run on that loop, waited for with a bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from mcp import ClientSession, types
from mcp.client._memory import InMemoryTransport
from mcp.server.mcpserver import MCPServer
from support import WAIT

from capfence.testing import AdapterContract, Body, capfence_runtime  # noqa: F401 - fixture

SERVER = "contract"


class SessionHarness:
    """An event loop in a background thread holding live ``ClientSession`` objects; a synchronous facade to them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mcp-sessions", daemon=True)
        self.thread.start()
        self.held: list[tuple[asyncio.Event, concurrent.futures.Future[None]]] = []

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the sessions' loop and wait for its result (bounded)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT)

    def open(self, server: MCPServer) -> ClientSession:
        """An initialized session to ``server``, held open (in a task of its own) until :meth:`close`."""
        ready: concurrent.futures.Future[ClientSession] = concurrent.futures.Future()
        done = asyncio.Event()

        async def hold() -> None:
            try:
                async with InMemoryTransport(server) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    ready.set_result(session)
                    await done.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        self.held.append((done, asyncio.run_coroutine_threadsafe(hold(), self.loop)))
        return ready.result(WAIT)

    def close(self) -> None:
        for done, task in self.held:
            self.loop.call_soon_threadsafe(done.set)
            task.result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()


def probe_server(body: Body, *, defaulted: bool = False) -> MCPServer:
    server = MCPServer(SERVER)
    if defaulted:

        @server.tool()
        def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

    else:

        @server.tool()
        def probe(command: str) -> str:  # type: ignore[misc]  # one of the two definitions
            """Probe tool."""
            return body(command=command)

    return server


class TestClientSessionContract(AdapterContract):
    """The session is the tool: ``call_tool("probe", ...)`` (and ``send_request`` of a ``tools/call``) is decided."""

    framework = "mcp"
    entry_points = ("call_tool", "send_request")

    @pytest.fixture(autouse=True)
    def sessions(self) -> Iterator[SessionHarness]:
        self.harness = SessionHarness()
        yield self.harness
        self.harness.close()

    def make_tool(self, body: Body) -> Any:
        return self.harness.open(probe_server(body))

    def make_defaulted_tool(self, body: Body) -> Any:
        return self.harness.open(probe_server(body, defaulted=True))

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        if entry_point == "call_tool":
            return self.harness.run(tool.call_tool("probe", payload))
        request = types.CallToolRequest(params=types.CallToolRequestParams(name="probe", arguments=payload))
        return self.harness.run(tool.send_request(request, types.CallToolResult))

    def describe(self, tool: Any) -> dict[str, Any]:
        """What the model sees of the session's tool. A session serves many tools, so CapFence names each
        ``<server>/<tool>`` (the audit records' ``tool``); the rest is the server's listing, unchanged."""
        (listed,) = self.harness.run(tool.list_tools()).tools
        return {
            "name": f"{SERVER}/{listed.name}",
            "description": listed.description,
            "schema": listed.input_schema,
        }

    def is_block_result(self, result: Any) -> bool:
        return (
            isinstance(result, types.CallToolResult)
            and result.is_error is True
            and super().is_block_result(result)
        )

    def copies(self, tool: Any) -> list[Any]:
        """``copy.copy`` shares the live connection and stays gated. ``copy.deepcopy`` of a live session cannot be
        made (its streams and locks cannot be copied), so it is checked to raise rather than give an ungated copy."""
        with pytest.raises(TypeError):
            copy.deepcopy(tool)
        return [copy.copy(tool)]

    # Hooks that do not apply to an MCP ClientSession (the contract skips each, with the reason here):
    # * run_rewritten: the session has no layer between send_request (where the gate sits) and the transport
    #   that could change a call's arguments (the SDK's own stamp adds only _meta and HTTP headers); code that
    #   writes to the session's private dispatcher directly is a documented limit (use the proxy).
    # * conversions: a ClientSession has no copy/convert/export API besides copy (covered by copies).
    # * call_with_id: the public session API takes no JSON-RPC id; the SDK mints a fresh id for every request.
