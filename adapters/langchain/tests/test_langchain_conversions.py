"""Copies and conversions of a gated LangChain tool: each is gated by the same binding, or refused.

One test (or parametrized case) per row of the "Copies and conversions" table
in docs/adapters/langchain.md. "Gated" is shown the same way every time: the
converted object, invoked directly and (for the ones an agent can be given)
from a ``create_agent`` loop on a scripted model, writes a decision record to
the SQLite audit log, is blocked by the ``no-secrets`` deny rule, and its body
never runs (the file it would write does not exist).
"""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.runnables import ConfigurableField, RunnableLambda
from langchain_core.tools import BaseTool, StructuredTool, Tool
from langchain_core.tools.render import render_text_description
from langchain_core.utils.function_calling import convert_to_openai_tool
from lc_support import calls, decisions, file_tools, script, tool_messages

from capfence import ActionRuntime, CapFenceError, CapFenceTool
from capfence_langchain import ToolCallDenied

SECRET = {"name": "secret.txt", "text": "x"}
DENIED = "CapFence deny: secrets are off limits [rule no-secrets]"


def gate(tool: BaseTool, runtime: ActionRuntime, capability: str = "filesystem.write") -> Any:
    return CapFenceTool(tool=tool, agent_id="test-agent", capability=capability, gate=runtime)


def gated_write(workdir: Path, runtime: ActionRuntime) -> Any:
    return gate(file_tools(workdir)["write_file"], runtime)


def assert_denied(runtime: ActionRuntime, workdir: Path, times: int = 1) -> None:
    """``times`` decisions, each a deny by ``no-secrets`` for write_file under the tool's binding; nothing written."""
    rows = decisions(runtime.audit_log)
    assert [(r["agent_id"], r["tool"], r["capability"], r["decision"], r["rule"]) for r in rows] == [
        ("test-agent", "write_file", "filesystem.write", "deny", "no-secrets")
    ] * times
    assert not (workdir / "secret.txt").exists()


def run_agent(tool: BaseTool, args: dict[str, Any]) -> dict[str, Any]:
    """A create_agent loop whose scripted model calls ``tool`` once with ``args``, then answers."""
    model = script(calls((tool.name, args, "c1")), AIMessage(content="done"))
    messages = create_agent(model, [tool]).invoke({"messages": [("user", "go")]})["messages"]
    assert messages[-1].content == "done"
    return tool_messages(messages)


# --- gated by construction: they wrap or copy the gated tool --------------------------------------

WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "model_copy": lambda t: t.model_copy(),
    "model_copy(update)": lambda t: t.model_copy(update={"description": "Other words."}),
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
    "with_config": lambda t: t.with_config(tags=["x"]),
    "bind": lambda t: t.bind(),
    "with_types": lambda t: t.with_types(input_type=dict),
    "with_listeners": lambda t: t.with_listeners(on_start=lambda run: None),
    "pipe": lambda t: t.pipe(RunnableLambda(lambda out: out)),
    "|": lambda t: t | RunnableLambda(lambda out: out),
    "configurable_fields (default)": lambda t: t.configurable_fields(description=ConfigurableField(id="d")),
    "configurable_alternatives (default)": lambda t: t.configurable_alternatives(
        ConfigurableField(id="w"), other=RunnableLambda(str)
    ),
}


@pytest.mark.parametrize("make", WRAPPERS.values(), ids=WRAPPERS.keys())
def test_wrappers_and_copies_invoke_the_gated_tool(
    make: Callable[[Any], Any], workdir: Path, runtime: ActionRuntime
) -> None:
    converted = make(gated_write(workdir, runtime))
    with pytest.raises(ToolCallDenied):
        converted.invoke(SECRET)
    with pytest.raises(ToolCallDenied):
        asyncio.run(converted.ainvoke(SECRET))
    assert_denied(runtime, workdir, times=2)


