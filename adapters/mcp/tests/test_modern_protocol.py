"""Clients on the 2026-07-28 protocol (``server/discover``, per-request ``_meta``; no server-to-client requests).

A held call is asked through an ``input_required`` result carrying the elicitation: the SDK's ``Client``
answers it with its elicitation callback and retries the call, and the answer is recorded in the approval queue.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, types
from support import decisions, text_of

from capfence import ActionRuntime
from conftest import demo_command, proxy_command

pytestmark = pytest.mark.anyio


def modern_client(command: list[str], **options: Any) -> Client:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    return Client(params, mode="2026-07-28", **options)


async def test_a_held_call_is_approved_through_an_input_required_round_trip(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    questions: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    call = {"name": "r.txt", "text": "release 4"}
    async with modern_client(
        [*proxy_command(policy, audit_log), "--", *demo_command(workdir)], elicitation_callback=approve
    ) as client:
        assert client.protocol_version == "2026-07-28"
        first = await client.call_tool("write_note", call)
        assert not first.is_error and (workdir / "r.txt").read_text() == "release 4"
        (workdir / "r.txt").unlink()
        second = await client.call_tool("write_note", call)
    assert not second.is_error and (workdir / "r.txt").exists()
    assert len(questions) == 2 and "demo/write_note" in questions[0] and "release 4" in questions[0], (
        "single use: asked again"
    )
    assert [(r.status, r.decided_by) for r in runtime.approvals.list()] == [
        ("consumed", "mcp-elicitation:mcp")
    ] * 2
    assert [r["decision"] for r in decisions(audit_log)] == [
        "require_approval",
        "allow",
        "require_approval",
        "allow",
    ]


async def test_declining_denies_and_a_client_without_elicitation_gets_the_approval_id(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    command = [*proxy_command(policy, audit_log), "--", *demo_command(workdir)]
    async with modern_client(command, elicitation_callback=decline) as client:
        declined = await client.call_tool("write_note", {"name": "d.txt", "text": "release 5"})
    async with modern_client(command) as client:
        held = await client.call_tool("write_note", {"name": "h.txt", "text": "release 6"})
    assert declined.is_error and "was denied by mcp-elicitation:mcp" in text_of(declined)
    pending = runtime.approvals.list(status="pending")
    assert (
        held.is_error and len(pending) == 1 and f"capfence approvals approve {pending[0].id}" in text_of(held)
    )
    assert not (workdir / "d.txt").exists() and not (workdir / "h.txt").exists()
    assert [r.status for r in runtime.approvals.list()] == ["denied", "pending"]


async def test_an_answer_is_applied_only_to_the_call_it_was_asked_about(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    """A retry whose arguments differ from the held call's (or whose requestState is forged) does not carry the approval."""
    command = [*proxy_command(policy, audit_log), "--", *demo_command(workdir)]
    async with modern_client(command, elicitation_callback=_never) as client:
        asked = await client.session.call_tool(
            "write_note", {"name": "a.txt", "text": "release 7"}, allow_input_required=True
        )
        assert isinstance(asked, types.InputRequiredResult) and asked.request_state and asked.input_requests
        yes = {"capfence-approval": types.ElicitResult(action="accept", content={"approve": True})}
        swapped = await client.session.call_tool(
            "write_note",
            {"name": "b.txt", "text": "release 7 and more"},
            input_responses=yes,
            request_state=asked.request_state,
            allow_input_required=True,
        )
        forged_state = asked.request_state[:-4] + "0000"
        forged = await client.session.call_tool(
            "write_note",
            {"name": "a.txt", "text": "release 7"},
            input_responses=yes,
            request_state=forged_state,
            allow_input_required=True,
        )
    assert isinstance(swapped, types.InputRequiredResult), "the other call is held and asked about on its own"
    assert isinstance(forged, types.InputRequiredResult), "a forged state is not an answer"
    assert not (workdir / "a.txt").exists() and not (workdir / "b.txt").exists()
    assert [r.status for r in runtime.approvals.list()] == ["pending", "pending"]


async def _never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    raise AssertionError("driven by hand in this test")
