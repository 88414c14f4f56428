"""The Python client: guard_session, CapFenceTool on a session, and MCP tools loaded into LlamaIndex.

(langchain-mcp-adapters 0.3 imports ``mcp.server.fastmcp``, which mcp 2.x removed: it cannot be installed
next to this package until it supports mcp 2; see docs/adapters/mcp.md, "Limits".)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import connect, decisions, text_of

from capfence import ActionRuntime, CapFenceTool
from capfence_mcp import guard_session
from conftest import demo_command

pytestmark = pytest.mark.anyio


async def test_guard_session_decides_every_call_tool(
    runtime: ActionRuntime, workdir: Path, audit_log: Path
) -> None:
    async with connect(demo_command(workdir)) as session:
        gated = guard_session(session, gate=runtime, agent_id="bot", server_name="demo")
        assert type(gated).__name__ == "ClientSession" and gated is not session
        denied = await gated.call_tool("write_note", {"name": "d.txt", "text": "forbidden"})
        allowed = await gated.call_tool("write_note", {"name": "a.txt", "text": "fine"})
        ungated = await session.call_tool("echo", {"text": "the caller's session is not changed"})
    assert denied.is_error and "no-forbidden" in text_of(denied) and not (workdir / "d.txt").exists()
    assert not allowed.is_error and (workdir / "a.txt").exists()
    assert not ungated.is_error
    rows = decisions(audit_log)
    assert [(r["agent_id"], r["tool"], r["capability"], r["decision"], r["framework"]) for r in rows] == [
        ("bot", "demo/write_note", "mcp.demo.write_note", "deny", "mcp"),
        ("bot", "demo/write_note", "mcp.demo.write_note", "warn", "mcp"),
    ]


async def test_guard_session_maps_tool_names_to_capabilities(tmp_path: Path, workdir: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("warn:\n  - capability: notes.write\n")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        async with connect(demo_command(workdir)) as session:
            gated = guard_session(session, gate=rt, agent_id="bot", capabilities={"write_*": "notes.write"})
            written = await gated.call_tool("write_note", {"name": "n.txt", "text": "x"})
            echoed = await gated.call_tool("echo", {"text": "x"})
    assert not written.is_error and echoed.is_error, (
        "echo -> mcp.demo.echo (the server's own name): default deny"
    )
    assert [r["capability"] for r in decisions(tmp_path / "a.db")] == ["notes.write", "mcp.demo.echo"]


async def test_capfencetool_gates_a_session_under_one_capability(
    capfence_runtime: ActionRuntime, workdir: Path
) -> None:
    async with connect(demo_command(workdir)) as session:
        gated = CapFenceTool(
            tool=session, agent_id="contract-agent", capability="probe.run", gate=capfence_runtime
        )
        denied = await gated.call_tool("echo", {"text": "forbidden"})
        warned = await gated.call_tool("echo", {"text": "ls"})
    assert denied.is_error and text_of(warned) == "ls"
    rows = decisions(capfence_runtime.audit_log)
    assert [(r["capability"], r["decision"]) for r in rows] == [("probe.run", "deny"), ("probe.run", "warn")]


async def test_llama_index_tools_mcp_are_gated_by_the_llamaindex_adapter(
    runtime: ActionRuntime, workdir: Path, audit_log: Path
) -> None:
    from llama_index.core.tools import FunctionTool
    from llama_index.tools.mcp import BasicMCPClient, McpToolSpec

    command = demo_command(workdir)
    client = BasicMCPClient(command[0], args=command[1:])
    tools = {t.metadata.name: t for t in await McpToolSpec(client=client).to_tool_list_async()}
    write = CapFenceTool(
        tool=tools["write_note"], agent_id="li", capability="mcp.demo.write_note", gate=runtime
    )
    assert isinstance(write, FunctionTool)
    denied = await write.acall(name="d.txt", text="forbidden")
    allowed = await write.acall(name="a.txt", text="fine")
    assert denied.is_error and "CapFence deny" in denied.content and not (workdir / "d.txt").exists()
    assert not allowed.is_error and (workdir / "a.txt").read_text() == "fine"
    assert [(r["framework"], r["decision"]) for r in decisions(audit_log)] == [
        ("llamaindex", "deny"),
        ("llamaindex", "warn"),
    ]
