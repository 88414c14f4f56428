"""Copies and conversions of a gated LlamaIndex tool: each is gated by the same binding, or refused.

One test (or more) per row of the "Copies and conversions" table in
docs/adapters/llamaindex.md. "Gated" is shown the same way every time: the
converted object, called directly and (where an agent would call it) from a
real agent loop on a scripted model, writes a decision record to the SQLite
audit log, is blocked by the ``no-secrets`` deny rule, and its function body
never runs (the file it would write does not exist).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import pickle
from pathlib import Path
from typing import Any, ClassVar

import pytest
from li_support import DENIED, calls, decisions, file_functions, file_tools, outcomes, scripted
from llama_index.core.agent.workflow import CodeActAgent, FunctionAgent, ToolCallResult
from llama_index.core.base.base_selector import BaseSelector, SelectorResult, SingleSelection
from llama_index.core.base.response.schema import Response
from llama_index.core.llms.mock import MockLLM
from llama_index.core.query_engine import CustomQueryEngine, RouterQueryEngine
from llama_index.core.retrievers import BaseRetriever, RouterRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.tools import FunctionTool, QueryEngineTool, RetrieverTool, ToolMetadata, ToolOutput
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.tools.types import BaseTool, BaseToolAsyncAdapter, adapt_to_async_tool

from capfence import ActionRuntime, CapFenceError, CapFenceTool, ToolCallDenied
from capfence_llamaindex import guard_agent

WRITE_SECRET = {"name": "secret.txt", "text": "x"}


def gate(tool: Any, runtime: ActionRuntime, capability: str = "filesystem.write") -> Any:
    return CapFenceTool(tool=tool, agent_id="tester", capability=capability, gate=runtime)


def gated_write(workdir: Path, runtime: ActionRuntime) -> FunctionTool:
    return gate(file_tools(workdir)["write_file"], runtime)


def assert_denied_once(
    runtime: ActionRuntime, workdir: Path, tool: str = "write_file", agent_id: str = "tester"
) -> None:
    """Exactly one decision, a deny by ``no-secrets`` for ``tool``, recorded blocked; nothing was written."""
    rows = decisions(runtime)
    assert [(r["agent_id"], r["tool"], r["capability"], r["decision"], r["rule"]) for r in rows] == [
        (agent_id, tool, "filesystem.write", "deny", "no-secrets")
    ]
    assert rows[0]["framework"] == "llamaindex"
    assert outcomes(runtime) == ["blocked"]
    assert not (workdir / "secret.txt").exists()


def run_agent(agent: Any) -> tuple[str, dict[str, ToolOutput]]:
    async def go() -> tuple[str, dict[str, ToolOutput]]:
        handler = agent.run(user_msg="go")
        events = [event async for event in handler.stream_events()]
        outputs = {e.tool_id: e.tool_output for e in events if isinstance(e, ToolCallResult)}
        return str(await handler), outputs

    return asyncio.run(go())


# --- fn / async_fn / real_fn ---------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["fn", "async_fn", "real_fn"])
def test_function_attributes_are_gated(attribute: str, workdir: Path, runtime: ActionRuntime) -> None:
    function = getattr(gated_write(workdir, runtime), attribute)
    with pytest.raises(ToolCallDenied, match="secrets are off limits"):
        result = function(**WRITE_SECRET)
        if inspect.isawaitable(result):
            asyncio.run(result)
    assert_denied_once(runtime, workdir)


def test_function_attributes_run_allowed_calls_once_and_keep_the_signature(
    workdir: Path, runtime: ActionRuntime
) -> None:
    plain = file_tools(workdir)["write_file"]
    gated = gate(plain, runtime)
    assert gated.fn(name="a.txt", text="hi") == "wrote a.txt"
    assert asyncio.run(gated.async_fn("b.txt", "hi")) == "wrote b.txt"
    assert [json.loads(r["payload"]) for r in decisions(runtime)] == [
        {"name": "a.txt", "text": "hi"},
        {"name": "b.txt", "text": "hi"},
    ]
    assert outcomes(runtime) == ["ran", "ran"]
    assert inspect.signature(gated.fn) == inspect.signature(plain.fn) and gated.fn.__name__ == "write_file"
    assert inspect.iscoroutinefunction(gated.async_fn) and not inspect.iscoroutinefunction(gated.fn)
    assert plain.fn is plain.real_fn, "the caller's tool still hands out its own function"


def test_a_function_tool_rebuilt_from_fn_is_gated_directly_and_in_an_agent(
    workdir: Path, runtime: ActionRuntime
) -> None:
    gated = gated_write(workdir, runtime)
    rebuilt = FunctionTool.from_defaults(fn=gated.fn)
    with pytest.raises(ToolCallDenied):
        rebuilt.call(**WRITE_SECRET)
    assert_denied_once(runtime, workdir)

    llm = scripted(calls(("write_file", WRITE_SECRET, "c1")), "done")
    answer, outputs = run_agent(FunctionAgent(tools=[rebuilt], llm=llm))
    assert answer == "done" and outputs["c1"].is_error and DENIED in outputs["c1"].content
    assert llm.saw(DENIED) and not (workdir / "secret.txt").exists()
    assert [r["decision"] for r in decisions(runtime)] == ["deny", "deny"]


def test_a_function_tool_rebuilt_from_async_fn_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    rebuilt = FunctionTool.from_defaults(async_fn=gated_write(workdir, runtime).async_fn, name="write_file")
    with pytest.raises(ToolCallDenied):
        asyncio.run(rebuilt.acall(**WRITE_SECRET))
    assert_denied_once(runtime, workdir)


def test_code_act_agent_runs_model_code_through_the_gated_function(
    workdir: Path, runtime: ActionRuntime
) -> None:
    """CodeActAgent describes tools from ``real_fn``; the code the model writes calls the functions it is given."""
    gated = gated_write(workdir, runtime)
    namespace: dict[str, Any] = {"write_file": gated.real_fn}

    async def execute(code: str) -> str:
        try:
            exec(code, namespace)
        except Exception as exc:
            return f"error: {exc}"
        return "ok"

    llm = scripted("<execute>write_file('secret.txt', 'x')</execute>", "done")
    agent = CodeActAgent(code_execute_fn=execute, tools=[gated], llm=llm)
    plain = CodeActAgent(code_execute_fn=execute, tools=[file_tools(workdir)["write_file"]], llm=MockLLM())
    assert agent._get_tool_descriptions([gated]) == plain._get_tool_descriptions(
        [file_tools(workdir)["write_file"]]
    )

    answer, _ = run_agent(agent)
    assert answer == "done" and llm.saw(f"error: {DENIED}")
    assert_denied_once(runtime, workdir)


# --- to_langchain_tool / to_langchain_structured_tool ------------------------------------------


def test_to_langchain_structured_tool_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    from langchain_core.tools import StructuredTool

    converted = gated_write(workdir, runtime).to_langchain_structured_tool()
    assert isinstance(converted, StructuredTool) and converted.name == "write_file"
    assert converted.invoke(WRITE_SECRET) == DENIED
    assert_denied_once(runtime, workdir)
    assert asyncio.run(converted.ainvoke({"name": "ok.txt", "text": "x"})) == "wrote ok.txt"
    assert (workdir / "ok.txt").exists() and [r["decision"] for r in decisions(runtime)] == ["deny", "warn"]


def test_to_langchain_tool_is_gated(workdir: Path, runtime: ActionRuntime) -> None:
    from langchain_core.tools import Tool

    def touch(name: str) -> str:
        """Create an empty file."""
        (workdir / name).write_text("")
        return f"touched {name}"

    converted = gate(FunctionTool.from_defaults(touch), runtime).to_langchain_tool()
    assert isinstance(converted, Tool)
    assert converted.invoke("secret.txt") == DENIED
    assert_denied_once(runtime, workdir, tool="touch")
    with pytest.raises(ToolCallDenied):
        converted.func("secret.txt")  # its function attribute is the gated one too


@pytest.mark.parametrize("structured", [True, False], ids=["structured", "tool"])
def test_a_converted_tool_in_a_langchain_agent_returns_an_error_message(
    structured: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, ToolMessage

    def touch(name: str) -> str:
        """Create an empty file."""
        (workdir / name).write_text("")
        return f"touched {name}"

    gated = gate(FunctionTool.from_defaults(touch), runtime)
    converted = gated.to_langchain_structured_tool() if structured else gated.to_langchain_tool()
    model = _scripted_chat_model(
        AIMessage(
            content="",
            tool_calls=[{"name": "touch", "args": {"name": "secret.txt"}, "id": "c1", "type": "tool_call"}],
        ),
        AIMessage(content="done"),
    )
    messages = create_agent(model, [converted]).invoke({"messages": [("user", "go")]})["messages"]
    result = next(m for m in messages if isinstance(m, ToolMessage))
    assert result.status == "error" and result.content == DENIED and messages[-1].content == "done"
    assert_denied_once(runtime, workdir, tool="touch")


def test_to_langchain_tool_of_another_tool_class_goes_through_its_gated_call(
    workdir: Path, runtime: ActionRuntime
) -> None:
    converted = gate(WriterTool(workdir), runtime).to_langchain_structured_tool()
    assert converted.invoke({"input": "secret.txt"}) == DENIED
    assert_denied_once(runtime, workdir)


# --- refused: what would reach the body without the tool ---------------------------------------


def test_query_engine_and_router_query_engine_are_refused(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(
        QueryEngineTool.from_defaults(WritingEngine(workdir=str(workdir)), name="write_file"), runtime
    )
    with pytest.raises(CapFenceError, match="does not hand out its query_engine"):
        _ = gated.query_engine
    with pytest.raises(CapFenceError, match="RouterQueryEngine"):
        RouterQueryEngine(selector=FirstChoice(), query_engine_tools=[gated], llm=MockLLM())
    with pytest.raises(CapFenceError, match="as_langchain_tool"):
        gated.as_langchain_tool()
    assert gated.call("secret.txt").content == DENIED, "the tool itself is still usable, and gated"
    assert_denied_once(runtime, workdir)


def test_retriever_and_router_retriever_are_refused(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gate(RetrieverTool.from_defaults(WritingRetriever(workdir), name="write_file"), runtime)
    with pytest.raises(CapFenceError, match="does not hand out its retriever"):
        _ = gated.retriever
    with pytest.raises(CapFenceError, match="RouterRetriever"):
        RouterRetriever(selector=FirstChoice(), retriever_tools=[gated], llm=MockLLM())
    assert gated.call("secret.txt").is_error
    assert_denied_once(runtime, workdir)


# --- copies, adapters, metadata, specs: gated by construction (pinned here) ----------------------


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copies_stay_gated_with_their_function_attributes(
    copier: Any, workdir: Path, runtime: ActionRuntime
) -> None:
    clone = copier(gated_write(workdir, runtime))
    assert clone.call(**WRITE_SECRET).content == DENIED
    with pytest.raises(ToolCallDenied):
        clone.fn(**WRITE_SECRET)
    assert [r["decision"] for r in decisions(runtime)] == ["deny", "deny"] and not (
        workdir / "secret.txt"
    ).exists()


def test_pickling_a_gated_tool_is_refused(workdir: Path, runtime: ActionRuntime) -> None:
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        pickle.dumps(gated_write(workdir, runtime))


def test_async_adapters_of_a_gated_tool_are_gated(workdir: Path, runtime: ActionRuntime) -> None:
    gated_sync = gate(WriterTool(workdir), runtime)
    adapted = adapt_to_async_tool(gated_sync)
    assert isinstance(adapted, BaseToolAsyncAdapter) and adapted.base_tool is gated_sync
    assert asyncio.run(adapted.acall("secret.txt")).content == DENIED
    assert adapt_to_async_tool(gated_write(workdir, runtime)).call(**WRITE_SECRET).content == DENIED
    assert [r["decision"] for r in decisions(runtime)] == ["deny", "deny"] and not (
        workdir / "secret.txt"
    ).exists()


def test_renaming_a_gated_tool_keeps_it_gated(workdir: Path, runtime: ActionRuntime) -> None:
    gated = gated_write(workdir, runtime)
    gated.metadata.name = "save"
    llm = scripted(calls(("save", WRITE_SECRET, "c1")), "done")
    _, outputs = run_agent(FunctionAgent(tools=[gated], llm=llm))
    assert outputs["c1"].is_error and outputs["c1"].content == DENIED
    assert_denied_once(runtime, workdir)


def test_tool_spec_tools_are_new_tools_gated_by_guard_agent(workdir: Path, runtime: ActionRuntime) -> None:
    """``to_tool_list()`` builds new tools from a spec's methods: they are gated where they are used."""

    class Files(BaseToolSpec):
        spec_functions: ClassVar[list[str]] = ["write_file"]

        def write_file(self, name: str, text: str) -> str:
            """Write a file."""
            return str(file_functions(workdir)["write_file"](name, text))

    llm = scripted(calls(("write_file", WRITE_SECRET, "c1")), "done")
    agent = guard_agent(
        FunctionAgent(tools=Files().to_tool_list(), llm=llm),
        gate=runtime,
        agent_id="tester",
        capabilities={"write_file": "filesystem.write"},
    )
    _, outputs = run_agent(agent)
    assert outputs["c1"].content == DENIED
    assert_denied_once(runtime, workdir)


