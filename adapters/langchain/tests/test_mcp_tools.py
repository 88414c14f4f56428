"""MCP tools loaded through langchain-mcp-adapters, gated by this adapter: real parts, no network.

The server is ``mcp_server.py`` (mcp 1.x FastMCP), started over stdio as a
real subprocess by the MCP SDK's client; its tools are loaded with
langchain-mcp-adapters' ``load_mcp_tools(session)`` (one session for the
test) or ``MultiServerMCPClient.get_tools()`` (a new session, and a new
server process, per call). They are async-only ``StructuredTool``s (a
``coroutine``, no ``func``) with a JSON-schema ``args_schema``; every gated
call here goes through ``arun``. The server logs each ``tools/call`` as it
arrived (``mcp-calls.jsonl``), so a test sees what reached it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from lc_support import calls, decisions, decisions_by_call, script, tool_messages
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows
from capfence_langchain import ApprovalRequired, CapFenceMiddleware, ToolCallDenied

SERVER = Path(__file__).with_name("mcp_server.py")
POLICY = """\
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
  - id: no-evil-hooks
    capability: hooks.add
    contains: evil.example
require_approval:
  - id: hold-drafts
    capability: notes.write
    contains: drafts/
allow:
  - id: notes
    capability: notes.*
  - id: hooks
    capability: hooks.add
"""
CAPABILITIES = {"write_note": "notes.write", "read_note": "notes.read", "add_hook": "hooks.add"}
AGENT = "mcp-agent"


class Notes:
    """The server's notes directory and the record of what it received."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "notes"
        self.dir.mkdir()
        self.received_log = root / "mcp-calls.jsonl"

    def received(self) -> list[dict[str, Any]]:
        """Every ``tools/call`` the server got, in order: ``{"tool": ..., "arguments": ...}``."""
        if not self.received_log.exists():
            return []
        return [json.loads(line) for line in self.received_log.read_text().splitlines()]

    def files(self) -> set[str]:
        return {str(p.relative_to(self.dir)) for p in self.dir.rglob("*") if p.is_file()}

    def command(self) -> list[str]:
        return [str(SERVER), str(self.dir)]


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return Notes(tmp_path)


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    policy = tmp_path / "mcp-policy.yaml"
    policy.write_text(POLICY)
    rt = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield rt
    rt.close()


@asynccontextmanager
async def mcp_tools(notes: Notes) -> AsyncIterator[dict[str, BaseTool]]:
    """The server's tools as langchain-mcp-adapters loads them, over one stdio session."""
    params = StdioServerParameters(command=sys.executable, args=notes.command())
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield {tool.name: tool for tool in await load_mcp_tools(session)}


def gated(tools: dict[str, BaseTool], runtime: ActionRuntime) -> dict[str, BaseTool]:
    return {
        name: CapFenceTool(tool=tool, agent_id=AGENT, capability=CAPABILITIES[name], gate=runtime)
        for name, tool in tools.items()
    }


