"""The proxy decides what the server acts on: the defaults of a tool's ``inputSchema`` are filled in, decided and sent.

The demo server's ``list_dir(path="/")`` answers with the arguments exactly as it received them; the
policy's ``only-srv`` rule denies ``list_dir`` outside ``/srv``. So a call with no ``path`` must be
decided (and denied) as ``{"path": "/"}``, and an allowed one must reach the server with the default
written out. ``reroot`` changes the default and sends ``notifications/tools/list_changed``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from support import WAIT, RawClient, connect, decisions, text_of
from test_proxy_http import free_port, wait_listening

from capfence.testing import audit_rows
from capfence_mcp.schemas import SchemaUnavailable, ToolSchemas, with_defaults
from conftest import DEMO_SERVER, demo_command, proxy_command

pytestmark = pytest.mark.anyio


class ListChanged:
    """A ClientSession message handler that remembers whether the server's tools changed (the condition tests wait on)."""

    def __init__(self) -> None:
        self.event = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if getattr(getattr(message, "root", message), "method", None) == "notifications/tools/list_changed":
            self.event.set()

    async def wait(self) -> None:
        with anyio.fail_after(WAIT):
            await self.event.wait()


async def _defaults_are_decided_sent_and_refetched(
    session: ClientSession, changed: ListChanged, audit_log: Path
) -> None:
    denied = await session.call_tool("list_dir", {})
    explicit = await session.call_tool("list_dir", {"path": "/srv/data"})
    assert denied.is_error and "only-srv" in text_of(denied), "decided as {'path': '/'}, not as {}"
    assert json.loads(text_of(explicit)) == {"path": "/srv/data"}
    moved = await session.call_tool("reroot", {"to": "/srv"})
    assert not moved.is_error
    await changed.wait()  # the proxy forgets the schemas before it passes the notification on
    after = await session.call_tool("list_dir", {})
    assert not after.is_error, "the new default (/srv) was read again: the old one (/) would be denied"
    assert json.loads(text_of(after)) == {"path": "/srv"}, "the server received the default it was decided on"
    rows = [r for r in decisions(audit_log) if r["tool"] == "demo/list_dir"]
    assert [(r["decision"], json.loads(r["payload"])) for r in rows] == [
        ("deny", {"path": "/"}),
        ("allow", {"path": "/srv/data"}),
        ("allow", {"path": "/srv"}),
    ]


async def test_stdio_decides_and_sends_the_schema_defaults_and_reads_them_again_when_tools_change(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    changed = ListChanged()
    async with connect(
        [*proxy_command(policy, audit_log), "--", *demo_command(workdir)], message_handler=changed
    ) as session:
        await _defaults_are_decided_sent_and_refetched(session, changed, audit_log)


@pytest.fixture
def http_upstream(workdir: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(DEMO_SERVER), "http", str(port), "--workdir", str(workdir)]
    )
    try:
        wait_listening(port, server)
        yield port, server
    finally:
        server.terminate()
        server.wait(WAIT)


@pytest.fixture
def http_proxy_to(
    policy: Path, audit_log: Path, http_upstream: tuple[int, subprocess.Popen[bytes]]
) -> Iterator[str]:
    port = free_port()
    proxy = subprocess.Popen(
        [
            *proxy_command(policy, audit_log),
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"http://127.0.0.1:{http_upstream[0]}/mcp",
        ]
    )
    try:
        wait_listening(port, proxy)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proxy.terminate()
        proxy.wait(WAIT)


async def test_http_decides_and_sends_the_schema_defaults_and_reads_them_again_when_tools_change(
    http_proxy_to: str, audit_log: Path
) -> None:
    changed = ListChanged()
    async with (
        streamable_http_client(http_proxy_to) as (read, write),
        ClientSession(read, write, message_handler=changed) as session,
    ):
        await session.initialize()
        await _defaults_are_decided_sent_and_refetched(session, changed, audit_log)


