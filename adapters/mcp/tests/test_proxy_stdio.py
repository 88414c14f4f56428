"""The stdio proxy with the SDK's ClientSession as the client and an SDK-built server as the child."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from support import connect, decisions, text_of

from capfence import ActionRuntime
from conftest import CAPFENCE, demo_command, proxy_command

pytestmark = pytest.mark.anyio


async def test_allowed_runs_denied_does_not_and_both_are_recorded(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    async with connect([*proxy_command(policy, audit_log), "--", *demo_command(workdir)]) as session:
        ok = await session.call_tool("write_note", {"name": "a.txt", "text": "hello"})
        blocked = await session.call_tool("write_note", {"name": "b.txt", "text": "forbidden words"})
    assert not ok.is_error and (workdir / "a.txt").read_text() == "hello"
    assert blocked.is_error and not (workdir / "b.txt").exists()
    assert "CapFence deny: forbidden text [rule no-forbidden]" in text_of(blocked)
    assert blocked.meta is not None and blocked.meta["io.capfence/decision"]["rule"] == "no-forbidden"
    rows = decisions(audit_log)
    assert [(r["decision"], r["rule"]) for r in rows] == [("warn", "observe-notes"), ("deny", "no-forbidden")]
    identities = {(r["framework"], r["tool"], r["capability"], r["agent_id"]) for r in rows}
    assert identities == {("mcp", "demo/write_note", "mcp.demo.write_note", "mcp")}
    assert json.loads(rows[1]["payload"]) == {"name": "b.txt", "text": "forbidden words"}
    outcomes = [r["outcome"] for r in decisions_of_kind(audit_log, "outcome")]
    assert outcomes == ["ran", "blocked"]


def decisions_of_kind(audit_log: Path, kind: str) -> list[dict[str, Any]]:
    from capfence.testing import audit_rows

    return audit_rows(audit_log, kind)


async def test_everything_else_passes_through(policy: Path, audit_log: Path, workdir: Path) -> None:
    async with connect([*proxy_command(policy, audit_log), "--", *demo_command(workdir)]) as session:
        resources = await session.list_resources()
        readme = await session.read_resource("note://readme")
        prompt = await session.get_prompt("greet", {"who": "Ada"})
        await session.send_ping()
        tools = await session.list_tools()
    assert [str(r.uri) for r in resources.resources] == ["note://readme"]
    assert readme.contents[0].text == "the readme"  # type: ignore[union-attr]
    assert "Ada" in prompt.messages[0].content.text  # type: ignore[union-attr]
    assert {t.name for t in tools.tools} == {
        "write_note",
        "echo",
        "sleep_forever",
        "crash",
        "ask_name",
        "list_dir",
        "reroot",
    }
    assert decisions(audit_log) == [], "only tools/call is decided"


async def test_server_initiated_requests_reach_the_client(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    asked: list[str] = []

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async with connect(
        [*proxy_command(policy, audit_log), "--", *demo_command(workdir)], elicitation_callback=answer
    ) as session:
        result = await session.call_tool("ask_name", {})
    assert asked == ["Your name?"] and text_of(result) == "hello Ada"
    assert [r["decision"] for r in decisions(audit_log)] == ["allow"]


async def test_hide_denied_lists_only_what_can_be_allowed(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    command = [*proxy_command(policy, audit_log, "--hide-denied"), "--", *demo_command(workdir)]
    async with connect(command) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        called_anyway = await session.call_tool("crash", {})
        still_there = await session.call_tool("echo", {"text": "hi"})
    assert "crash" not in names, "denied whatever its arguments: hidden"
    assert "write_note" in names, "denied only for some arguments: listed"
    assert called_anyway.is_error and "never-crash" in text_of(called_anyway)
    assert text_of(still_there) == "hi", "the server did not crash: the hidden tool's call was not forwarded"


async def test_a_capabilities_file_maps_tools_onto_the_policys_capabilities(
    tmp_path: Path, audit_log: Path, workdir: Path
) -> None:
    policy = tmp_path / "fs-policy.yaml"
    policy.write_text(
        "deny:\n  - capability: filesystem.write\n    contains: secret\nwarn:\n  - capability: filesystem.write\n"
    )
    mapping = tmp_path / "capabilities.yaml"
    mapping.write_text("capabilities:\n  mcp.demo.write_note: filesystem.write\n")
    command = [
        *proxy_command(policy, audit_log, "--capabilities", str(mapping)),
        "--",
        *demo_command(workdir),
    ]
    async with connect(command) as session:
        denied = await session.call_tool("write_note", {"name": "s.txt", "text": "a secret"})
        warned = await session.call_tool("write_note", {"name": "w.txt", "text": "fine"})
        unmapped = await session.call_tool("echo", {"text": "x"})
    assert denied.is_error and not (workdir / "s.txt").exists()
    assert not warned.is_error and (workdir / "w.txt").exists()
    assert unmapped.is_error, "mcp.demo.echo is not in this policy: default deny"
    assert [r["capability"] for r in decisions(audit_log)] == [
        "filesystem.write",
        "filesystem.write",
        "mcp.demo.echo",
    ]


async def test_held_call_is_approved_through_elicitation_and_runs_once(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    questions: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    call = {"name": "r.txt", "text": "release 1.0"}
    async with connect(
        [*proxy_command(policy, audit_log), "--", *demo_command(workdir)], elicitation_callback=approve
    ) as session:
        first = await session.call_tool("write_note", call)
        assert not first.is_error and (workdir / "r.txt").read_text() == "release 1.0"
        (workdir / "r.txt").unlink()
        second = await session.call_tool("write_note", call)
    assert len(questions) == 2, "single use: the identical call is asked about again"
    assert "demo/write_note" in questions[0] and "release 1.0" in questions[0]
    assert not second.is_error
    requests = runtime.approvals.list()
    assert [(r.status, r.decided_by) for r in requests] == [
        ("consumed", "mcp-elicitation:mcp"),
        ("consumed", "mcp-elicitation:mcp"),
    ]
    assert [r["decision"] for r in decisions(audit_log)] == [
        "require_approval",
        "allow",
        "require_approval",
        "allow",
    ]


async def test_declining_through_elicitation_denies_the_request(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    command = [*proxy_command(policy, audit_log), "--", *demo_command(workdir)]
    async with connect(command, elicitation_callback=decline) as session:
        result = await session.call_tool("write_note", {"name": "r.txt", "text": "release 2"})
    assert result.is_error and "was denied by mcp-elicitation:mcp" in text_of(result)
    assert not (workdir / "r.txt").exists()
    assert [r.status for r in runtime.approvals.list()] == ["denied"]


async def test_without_elicitation_the_model_gets_the_approval_id_and_the_retry_runs_once(
    policy: Path, audit_log: Path, workdir: Path, runtime: ActionRuntime
) -> None:
    call = {"name": "r.txt", "text": "release 3"}
    async with connect([*proxy_command(policy, audit_log), "--", *demo_command(workdir)]) as session:
        held = await session.call_tool("write_note", call)
        assert held.is_error and not (workdir / "r.txt").exists()
        (request,) = runtime.approvals.list(status="pending")
        assert f"capfence approvals approve {request.id} --audit-log {audit_log}" in text_of(held)
        approved = subprocess.run(
            [
                str(CAPFENCE),
                "approvals",
                "approve",
                request.id,
                "--as",
                "alice",
                "--audit-log",
                str(audit_log),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert approved.returncode == 0, approved.stderr
        retried = await session.call_tool("write_note", call)
        assert not retried.is_error and (workdir / "r.txt").read_text() == "release 3"
        (workdir / "r.txt").unlink()
        again = await session.call_tool("write_note", call)
    assert again.is_error and not (workdir / "r.txt").exists(), "an approval runs the identical call once"
    assert [r.status for r in runtime.approvals.list()] == ["consumed", "pending"]
