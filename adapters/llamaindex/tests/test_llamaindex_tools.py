"""One gated LlamaIndex tool, called directly: what the policy sees, what a blocked call returns, what stays the same."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from li_support import DENIED, decisions, outcomes
from llama_index.core.tools import FunctionTool, ToolOutput
from llama_index.core.tools.types import BaseToolAsyncAdapter, adapt_to_async_tool
from pydantic import Field

from capfence import ActionRuntime, CapFenceError, CapFenceTool, ToolCallDenied
from capfence.call.wrapping import BINDING_ATTR, ORIGINAL_ATTR
from capfence.testing import audit_rows
from capfence_llamaindex import guard, tool_payload


def write_tool(workdir: Path, **options: Any) -> FunctionTool:
    def write_file(name: str, text: str = "default text") -> str:
        """Write text to a file."""
        (workdir / name).write_text(text)
        return f"wrote {name}"

    return FunctionTool.from_defaults(write_file, **options)


def gate(tool: Any, runtime: ActionRuntime, capability: str = "filesystem.write") -> Any:
    return CapFenceTool(tool=tool, agent_id="tester", capability=capability, gate=runtime)


def payloads(runtime: ActionRuntime) -> list[dict[str, Any]]:
    return [json.loads(row["payload"]) for row in decisions(runtime)]


# --- what stays the same -------------------------------------------------------------------


def test_gated_tool_keeps_class_metadata_and_schema(workdir: Path, runtime: ActionRuntime) -> None:
    tool = write_tool(workdir, return_direct=True)
    gated = gate(tool, runtime)
    assert type(gated).__name__ == "FunctionTool" and isinstance(gated, FunctionTool)
    assert gated.metadata == tool.metadata and gated.metadata.return_direct
    assert gated.metadata.fn_schema is tool.metadata.fn_schema
    assert gated.metadata.to_openai_tool() == tool.metadata.to_openai_tool()
    assert gated.requires_context is tool.requires_context
    assert gated.real_fn.__wrapped__ is tool.real_fn, (
        "the gated tool hands out its function behind the gate (test_llamaindex_conversions)"
    )


def test_callers_tool_is_untouched(workdir: Path, runtime: ActionRuntime) -> None:
    tool = write_tool(workdir, partial_params={"text": "p"})
    gated = gate(tool, runtime)
    assert type(tool) is FunctionTool and BINDING_ATTR not in tool.__dict__
    gated.metadata.description = "changed"
    gated.partial_params["text"] = "changed"
    assert tool.metadata.description.startswith("write_file(") and tool.partial_params == {"text": "p"}
    assert tool.call(name="secret.txt").content == "wrote secret.txt", "the caller's tool stays ungated"
    assert decisions(runtime) == []


def test_copies_of_a_gated_tool_stay_gated(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(write_tool(workdir), runtime)
    for clone in (copy.copy(gated), copy.deepcopy(gated)):
        assert clone.call(name="secret.txt").is_error
    assert not (workdir / "secret.txt").exists()


# --- blocked calls ---------------------------------------------------------------------------


def test_every_entry_point_returns_an_error_output_when_blocked(
    workdir: Path, runtime: ActionRuntime
) -> None:
    gated = gate(write_tool(workdir), runtime)
    for output in (gated(name="secret"), gated.call(name="secret"), asyncio.run(gated.acall(name="secret"))):
        assert isinstance(output, ToolOutput) and output.is_error
        assert output.content == DENIED and output.tool_name == "write_file"
        assert output.raw_input == {"kwargs": {"name": "secret", "text": "default text"}}
        assert isinstance(output.exception, ToolCallDenied) and output.exception.decision.rule == "no-secrets"
    assert list(workdir.iterdir()) == []
    assert outcomes(runtime) == ["blocked"] * 3


def test_a_default_deny_names_no_rule(workdir: Path, runtime: ActionRuntime) -> None:
    output = gate(write_tool(workdir), runtime, capability="nothing.matches").call(name="a")
    assert output.is_error and output.content.startswith("CapFence deny: ") and "[rule" not in output.content
    assert not (workdir / "a").exists()


def test_a_gated_class_without_binding_denies(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(write_tool(workdir), runtime)
    orphan = copy.copy(write_tool(workdir))
    orphan.__class__ = type(gated)
    for output in (orphan.call(name="a"), asyncio.run(orphan.acall(name="a"))):
        assert output.is_error and "internal_error" in output.content
    assert not (workdir / "a").exists()


def test_tool_errors_propagate_and_are_recorded(runtime: ActionRuntime) -> None:
    def broken(path: str) -> str:
        """Always fails."""
        raise OSError("disk full")

    gated = gate(FunctionTool.from_defaults(broken), runtime)
    with pytest.raises(OSError, match="disk full"):
        gated.call(path="a")
    with pytest.raises(OSError, match="disk full"):
        asyncio.run(gated.acall(path="a"))
    assert outcomes(runtime) == ["tool_error", "tool_error"]


# --- one decision per call -------------------------------------------------------------------


def test_dunder_call_funnels_into_call_with_one_decision(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(write_tool(workdir), runtime)
    assert gated(name="a.txt").content == "wrote a.txt"
    assert len(decisions(runtime)) == 1 and outcomes(runtime) == ["ran"]


def test_a_gated_async_adapter_makes_one_decision(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(write_tool(workdir), runtime)
    assert adapt_to_async_tool(gated) is gated, "agents use a gated FunctionTool as is"
    # acall -> thread -> call -> tool(input)
    adapter = gate(BaseToolAsyncAdapter(write_tool(workdir)), runtime)
    assert asyncio.run(adapter.acall("b.txt")).content == "wrote b.txt"
    assert adapter.call("secret.txt").is_error and not (workdir / "secret.txt").exists()
    assert [(row["tool"], row["decision"]) for row in decisions(runtime)] == [
        ("write_file", "warn"),
        ("write_file", "deny"),
    ]
    assert payloads(runtime)[0] == {"name": "b.txt"}


def test_a_tool_calling_itself_is_decided_again(runtime: ActionRuntime) -> None:
    """Inside a FunctionTool's own function the reentrancy guard is off: a nested call is a new call."""
    holder: dict[str, Any] = {}

    def countdown(n: int) -> str:
        """Count down."""
        return "done" if n == 0 else holder["tool"].call(n=n - 1).content

    holder["tool"] = gate(FunctionTool.from_defaults(countdown), runtime, capability="tool.countdown")
    assert holder["tool"].call(n=2).content == "done"
    assert [p["n"] for p in payloads(runtime)] == [2, 1, 0]