def with_tools(notes: Notes, body: Callable[[dict[str, BaseTool]], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with mcp_tools(notes) as tools:
            return await body(tools)

    return asyncio.run(main())


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def text_of(message: ToolMessage) -> str:
    content = message.content
    return (
        content
        if isinstance(content, str)
        else "".join(block["text"] for block in content if isinstance(block, dict))
    )


# --- (a) each tool wrapped with CapFenceTool ---------------------------------------------------------------


def test_loaded_tools_are_async_only_structured_tools(notes: Notes) -> None:
    """What this file relies on: langchain-mcp-adapters builds coroutine-only tools with a JSON-schema args_schema."""

    async def body(tools: dict[str, BaseTool]) -> None:
        assert set(tools) == {"write_note", "read_note", "add_hook"}
        for tool in tools.values():
            assert type(tool).__name__ == "StructuredTool"
            assert tool.coroutine is not None and tool.func is None  # type: ignore[attr-defined]
            assert isinstance(tool.args_schema, dict)

    with_tools(notes, body)


def test_denied_write_leaves_the_file_system_untouched(notes: Notes, runtime: ActionRuntime) -> None:
    async def body(tools: dict[str, BaseTool]) -> Any:
        write = gated(tools, runtime)["write_note"]
        assert type(write).__mro__[1] is type(tools["write_note"]), "still a StructuredTool"
        return await write.ainvoke(
            tool_call("write_note", {"path": "keys.txt", "text": "the secret is 42"}, "c1")
        )

    result = with_tools(notes, body)

    assert isinstance(result, ToolMessage) and result.status == "error"
    assert result.content == 'CapFence deny: deny rule: capability "*", contains "secret" [rule no-secrets]'
    assert notes.files() == set() and notes.received() == [], "the call never reached the server"
    (row,) = decisions(runtime.audit_log)
    assert (row["decision"], row["rule"], row["call_id"]) == ("deny", "no-secrets", "c1")
    assert (row["tool"], row["capability"], row["framework"], row["agent_id"]) == (
        "write_note",
        "notes.write",
        "langchain",
        AGENT,
    )
    assert row["args"] == {"path": "keys.txt", "text": "the secret is 42"}


def test_denied_direct_call_raises_and_the_mcp_error_handler_does_not_swallow_it(
    notes: Notes, runtime: ActionRuntime
) -> None:
    """No tool-call id: the gated tool raises; langchain-mcp-adapters' handle_tool_error re-raises what is not an MCP error."""

    async def body(tools: dict[str, BaseTool]) -> None:
        with pytest.raises(ToolCallDenied, match="no-secrets"):
            await gated(tools, runtime)["write_note"].ainvoke({"path": "keys.txt", "text": "secret"})

    with_tools(notes, body)
    assert notes.files() == set() and notes.received() == []
    assert [row["decision"] for row in decisions(runtime.audit_log)] == ["deny"]


def test_allowed_write_writes_the_file(notes: Notes, runtime: ActionRuntime) -> None:
    async def body(tools: dict[str, BaseTool]) -> Any:
        tools = gated(tools, runtime)
        written = await tools["write_note"].ainvoke(
            tool_call("write_note", {"path": "todo.txt", "text": "buy milk"}, "c1")
        )
        read = await tools["read_note"].ainvoke(tool_call("read_note", {"path": "todo.txt"}, "c2"))
        return written, read

    written, read = with_tools(notes, body)

    assert written.status == "success" and text_of(written) == "wrote 8 characters to todo.txt"
    assert text_of(read) == "buy milk"
    assert (notes.dir / "todo.txt").read_text() == "buy milk"
    assert [(r["call_id"], r["decision"], r["capability"]) for r in decisions(runtime.audit_log)] == [
        ("c1", "allow", "notes.write"),
        ("c2", "allow", "notes.read"),
    ]


def test_held_write_does_not_run(notes: Notes, runtime: ActionRuntime) -> None:
    async def body(tools: dict[str, BaseTool]) -> Any:
        write = gated(tools, runtime)["write_note"]
        held = await write.ainvoke(tool_call("write_note", {"path": "drafts/plan.txt", "text": "v1"}, "c1"))
        with pytest.raises(ApprovalRequired) as direct:
            await write.ainvoke({"path": "drafts/plan.txt", "text": "v2"})
        return held, direct.value

    held, direct = with_tools(notes, body)

    assert (
        held.status == "error"
        and "hold-drafts" in held.content
        and "require_approval" in held.content.lower().replace(" ", "_")
    )
    assert direct.request_id
    assert notes.files() == set() and notes.received() == []
    assert [(r["decision"], r["rule"]) for r in decisions(runtime.audit_log)] == [
        ("require_approval", "hold-drafts")
    ] * 2


def test_the_gated_coroutine_attribute_is_gated_too(notes: Notes, runtime: ActionRuntime) -> None:
    """``tool.coroutine`` of a gated tool (what a conversion reads) decides before it calls the server."""

    async def body(tools: dict[str, BaseTool]) -> None:
        write = gated(tools, runtime)["write_note"]
        with pytest.raises(ToolCallDenied):
            await write.coroutine(path="keys.txt", text="secret")  # type: ignore[attr-defined]
        with pytest.raises(ToolCallDenied):  # LangChain's own argument names are arguments like any other
            await write.coroutine(path="keys.txt", text="fine", callbacks="secret")  # type: ignore[attr-defined]
        await write.coroutine(path="ok.txt", text="fine")  # type: ignore[attr-defined]

    with_tools(notes, body)
    assert notes.files() == {"ok.txt"}
    assert [call["arguments"] for call in notes.received()] == [{"path": "ok.txt", "text": "fine"}]
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["deny", "deny", "allow"]


def test_sync_invoke_is_decided_and_cannot_run(notes: Notes, runtime: ActionRuntime) -> None:
    """An MCP tool cannot run synchronously: still decided first (a denied call is denied), then LangChain's
    NotImplementedError for an allowed one, recorded as that call's outcome; nothing reaches the server."""

    async def body(tools: dict[str, BaseTool]) -> None:
        write = gated(tools, runtime)["write_note"]
        with pytest.raises(ToolCallDenied):
            await asyncio.to_thread(write.invoke, {"path": "a.txt", "text": "secret"})
        with pytest.raises(NotImplementedError, match="does not support sync invocation"):
            await asyncio.to_thread(write.invoke, {"path": "a.txt", "text": "hello"})

    with_tools(notes, body)
    assert notes.files() == set() and notes.received() == []
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["deny", "allow"]
    outcomes = audit_rows(runtime.audit_log, kind="outcome")
    assert [o["outcome"] for o in outcomes] == ["blocked", "tool_error"]
    assert "does not support sync invocation" in outcomes[1]["detail"]


def test_multiserver_client_tools_are_gated(notes: Notes, runtime: ActionRuntime) -> None:
    """``MultiServerMCPClient.get_tools()``: no shared session, each call starts the server anew; gated the same way."""

    async def main() -> tuple[Any, Any]:
        client = MultiServerMCPClient(
            {"notes": {"transport": "stdio", "command": sys.executable, "args": notes.command()}}
        )
        tools = gated({tool.name: tool for tool in await client.get_tools()}, runtime)
        denied = await tools["write_note"].ainvoke(
            tool_call("write_note", {"path": "a.txt", "text": "secret"}, "c1")
        )
        allowed = await tools["write_note"].ainvoke(
            tool_call("write_note", {"path": "b.txt", "text": "plain"}, "c2")
        )
        return denied, allowed

    denied, allowed = asyncio.run(main())
    assert denied.status == "error" and allowed.status == "success"
    assert notes.files() == {"b.txt"}
    assert [call["arguments"] for call in notes.received()] == [{"path": "b.txt", "text": "plain"}]


# --- (b) a create_agent agent -------------------------------------------------------------------------------


@pytest.fixture(params=["middleware", "tools"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_agent(
    notes: Notes, runtime: ActionRuntime, mode: str, *replies: AIMessage
) -> tuple[dict[str, Any], Any]:
    model = script(*replies)

    async def body(tools: dict[str, BaseTool]) -> Any:
        if mode == "middleware":
            guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities=CAPABILITIES)
            agent = create_agent(model, list(tools.values()), middleware=[guard])
        else:
            agent = create_agent(model, list(gated(tools, runtime).values()))
        return await agent.ainvoke({"messages": [HumanMessage("take notes")]})

    return with_tools(notes, body), model


def test_agent_denied_call_is_an_error_result_and_never_reaches_the_server(
    notes: Notes, runtime: ActionRuntime, mode: str
) -> None:
    result, model = run_agent(
        notes,
        runtime,
        mode,
        calls(
            ("write_note", {"path": "todo.txt", "text": "buy milk"}, "c1"),
            ("write_note", {"path": "keys.txt", "text": "the secret is 42"}, "c2"),
            ("read_note", {"path": "todo.txt"}, "c3"),
        ),
        AIMessage("done"),
    )

    results = tool_messages(result["messages"])
    assert (
        results["c2"].status == "error"
        and results["c2"].content.startswith("CapFence deny:")
        and "no-secrets" in results["c2"].content
    )
    assert results["c1"].status == "success" and results["c3"].status == "success"
    assert tool_messages(model.prompts[-1])["c2"].content == results["c2"].content, "the model reads why"
    assert result["messages"][-1].content == "done", "the agent carries on"
    assert not (notes.dir / "keys.txt").exists()
    assert {call["arguments"]["path"] for call in notes.received()} == {"todo.txt"}, (
        "only c1 and c3 reached the server"
    )
    found = decisions_by_call(runtime.audit_log)
    assert {call: [row["decision"] for row in rows] for call, rows in found.items()} == {
        "c1": ["allow"],
        "c2": ["deny"],
        "c3": ["allow"],
    }


def test_agent_held_call_does_not_run(notes: Notes, runtime: ActionRuntime, mode: str) -> None:
    result, _ = run_agent(
        notes,
        runtime,
        mode,
        calls(("write_note", {"path": "drafts/a.txt", "text": "v1"}, "c1")),
        AIMessage("ok"),
    )

    held = tool_messages(result["messages"])["c1"]
    assert held.status == "error" and "hold-drafts" in held.content
    assert notes.files() == set() and notes.received() == []
    assert [row["decision"] for row in decisions_by_call(runtime.audit_log)["c1"]] == ["require_approval"]


# --- (c) what the server receives is what was decided --------------------------------------------------------


def test_the_server_receives_exactly_the_decided_arguments(
    notes: Notes, runtime: ActionRuntime, mode: str
) -> None:
    result, _ = run_agent(
        notes,
        runtime,
        mode,
        calls(
            ("write_note", {"path": "a.txt", "text": "x" * 3, "unknown": {"nested": [1, 2]}}, "c1"),
            ("add_hook", {"url": "https://hooks.test/one"}, "c2"),
            ("add_hook", {"url": "https://hooks.test/two", "callbacks": ["https://hooks.test/cb"]}, "c3"),
            ("read_note", {"path": "a.txt", "run_manager": "model-sent"}, "c4"),
        ),
        AIMessage("done"),
    )

    assert all(m.status == "success" for m in tool_messages(result["messages"]).values())
    decided = {row["call_id"]: row for row in decisions(runtime.audit_log)}
    assert set(decided) == {"c1", "c2", "c3", "c4"} and all(
        row["decision"] == "allow" for row in decided.values()
    )
    received = {(call["tool"], json.dumps(call["arguments"], sort_keys=True)) for call in notes.received()}
    assert received == {(row["tool"], json.dumps(row["args"], sort_keys=True)) for row in decided.values()}
    assert decided["c3"]["args"] == {"url": "https://hooks.test/two", "callbacks": ["https://hooks.test/cb"]}
    assert decided["c4"]["args"] == {"path": "a.txt"}, (
        "LangChain replaces a model-sent run_manager; it never reaches the server"
    )


def test_an_argument_named_callbacks_is_decided(notes: Notes, runtime: ActionRuntime, mode: str) -> None:
    """LangChain drops ``callbacks`` from what it shows as a tool's arguments, but a JSON-schema tool passes it on.

    Declared by the MCP tool (``add_hook``) or smuggled into one that does not
    declare it (``write_note``), it reaches the server: so it is decided.
    """
    result, _ = run_agent(
        notes,
        runtime,
        mode,
        calls(
            ("add_hook", {"url": "https://hooks.test/ok", "callbacks": ["https://evil.example/steal"]}, "c1"),
            ("write_note", {"path": "a.txt", "text": "plain", "callbacks": "the secret is 42"}, "c2"),
        ),
        AIMessage("done"),
    )

    results = tool_messages(result["messages"])
    assert "no-evil-hooks" in results["c1"].content and "no-secrets" in results["c2"].content
    assert notes.received() == [] and notes.files() == set()
    rows = decisions_by_call(runtime.audit_log)
    assert rows["c1"][0]["args"]["callbacks"] == ["https://evil.example/steal"]
    assert [row["decision"] for rows_ in rows.values() for row in rows_] == ["deny", "deny"]