def test_map_and_with_retry_decide_every_call(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    with pytest.raises(ToolCallDenied):
        gated.map().invoke([SECRET])
    with pytest.raises(ToolCallDenied):
        gated.with_retry(stop_after_attempt=2, wait_exponential_jitter=False).invoke(SECRET)
    assert_denied(runtime, workdir, times=3)  # the retry is decided (and denied) again


def test_a_copy_in_an_agent_loop(workdir: Path, runtime: ActionRuntime) -> None:
    result = run_agent(gated_write(workdir, runtime).model_copy(), SECRET)["c1"]
    assert result.status == "error" and result.content == DENIED
    assert_denied(runtime, workdir)


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_as_tool_invokes_the_gated_tool_and_reports_a_block_as_its_error(
    workdir: Path, runtime: ActionRuntime
) -> None:
    converted = gated_write(workdir, runtime).as_tool(name="write_file")
    assert converted.invoke(SECRET) == DENIED
    assert asyncio.run(converted.ainvoke(SECRET)) == DENIED
    result = run_agent(converted, SECRET)["c1"]
    assert result.status == "error" and result.content == DENIED
    assert_denied(runtime, workdir, times=3)


def test_pickling_is_refused(workdir: Path, runtime: ActionRuntime) -> None:
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        pickle.dumps(gated_write(workdir, runtime))


def test_schema_only_conversions_are_unchanged(workdir: Path, runtime: ActionRuntime) -> None:
    plain = file_tools(workdir)["write_file"]
    gated = gate(plain, runtime)
    assert convert_to_openai_tool(gated) == convert_to_openai_tool(plain)
    assert render_text_description([gated]) == render_text_description([plain])  # reads signature(tool.func)
    assert decisions(runtime.audit_log) == []


# --- func / coroutine: the function behind the gate ------------------------------------------------


def test_func_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    with pytest.raises(ToolCallDenied):
        gated.func(**SECRET)
    assert gated.func(name="ok.txt", text="x").startswith("wrote")
    assert (workdir / "ok.txt").exists()
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["deny", "warn"]
    assert [r["args"] for r in decisions(runtime.audit_log)] == [SECRET, {"name": "ok.txt", "text": "x"}]


def test_coroutine_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    async def write_file(name: str, text: str) -> str:
        """Write a file."""
        (workdir / name).write_text(text)
        return "wrote"

    gated = gate(StructuredTool.from_function(coroutine=write_file), runtime)
    assert gated.func is None
    with pytest.raises(ToolCallDenied):
        asyncio.run(gated.coroutine(**SECRET))
    rebuilt = StructuredTool.from_function(coroutine=gated.coroutine, name="write_file")
    with pytest.raises(ToolCallDenied):
        asyncio.run(rebuilt.ainvoke(SECRET))
    assert_denied(runtime, workdir, times=2)


def test_a_tool_rebuilt_from_func_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    rebuilt = StructuredTool.from_function(func=gated.func, name="write_file", description="Write a file.")
    with pytest.raises(ToolCallDenied):
        rebuilt.invoke(SECRET)
    assert_denied(runtime, workdir)


def test_a_tool_rebuilt_from_func_in_an_agent_loop(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    handled = StructuredTool.from_function(
        func=gated.func, name="write_file", description="Write a file.", handle_tool_error=True
    )
    result = run_agent(handled, SECRET)["c1"]
    assert result.status == "error" and result.content == DENIED
    unhandled = StructuredTool.from_function(func=gated.func, name="write_file", description="Write a file.")
    # LangChain's ToolNode re-raises an unhandled ToolException: the run stops
    with pytest.raises(ToolCallDenied):
        run_agent(unhandled, SECRET)
    assert_denied(runtime, workdir, times=2)


def test_a_single_input_tool_rebuilt_from_func_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    def touch(name: str) -> str:
        (workdir / name).write_text("")
        return "touched"

    gated = gate(Tool(name="write_file", description="Create a file.", func=touch), runtime)
    with pytest.raises(ToolCallDenied):
        Tool(name="write_file", description="Create a file.", func=gated.func).invoke("secret.txt")
    assert_denied(runtime, workdir)


@pytest.mark.parametrize("dump", [lambda t: t.model_dump(), dict], ids=["model_dump", "dict"])
def test_a_tool_rebuilt_from_a_dump_is_gated(
    dump: Callable[[Any], dict[str, Any]], workdir: Path, runtime: ActionRuntime
) -> None:
    rebuilt = StructuredTool.model_validate(dump(gated_write(workdir, runtime)))
    with pytest.raises(ToolCallDenied):
        rebuilt.invoke(SECRET)
    assert_denied(runtime, workdir)


def test_the_tools_own_run_decides_once(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    gated.invoke({"name": "a.txt", "text": "x"})
    asyncio.run(gated.ainvoke({"name": "b.txt", "text": "x"}))
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["warn", "warn"]


# --- configurable_fields: a configured copy keeps the binding ---------------------------------------


def test_a_configured_copy_keeps_the_binding(workdir: Path, runtime: ActionRuntime) -> None:
    configurable = gated_write(workdir, runtime).configurable_fields(description=ConfigurableField(id="desc"))
    config = {"configurable": {"desc": "Write a file (configured)."}}
    assert configurable.invoke({"name": "ok.txt", "text": "x"}, config=config).startswith("wrote")
    with pytest.raises(ToolCallDenied):
        configurable.invoke(SECRET, config=config)
    rows = decisions(runtime.audit_log)
    assert [(r["agent_id"], r["capability"], r["decision"]) for r in rows] == [
        ("test-agent", "filesystem.write", "warn"),
        ("test-agent", "filesystem.write", "deny"),
    ]
    assert not (workdir / "secret.txt").exists()


# --- with_fallbacks: an ungated tool as a fallback is refused ---------------------------------------


def test_an_ungated_fallback_tool_is_refused(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    with pytest.raises(CapFenceError, match="gate each fallback tool"):
        gated.with_fallbacks([file_tools(workdir)["write_file"]])
    assert not (workdir / "secret.txt").exists()


def test_gated_and_non_tool_fallbacks_are_allowed(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    fallback = gate(file_tools(workdir)["write_file"], runtime)
    with pytest.raises(ToolCallDenied):
        gated.with_fallbacks([fallback]).invoke(SECRET)
    assert gated.with_fallbacks([RunnableLambda(lambda _: "not written")]).invoke(SECRET) == "not written"
    assert_denied(runtime, workdir, times=3)  # the gated fallback is decided too