def test_the_proxys_own_tools_list_never_reaches_the_client(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    client = RawClient([*proxy_command(policy, audit_log), "--", *demo_command(workdir)])
    try:
        client.initialize()
        client.request(1, "tools/call", {"name": "list_dir"})  # no "arguments" at all, no tools/list before
        denied = client.answer(1)["result"]
        client.request(2, "tools/call", {"name": "list_dir", "arguments": {"path": "/srv/x"}})
        allowed = client.answer(2)["result"]
        client.request(3, "ping")
        client.answer(3)
        stray = list(client.lines)
    finally:
        client.close()
    assert denied["isError"] is True and "only-srv" in denied["content"][0]["text"]
    assert json.loads(allowed["content"][0]["text"]) == {"path": "/srv/x"}
    assert stray == [], "nothing but the answers to the client's own requests"


def test_a_tools_list_that_fails_denies_the_call(policy: Path, audit_log: Path, workdir: Path) -> None:
    client = RawClient([*proxy_command(policy, audit_log), "--", *demo_command(workdir, "--broken-listing")])
    try:
        client.initialize()
        client.request(
            1, "tools/call", {"name": "write_note", "arguments": {"name": "w.txt", "text": "hello"}}
        )
        result = client.answer(1)["result"]
    finally:
        client.close()
    text = result["content"][0]["text"]
    assert (
        result["isError"] is True
        and "inputSchema is unknown" in text
        and "tools/list" in text
        and "broken" in text
    )
    assert not (workdir / "w.txt").exists()
    assert [r["outcome"] for r in audit_rows(audit_log, "outcome")] == ["blocked"]


GARBLED_LISTING = r"""
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "garbled", "version": "0"}}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
    elif message.get("method") == "tools/list":
        print('{"jsonrpc":"2.0","id":%s,"result":{"tools":[],"tools":[]}}' % json.dumps(message["id"]), flush=True)
    elif message.get("method") == "tools/call":
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": "ran"}]}}), flush=True)
"""


def test_a_malformed_tools_list_answer_denies_the_call_at_once(tmp_path: Path, audit_log: Path) -> None:
    server = tmp_path / "garbled_server.py"
    server.write_text(GARBLED_LISTING)
    policy = tmp_path / "p.yaml"
    policy.write_text("allow:\n  - capability: 'mcp.*'\n")
    client = RawClient(
        [*proxy_command(policy, audit_log, "--request-timeout", "600"), "--", sys.executable, str(server)]
    )
    try:
        client.initialize()
        client.request(1, "tools/call", {"name": "anything", "arguments": {}})
        result = client.answer(1)["result"]  # within WAIT: not after the 600 s request timeout
    finally:
        client.close()
    assert result["isError"] is True and "malformed" in result["content"][0]["text"]


def test_a_tool_the_server_does_not_list_is_denied(policy: Path, audit_log: Path, workdir: Path) -> None:
    client = RawClient([*proxy_command(policy, audit_log), "--", *demo_command(workdir)])
    try:
        client.initialize()
        client.request(1, "tools/call", {"name": "not_listed", "arguments": {}})
        result = client.answer(1)["result"]
    finally:
        client.close()
    assert (
        result["isError"] is True
        and "does not give an inputSchema for 'not_listed'" in result["content"][0]["text"]
    )


# --- the schema reading itself -------------------------------------------------------------------


def test_top_level_defaults_are_filled_nested_ones_are_not() -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "default": "/"},
            "given": {"type": "string", "default": "unused"},
            "options": {"type": "object", "properties": {"recursive": {"type": "boolean", "default": True}}},
            "limits": {"type": "object", "default": {"depth": 1}},
            "plain": {"type": "string"},
        },
    }
    filled = with_defaults({"given": "mine", "options": {}}, schema)
    assert filled == {"path": "/", "given": "mine", "options": {}, "limits": {"depth": 1}}
    filled["limits"]["depth"] = 9
    assert schema["properties"]["limits"]["default"] == {"depth": 1}, (
        "a copy of the default, never the schema's object"
    )


def test_local_refs_are_followed_and_other_refs_refuse_the_schema() -> None:
    schema = {
        "$ref": "#/$defs/Args",
        "$defs": {
            "Args": {
                "type": "object",
                "properties": {
                    "mode": {"$ref": "#/$defs/Mode"},
                    "level": {"$ref": "#/$defs/Mode", "default": "b"},
                },
            },
            "Mode": {"enum": ["a", "b"], "default": "a"},
        },
    }
    assert with_defaults({}, schema) == {"mode": "a", "level": "b"}
    with pytest.raises(SchemaUnavailable, match="not local"):
        with_defaults({}, {"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}})
    with pytest.raises(SchemaUnavailable, match="cycle"):
        with_defaults({}, {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}})
    with pytest.raises(SchemaUnavailable, match="names nothing"):
        with_defaults({}, {"$ref": "#/$defs/Missing"})


async def test_the_listing_follows_cursors_and_is_read_again_if_the_tools_changed_meanwhile() -> None:
    schemas = ToolSchemas()
    asked: list[str | None] = []

    async def list_page(cursor: str | None) -> dict[str, Any]:
        asked.append(cursor)
        if cursor is None and len(asked) == 1:
            schemas.invalidate()  # tools/list_changed arrived while listing: this answer may be the old list
        if cursor is None:
            return {"tools": [{"name": "a", "inputSchema": {"type": "object"}}], "nextCursor": "p2"}
        return {
            "tools": [{"name": "b", "inputSchema": {"type": "object", "properties": {"x": {"default": 1}}}}]
        }

    assert await schemas.schema("b", list_page) == {"type": "object", "properties": {"x": {"default": 1}}}
    assert asked == [None, "p2", None, "p2"]

    async def endless(cursor: str | None) -> dict[str, Any]:
        return {"tools": [], "nextCursor": "same"}

    with pytest.raises(SchemaUnavailable, match="cursors do not end"):
        await ToolSchemas().schema("b", endless)


def test_an_answer_to_a_listing_asked_before_the_tools_changed_is_not_learned() -> None:
    schemas = ToolSchemas()
    asked_at = schemas.generation
    schemas.invalidate()
    schemas.learn({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}, asked_at)
    assert schemas.known("a") is None
    schemas.learn({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}, schemas.generation)
    assert schemas.known("a") == {"type": "object"}