# --- helpers -----------------------------------------------------------------------------------


class WriterTool(BaseTool):
    """A plain (not async) LlamaIndex tool that writes the file it is given."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(name="write_file", description="Write an empty file.")

    def __call__(self, input: str) -> ToolOutput:
        (self.workdir / input).write_text("")
        return ToolOutput(
            content=f"wrote {input}", tool_name="write_file", raw_input={"input": input}, raw_output=None
        )


class WritingEngine(CustomQueryEngine):
    """A query engine whose queries write a file named by the query."""

    workdir: str

    def custom_query(self, query_str: str) -> Response:
        (Path(self.workdir) / query_str).write_text("")
        return Response(response=f"wrote {query_str}")


class WritingRetriever(BaseRetriever):
    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        (self.workdir / query_bundle.query_str).write_text("")
        return [NodeWithScore(node=TextNode(text="found"), score=1.0)]


class FirstChoice(BaseSelector):
    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: Any) -> None:
        pass

    def _select(self, choices: Any, query: QueryBundle) -> SelectorResult:
        return SelectorResult(selections=[SingleSelection(index=0, reason="first")])

    async def _aselect(self, choices: Any, query: QueryBundle) -> SelectorResult:
        return self._select(choices, query)


def _scripted_chat_model(*replies: Any) -> Any:
    """A LangChain chat model that replies from a script (``GenericFakeChatModel`` plus ``bind_tools``)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    class Scripted(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    return Scripted(messages=iter(list(replies)))
