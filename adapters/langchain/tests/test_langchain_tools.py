"""A gated LangChain tool, called directly: what is preserved, what the policy sees, how a block looks."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain.tools import InjectedState, InjectedStore, ToolRuntime
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import (
    BaseTool,
    InjectedToolArg,
    InjectedToolCallId,
    StructuredTool,
    ToolException,
    tool,
)
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.memory import InMemoryStore
from lc_support import calls, decisions, file_tools, script, tool_messages
from pydantic import BaseModel, Field

import capfence
import capfence_langchain
from capfence import ActionRuntime, CapFenceTool
from capfence.call.wrapping import is_gated
from capfence.testing import audit_rows
from capfence_langchain import ToolCallDenied

DENIED = "CapFence deny: secrets are off limits [rule no-secrets]"


def gate(
    tool: Any, runtime: ActionRuntime, capability: str = "filesystem.write", agent_id: str = "test-agent"
) -> Any:
    return CapFenceTool(tool=tool, agent_id=agent_id, capability=capability, gate=runtime)


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1") -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}


# --- what wrapping preserves ------------------------------------------------------------


class WriteArgs(BaseModel):
    name: str = Field(description="File name, relative to the work directory")
    text: str = Field(default="", description="What to write")


class Greeter(BaseTool):
    name: str = "greeter"
    description: str = "Greets someone."
    greeting: str = "hello"

    def _run(self, who: str) -> str:
        return f"{self.greeting} {who}"


def _injected(
    q: str, call_id: Annotated[str, InjectedToolCallId], hidden: Annotated[int, InjectedToolArg] = 0
) -> str:
    """Has injected arguments."""
    return q


async def _async_only(q: str) -> str:
    """Async only."""
    return q


def _structured(name: str, text: str = "") -> str:
    """Write a file."""
    return name


def json_schema_tool() -> StructuredTool:
    schema = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "a path"}},
        "required": ["path"],
    }
    return StructuredTool(
        name="raw_schema",
        description="Tool with a JSON-schema args_schema.",
        args_schema=schema,
        func=lambda path: path,
    )


KINDS = {
    "@tool": lambda: file_tools(Path("/nonexistent"))["write_file"],
    "@tool(return_direct)": lambda: file_tools(Path("/nonexistent"))["finish"],
    "@tool(content_and_artifact)": lambda: file_tools(Path("/nonexistent"))["search"],
    "injected args": lambda: tool(_injected),
    "async only": lambda: StructuredTool.from_function(coroutine=_async_only),
    "args_schema model": lambda: StructuredTool.from_function(
        _structured, args_schema=WriteArgs, handle_tool_error=True
    ),
    "args_schema JSON": json_schema_tool,
    "BaseTool subclass": lambda: Greeter(greeting="hi", tags=["t"], metadata={"m": 1}),
}


def schema_of(tool: BaseTool) -> Any:
    schema = tool.tool_call_schema
    return schema if isinstance(schema, dict) else schema.model_json_schema()


@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_wrapping_preserves_what_the_model_and_langchain_see(make: Any, runtime: ActionRuntime) -> None:
    original = make()
    before = original.__dict__.copy()
    wrapped = gate(original, runtime)

    assert isinstance(wrapped, type(original)) and isinstance(wrapped, BaseTool)
    assert type(wrapped).__name__ == type(original).__name__ and is_gated(wrapped)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(original)
    assert schema_of(wrapped) == schema_of(original)
    assert wrapped.args == original.args
    for field in (
        "name",
        "description",
        "return_direct",
        "response_format",
        "handle_tool_error",
        "tags",
        "metadata",
        "args_schema",
    ):
        assert getattr(wrapped, field) == getattr(original, field), field
    assert repr(wrapped) == repr(original)
    assert type(original) is not type(wrapped) and not is_gated(original), "the caller's tool is not modified"
    assert original.__dict__ == before


def test_the_callers_tool_stays_ungated(workdir: Path, runtime: ActionRuntime) -> None:
    write_file = file_tools(workdir)["write_file"]
    gate(write_file, runtime)
    assert write_file.invoke({"name": "secret.txt", "text": "x"}).startswith("wrote")
    assert audit_rows(runtime.audit_log) == []


def test_copies_of_a_gated_tool_stay_gated(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["write_file"], runtime)
    for twin in (
        copy.copy(wrapped),
        copy.deepcopy(wrapped),
        wrapped.model_copy(update={"description": "Other words."}),
    ):
        with pytest.raises(ToolCallDenied):
            twin.invoke({"name": "secret.txt", "text": "x"})
    assert not (workdir / "secret.txt").exists()


def test_wrapping_twice_rebinds_instead_of_stacking(workdir: Path, runtime: ActionRuntime) -> None:
    once = gate(file_tools(workdir)["read_file"], runtime, capability="filesystem.write")
    twice = gate(once, runtime, capability="filesystem.read")
    assert type(twice) is type(once)
    twice.invoke({"name": "x"})
    assert [(r["capability"], r["decision"]) for r in audit_rows(runtime.audit_log)] == [
        ("filesystem.read", "allow")
    ]


# --- blocked calls -----------------------------------------------------------------------


def test_direct_call_raises_a_tool_exception(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["write_file"], runtime)
    with pytest.raises(ToolCallDenied) as caught:
        wrapped.invoke({"name": "secret.txt", "text": "x"})
    error = caught.value
    assert (
        isinstance(error, ToolException)
        and isinstance(error, capfence.ToolCallDenied)
        and isinstance(error, PermissionError)
    )
    assert str(error) == DENIED and error.decision.rule == "no-secrets"
    assert not (workdir / "secret.txt").exists()


def test_direct_async_call_raises_too(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["write_file"], runtime)
    with pytest.raises(ToolCallDenied):
        asyncio.run(wrapped.ainvoke({"name": "secret.txt", "text": "x"}))
    with pytest.raises(ToolCallDenied):
        asyncio.run(wrapped.arun({"name": "secret.txt", "text": "x"}))
    assert not (workdir / "secret.txt").exists()


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (True, DENIED),  # LangChain's True: the exception's message
        ("Not allowed.", "Not allowed."),  # a fixed text
        # computed from our ToolCallDenied
        (lambda e: f"blocked by rule {e.decision.rule}", "blocked by rule no-secrets"),
    ],
    ids=["true", "text", "callable"],
)
def test_handle_tool_error_returns_instead_of_raising(
    flag: Any, expected: str, workdir: Path, runtime: ActionRuntime
) -> None:
    write_file = file_tools(workdir)["write_file"]
    write_file.handle_tool_error = flag
    wrapped = gate(write_file, runtime)
    assert wrapped.invoke({"name": "secret.txt", "text": "x"}) == expected
    assert not (workdir / "secret.txt").exists()


@pytest.mark.parametrize("entry", ["invoke", "ainvoke"])
def test_call_with_a_tool_call_id_returns_an_error_tool_message(
    entry: str, workdir: Path, runtime: ActionRuntime
) -> None:
    wrapped = gate(file_tools(workdir)["search"], runtime)
    result = getattr(wrapped, entry)(tool_call("search", {"query": "secret"}, "abc"))
    message = asyncio.run(result) if entry == "ainvoke" else result
    assert isinstance(message, ToolMessage)
    assert (message.status, message.tool_call_id, message.name, message.content) == (
        "error",
        "abc",
        "search",
        DENIED,
    )
    assert not (workdir / "searched.txt").exists()


def test_held_call_raises_approval_required(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["write_file"], runtime, capability="deploy.production")
    with pytest.raises(capfence_langchain.ApprovalRequired) as caught:
        wrapped.invoke({"name": "release.txt", "text": "v2"})
    assert isinstance(caught.value, capfence.ApprovalRequired) and isinstance(caught.value, ToolException)
    assert caught.value.request_id and caught.value.request_id.startswith("apr_")
    assert not (workdir / "release.txt").exists()


def test_an_approved_call_runs_once_when_retried(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["write_file"], runtime, capability="deploy.production")
    held = wrapped.invoke(tool_call("write_file", {"name": "release.txt", "text": "v2"}, "first"))
    request_id = held.content.split("[approval request ")[1].rstrip("]")
    runtime.approvals.approve(request_id, by="ops-lead")

    retried = wrapped.invoke(tool_call("write_file", {"name": "release.txt", "text": "v2"}, "second"))
    assert retried.status == "success" and (workdir / "release.txt").read_text() == "v2"
    again = wrapped.invoke(tool_call("write_file", {"name": "release.txt", "text": "v2"}, "third"))
    assert again.status == "error", "an approval is good for one call"


def test_a_gated_class_without_binding_denies(workdir: Path, runtime: ActionRuntime) -> None:
    """Building a new instance of the gated class (not a copy) gives a tool with no binding: it must not run."""
    wrapped = gate(Greeter(), runtime, capability="report.greet")
    stray = type(wrapped)(greeting="hey")
    with pytest.raises(ToolCallDenied, match="no CapFence binding"):
        stray.invoke({"who": "x"})
    assert stray.invoke(tool_call("greeter", {"who": "x"})).status == "error"


# --- what the policy sees and the audit records -----------------------------------------------


def test_injected_arguments_are_not_in_the_payload(runtime: ActionRuntime) -> None:
    ran: list[tuple[str, str, int]] = []

    @tool
    def lookup(
        q: str, call_id: Annotated[str, InjectedToolCallId], hidden: Annotated[int, InjectedToolArg] = 0
    ) -> str:
        """Look something up."""
        ran.append((q, call_id, hidden))
        return q

    wrapped = gate(lookup, runtime, capability="report.lookup")
    assert wrapped.invoke(tool_call("lookup", {"q": "weather", "hidden": 7}, "c9")).content == "weather"
    assert ran == [("weather", "c9", 7)], "injected values still reach the tool"
    [row] = decisions(runtime.audit_log)
    assert row["args"] == {"q": "weather"}
    assert row["call_id"] == "c9"


def test_graph_injected_arguments_are_not_in_the_payload(runtime: ActionRuntime) -> None:
    """ToolRuntime, InjectedState and InjectedStore are added by the ToolNode inside create_agent."""
    seen: list[str] = []

    @tool
    def note(
        text: str,
        runtime: ToolRuntime,
        state: Annotated[dict[str, Any], InjectedState],
        store: Annotated[Any, InjectedStore()],
    ) -> str:
        """Take a note."""
        seen.append(f"{text} {runtime.tool_call_id} {len(state['messages'])} {type(store).__name__}")
        return "noted"

    model = script(calls(("note", {"text": "hi"}, "n1")), AIMessage("done"))
    agent = create_agent(model, [gate(note, runtime, "report.note")], store=InMemoryStore())
    result = agent.invoke({"messages": [HumanMessage("go")]})

    assert tool_messages(result["messages"])["n1"].content == "noted"
    assert seen == ["hi n1 2 InMemoryStore"]
    [row] = decisions(runtime.audit_log)
    assert row["args"] == {"text": "hi"}


def test_string_input_is_named_after_the_single_argument(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["read_file"], runtime, capability="filesystem.read")
    assert wrapped.invoke("notes.txt") == "no file named notes.txt"
    assert decisions(runtime.audit_log)[0]["args"] == {"name": "notes.txt"}


def test_non_string_results_are_returned_unchanged(workdir: Path, runtime: ActionRuntime) -> None:
    wrapped = gate(file_tools(workdir)["stats"], runtime, capability="report.stats")
    assert wrapped.invoke({"name": "a"}) == {"name": "a", "lines": 3, "sizes": [1, 2, 3]}
    artifact_tool = gate(file_tools(workdir)["search"], runtime, capability="report.search")
    message = artifact_tool.invoke(tool_call("search", {"query": "q"}))
    assert message.artifact == {"query": "q", "hits": [{"id": 1}, {"id": 2}]}


def test_a_tool_error_is_recorded_and_propagates(runtime: ActionRuntime) -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        gate(broken, runtime, capability="report.broken").invoke({"x": 1})
    outcomes = audit_rows(runtime.audit_log, kind="outcome")
    assert [o["outcome"] for o in outcomes] == ["tool_error"]


def test_a_tool_calling_itself_is_gated_at_every_level(runtime: ActionRuntime) -> None:
    """The reentrancy guard is for one entry point calling another, not for a body calling its own tool again."""
    holder: list[Any] = []

    @tool
    def countdown(n: int, tag: str = "") -> str:
        """Count down by calling itself."""
        return "liftoff" if n == 0 else holder[0].invoke({"n": n - 1, "tag": "secret" if n == 1 else ""})

    holder.append(gate(countdown, runtime, capability="report.countdown"))
    with pytest.raises(ToolCallDenied):
        holder[0].invoke({"n": 2})
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["allow", "allow", "deny"]
