"""HTTP mode: the SDK's streamable-HTTP client -> the proxy (--listen) -> an SDK server over streamable HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client, types
from support import connect_http, decisions, text_of

from capfence import ActionRuntime

pytestmark = pytest.mark.anyio


async def test_calls_over_streamable_http_are_decided(
    http_proxy: str, workdir: Path, audit_log: Path
) -> None:
    async with connect_http(http_proxy) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        denied = await session.call_tool("write_note", {"name": "d.txt", "text": "forbidden"})
        allowed = await session.call_tool("write_note", {"name": "a.txt", "text": "fine"})
        readme = await session.read_resource("note://readme")
    assert "write_note" in names
    assert denied.is_error and "no-forbidden" in text_of(denied) and not (workdir / "d.txt").exists()
    assert not allowed.is_error and (workdir / "a.txt").read_text() == "fine"
    assert readme.contents[0].text == "the readme"  # type: ignore[union-attr]
    assert [r["decision"] for r in decisions(audit_log)] == ["deny", "warn"]


@pytest.mark.parametrize("proxy_options", [["--hide-denied"]])
async def test_hide_denied_filters_tools_list_over_streamable_http(
    http_proxy: str, workdir: Path, audit_log: Path
) -> None:
    async with connect_http(http_proxy) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        called_anyway = await session.call_tool("crash", {})
        echoed = await session.call_tool("echo", {"text": "hi"})
    assert "crash" not in names, "denied whatever its arguments: hidden"
    assert {"write_note", "echo"} <= names, "denied only for some arguments, or allowed: listed"
    assert called_anyway.is_error and "never-crash" in text_of(called_anyway)
    assert text_of(echoed) == "hi"


def test_sse_events_are_rewritten_whatever_their_line_endings() -> None:
    from capfence_mcp.http import _rewrite_sse

    stream = b'event: message\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: keep-alive\n\ndata: other\r\rdata: last\n\n'
    rewritten = _rewrite_sse(stream, lambda data: b"NEW" if data == b'{"a":\n1}' else None)
    assert rewritten == b"event: message\nid: 7\ndata: NEW\n\n: keep-alive\n\ndata: other\n\ndata: last\n\n"


async def test_a_held_call_is_asked_through_elicitation_on_the_posts_sse_stream(
    http_proxy: str, workdir: Path, audit_log: Path, runtime: ActionRuntime
) -> None:
    questions: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(
            action="accept", content={"name": "Ada"} if params.message == "Your name?" else {"approve": True}
        )

    call = {"name": "r.txt", "text": "release 8"}
    async with connect_http(http_proxy, elicitation_callback=approve) as session:
        first = await session.call_tool("write_note", call)
        assert not first.is_error and (workdir / "r.txt").read_text() == "release 8"
        (workdir / "r.txt").unlink()
        second = await session.call_tool("write_note", call)
        # the server's own elicitation still reaches the client
        asked_by_the_server = await session.call_tool("ask_name", {})
    assert not second.is_error and (workdir / "r.txt").exists()
    assert len(questions) == 3 and "demo/write_note" in questions[0] and "release 8" in questions[0], (
        "single use: asked again"
    )
    assert questions[2] == "Your name?" and text_of(asked_by_the_server) == "hello Ada"
    assert [(r.status, r.decided_by) for r in runtime.approvals.list()] == [
        ("consumed", "mcp-elicitation:mcp")
    ] * 2
    assert [r["decision"] for r in decisions(audit_log)] == [
        "require_approval",
        "allow",
        "require_approval",
        "allow",
        "allow",
    ]


async def test_over_http_declining_denies_and_without_elicitation_the_client_gets_the_approval_id(
    http_proxy: str, workdir: Path, runtime: ActionRuntime
) -> None:
    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with connect_http(http_proxy, elicitation_callback=decline) as session:
        declined = await session.call_tool("write_note", {"name": "d.txt", "text": "release 9"})
    async with connect_http(http_proxy) as session:
        held = await session.call_tool("write_note", {"name": "h.txt", "text": "release 10"})
    assert declined.is_error and "was denied by mcp-elicitation:mcp" in text_of(declined)
    (pending,) = runtime.approvals.list(status="pending")
    assert held.is_error and f"capfence approvals approve {pending.id}" in text_of(held)
    assert not (workdir / "d.txt").exists() and not (workdir / "h.txt").exists()


async def test_a_modern_client_over_http_is_asked_through_an_input_required_round_trip(
    http_proxy: str, workdir: Path, runtime: ActionRuntime
) -> None:
    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"approve": True})

    async with Client(http_proxy, mode="2026-07-28", elicitation_callback=approve) as client:
        result = await client.call_tool("write_note", {"name": "m.txt", "text": "release 11"})
    assert not result.is_error and (workdir / "m.txt").read_text() == "release 11"
    assert [r.status for r in runtime.approvals.list()] == ["consumed"]
