"""The proxy decides what the server acts on: the defaults of a tool's ``inputSchema`` are filled in, decided and sent.

The demo server's ``list_dir(path="/")`` answers with the arguments exactly as it received them; the
policy's ``only-srv`` rule denies ``list_dir`` outside ``/srv``. So a call with no ``path`` must be
decided (and denied) as ``{"path": "/"}``, and an allowed one must reach the server with the default
written out. ``reroot`` changes the default and sends ``notifications/tools/list_changed``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from support import WAIT, connect, connect_http, decisions, raw_proxy, scripted_server, text_of, verify

from capfence import ActionRuntime
from capfence.testing import audit_rows
from capfence_mcp import guard_session
from capfence_mcp.schemas import SchemaUnavailable, ToolSchemas, with_defaults
from conftest import demo_command, proxy_command

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


async def test_http_decides_and_sends_the_schema_defaults_and_reads_them_again_when_tools_change(
    http_proxy: str, audit_log: Path
) -> None:
    changed = ListChanged()
    async with connect_http(http_proxy, message_handler=changed) as session:
        await _defaults_are_decided_sent_and_refetched(session, changed, audit_log)


def test_the_proxys_own_tools_list_never_reaches_the_client(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    with raw_proxy(policy, audit_log, demo_command(workdir)) as client:
        client.request(1, "tools/call", {"name": "list_dir"})  # no "arguments" at all, no tools/list before
        denied = client.answer(1)["result"]
        client.request(2, "tools/call", {"name": "list_dir", "arguments": {"path": "/srv/x"}})
        allowed = client.answer(2)["result"]
        client.request(3, "ping")
        client.answer(3)
        stray = list(client.lines)
    assert denied["isError"] is True and "only-srv" in denied["content"][0]["text"]
    assert json.loads(allowed["content"][0]["text"]) == {"path": "/srv/x"}
    assert stray == [], "nothing but the answers to the client's own requests"


def assert_recorded_failure(audit_log: Path, tool: str, arguments: dict[str, Any], why: str) -> None:
    """The one call was denied with a decision record of its own (a failure, not the policy), then blocked, and the
    log verifies."""
    (row,) = decisions(audit_log)
    assert (row["tool"], row["capability"], row["decision"], row["rule"]) == (
        f"demo/{tool}",
        f"mcp.demo.{tool}",
        "deny",
        None,
    )
    assert row["reason"].startswith(f"internal_error: {why}"), row["reason"]
    assert json.loads(row["detail"])["decided_by"] == "internal_error"
    assert json.loads(row["payload"]) == arguments
    outcomes = audit_rows(audit_log, "outcome")
    assert [(o["outcome"], o["ref"]) for o in outcomes] == [("blocked", row["seq"])]
    verify(audit_log)


NOTE = {"name": "w.txt", "text": "hello"}


def test_a_tools_list_that_fails_denies_the_call(policy: Path, audit_log: Path, workdir: Path) -> None:
    with raw_proxy(policy, audit_log, demo_command(workdir, "--broken-listing")) as client:
        client.request(1, "tools/call", {"name": "write_note", "arguments": NOTE})
        result = client.answer(1)["result"]
    text = result["content"][0]["text"]
    assert (
        result["isError"] is True
        and "inputSchema is unknown" in text
        and "tools/list" in text
        and "broken" in text
    )
    assert not (workdir / "w.txt").exists()
    assert_recorded_failure(audit_log, "write_note", NOTE, "the tool's inputSchema is unknown")


@pytest.mark.parametrize("server_options", [["--broken-listing"]])
async def test_over_http_a_tools_list_that_fails_denies_the_call_and_records_it(
    http_proxy: str, audit_log: Path, workdir: Path
) -> None:
    async with connect_http(http_proxy) as session:
        result = await session.call_tool("write_note", NOTE)
    assert result.is_error and "inputSchema is unknown" in text_of(result)
    assert not (workdir / "w.txt").exists()
    assert_recorded_failure(audit_log, "write_note", NOTE, "the tool's inputSchema is unknown")


async def test_a_guarded_session_whose_listing_fails_denies_the_call_and_records_it(
    runtime: ActionRuntime, audit_log: Path, workdir: Path
) -> None:
    async with connect(demo_command(workdir, "--broken-listing")) as session:
        gated = guard_session(session, gate=runtime, agent_id="bot", server_name="demo")
        result = await gated.call_tool("write_note", NOTE)
    assert result.is_error and "the server's tools/list failed" in text_of(result)
    assert not (workdir / "w.txt").exists()
    runtime.close()  # the outcome record is written
    assert_recorded_failure(audit_log, "write_note", NOTE, "cannot decide this tools/call: SchemaUnavailable")


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
    policy, server = scripted_server(tmp_path, GARBLED_LISTING)
    with raw_proxy(policy, audit_log, server, "--request-timeout", "600") as client:
        client.request(1, "tools/call", {"name": "anything", "arguments": {}})
        result = client.answer(1)["result"]  # within WAIT: not after the 600 s request timeout
    assert result["isError"] is True and "malformed" in result["content"][0]["text"]
    assert_recorded_failure(audit_log, "anything", {}, "the tool's inputSchema is unknown")


def test_a_tool_the_server_does_not_list_is_denied(policy: Path, audit_log: Path, workdir: Path) -> None:
    with raw_proxy(policy, audit_log, demo_command(workdir)) as client:
        client.request(1, "tools/call", {"name": "not_listed", "arguments": {}})
        result = client.answer(1)["result"]
    assert (
        result["isError"] is True
        and "does not give an inputSchema for 'not_listed'" in result["content"][0]["text"]
    )
    assert_recorded_failure(audit_log, "not_listed", {}, "the tool's inputSchema is unknown")


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