def test_rewrapping_rebinds_instead_of_stacking(workdir: Path, runtime: ActionRuntime) -> None:
    once = gate(write_tool(workdir), runtime)
    twice = gate(once, runtime, capability="filesystem.read")
    assert type(twice) is type(once) and type(once).__dict__[ORIGINAL_ATTR] is FunctionTool
    twice.call(name="a")
    assert [(row["capability"], row["decision"]) for row in decisions(runtime)] == [
        ("filesystem.read", "allow")
    ]


# --- the payload ------------------------------------------------------------------------------


def test_payload_binds_positional_args_and_applies_defaults(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(write_tool(workdir), runtime)
    gated.call("pos.txt")
    gated("both.txt", "given")
    assert payloads(runtime) == [
        {"name": "pos.txt", "text": "default text"},
        {"name": "both.txt", "text": "given"},
    ]


def test_payload_includes_partial_params_and_field_defaults(runtime: ActionRuntime) -> None:
    def send(to: str, body: str = Field(default="hi", description="Body."), account: str = "") -> str:
        """Send a message."""
        return f"sent to {to} from {account}"

    gated = gate(
        FunctionTool.from_defaults(send, partial_params={"account": "ops@example.com"}),
        runtime,
        capability="tool.send",
    )
    assert gated.call(to="bob").content == "sent to bob from ops@example.com"
    assert payloads(runtime) == [{"to": "bob", "body": "hi", "account": "ops@example.com"}]


def test_payload_leaves_out_the_context_argument() -> None:
    from li_context_tools import probe_with_context

    tool = FunctionTool.from_defaults(probe_with_context(lambda command: command))
    assert tool_payload(tool, (), {"ctx": object(), "command": "ls"}) == {"command": "ls"}


def test_payload_for_tools_without_a_signature_uses_the_schema_names() -> None:
    from test_llamaindex_contract import ProbeAsyncTool

    tool = ProbeAsyncTool(lambda command: command)
    assert tool_payload(tool, ("ls",), {}) == {"command": "ls"}
    assert tool_payload(tool, ("ls", "extra"), {}) == {"args": ["ls", "extra"]}


# --- guard() ----------------------------------------------------------------------------------


def test_guard_turns_a_function_into_a_gated_function_tool(workdir: Path, runtime: ActionRuntime) -> None:
    def write_file(name: str) -> str:
        """Write a file."""
        (workdir / name).write_text("x")
        return "ok"

    tool = guard(
        write_file, gate=runtime, agent_id="tester", capability="filesystem.write", return_direct=True
    )
    plain = FunctionTool.from_defaults(write_file, return_direct=True)
    assert (
        isinstance(tool, FunctionTool) and tool.metadata.to_openai_tool() == plain.metadata.to_openai_tool()
    )
    assert tool.metadata.return_direct
    assert tool.call(name="secret").content == DENIED and not (workdir / "secret").exists()
    assert tool.call(name="ok").content == "ok"
    row = decisions(runtime)[-1]
    assert (row["agent_id"], row["tool"], row["framework"], row["capability"]) == (
        "tester",
        "write_file",
        "llamaindex",
        "filesystem.write",
    )


def test_guard_as_a_decorator_on_an_async_function(runtime: ActionRuntime) -> None:
    @guard(gate=runtime, agent_id="tester", capability="filesystem.write", name="remember_note")
    async def remember(note: str) -> str:
        """Remember a note."""
        return f"noted {note}"

    assert isinstance(remember, FunctionTool) and remember.metadata.name == "remember_note"
    assert asyncio.run(remember.acall(note="milk")).content == "noted milk"
    assert remember(note="secret").content == DENIED
    assert [row["tool"] for row in decisions(runtime)] == ["remember_note", "remember_note"]


def test_guard_accepts_an_existing_tool_but_not_tool_options(workdir: Path, runtime: ActionRuntime) -> None:
    tool = write_tool(workdir)
    gated = guard(tool, gate=runtime, agent_id="tester", capability="filesystem.write")
    assert type(gated).__dict__[ORIGINAL_ATTR] is FunctionTool
    with pytest.raises(TypeError, match="name"):
        guard(tool, gate=runtime, agent_id="tester", capability="filesystem.write", name="other")  # type: ignore[call-overload]


def test_guard_rejects_bad_arguments(runtime: ActionRuntime) -> None:
    with pytest.raises(CapFenceError):
        guard(print, gate=runtime, agent_id="", capability="x")
    with pytest.raises(TypeError):
        guard(42, gate=runtime, agent_id="a", capability="x")  # type: ignore[call-overload]


def test_decision_records_carry_the_binding(workdir: Path, runtime: ActionRuntime) -> None:
    gate(write_tool(workdir), runtime).call(name="a")
    (row,) = audit_rows(runtime.audit_log)
    assert (row["agent_id"], row["tool"], row["framework"]) == ("tester", "write_file", "llamaindex")
    assert "call_id" not in json.loads(row["detail"] or "{}"), "outside a workflow step there is no call id"
