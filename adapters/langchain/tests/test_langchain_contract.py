"""The LangChain adapter passes CapFence's adapter contract suite, for each kind of LangChain tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from lc_support import calls, script

from capfence.call.gate import Binding
from capfence.call.wrapping import binding_of
from capfence.testing import AdapterContract, Body, capfence_runtime  # noqa: F401 - fixture
from capfence_langchain import CapFenceMiddleware


class _Rewrite(AgentMiddleware):
    """Listed after CapFence's middleware: changes the call's arguments after CapFence decided them."""

    def __init__(self, args: dict[str, Any]) -> None:
        super().__init__()
        self.args = args

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], ToolMessage]) -> ToolMessage:
        return handler(request.override(tool_call={**request.tool_call, "args": self.args}))


SYNC_ENTRY_POINTS = ("invoke", "run", "batch", "stream")
ASYNC_ENTRY_POINTS = ("ainvoke", "arun", "abatch", "astream")


async def _collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


class TestStructuredToolContract(AdapterContract):
    """A ``StructuredTool`` from a sync function (what ``@tool`` builds)."""

    framework = "langchain"
    entry_points = SYNC_ENTRY_POINTS + ASYNC_ENTRY_POINTS

    def make_tool(self, body: Body) -> Any:
        def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return StructuredTool.from_function(probe)

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        if entry_point in ("batch", "abatch"):
            return getattr(tool, entry_point)([payload])
        if entry_point == "stream":
            return list(tool.stream(payload))
        if entry_point == "astream":
            return _collect(tool.astream(payload))
        return getattr(tool, entry_point)(payload)

    def make_defaulted_tool(self, body: Body) -> Any:
        def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return StructuredTool.from_function(probe)

    def run_rewritten(self, tool: Any, decided: dict[str, Any], actual: dict[str, Any]) -> Any:
        """A real agent loop: CapFence's middleware decides ``decided``; a middleware inside it rewrites to ``actual``."""
        binding: Binding = binding_of(tool)
        guard = CapFenceMiddleware(
            gate=binding.gate, agent_id=binding.agent_id, capabilities={tool.name: binding.capability}
        )
        model = script(calls((tool.name, decided, "call-1")), AIMessage("done"))
        agent = create_agent(model, [tool], middleware=[guard, _Rewrite(actual)])
        return agent.invoke({"messages": [HumanMessage("go")]})

    def call_with_id(self, tool: Any, payload: dict[str, Any], call_id: str) -> Any:
        return tool.invoke({"type": "tool_call", "name": tool.name, "args": payload, "id": call_id})

    def conversions(self, tool: Any) -> dict[str, Callable[[dict[str, Any]], Any]]:
        converted = {
            "model_copy": lambda payload: tool.model_copy().invoke(payload),
            "with_config": lambda payload: tool.with_config(tags=["x"]).invoke(payload),
            "with_retry": lambda payload: tool.with_retry().invoke(payload),
            "pipe": lambda payload: tool.pipe(RunnableLambda(str)).invoke(payload),
            "as_tool": lambda payload: tool.as_tool(name="again").invoke(payload),
        }
        if getattr(tool, "func", None) is not None:
            converted["StructuredTool.from_function(func=tool.func)"] = lambda payload: (
                StructuredTool.from_function(func=tool.func, name="again", description="Again.").invoke(
                    payload
                )
            )
        return converted

    def describe(self, tool: Any) -> dict[str, Any]:
        return {
            "name": tool.name,
            "description": tool.description,
            "schema": convert_to_openai_tool(tool),
            "args": tool.args,
            "return_direct": tool.return_direct,
            "response_format": tool.response_format,
        }


class TestAsyncStructuredToolContract(TestStructuredToolContract):
    """A coroutine-only ``StructuredTool``: LangChain only supports the async entry points for it."""

    entry_points = ASYNC_ENTRY_POINTS

    def make_tool(self, body: Body) -> Any:
        async def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return StructuredTool.from_function(coroutine=probe)

    def make_defaulted_tool(self, body: Body) -> Any:
        async def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return StructuredTool.from_function(coroutine=probe)

    def run_rewritten(self, tool: Any, decided: dict[str, Any], actual: dict[str, Any]) -> Any:
        # an agent with a coroutine-only tool is run with ainvoke: covered by test_langchain_rewrites
        return NotImplemented

    def call_with_id(self, tool: Any, payload: dict[str, Any], call_id: str) -> Any:
        return tool.ainvoke({"type": "tool_call", "name": tool.name, "args": payload, "id": call_id})


class ProbeTool(BaseTool):
    """A hand-written ``BaseTool`` subclass with both ``_run`` and ``_arun``."""

    name: str = "probe"
    description: str = "Probe tool."
    body: Callable[..., str]

    def _run(self, command: str) -> str:
        return self.body(command=command)

    async def _arun(self, command: str) -> str:
        return self.body(command=command)


class DefaultedProbeTool(ProbeTool):
    def _run(self, command: str, target: str = "forbidden default") -> str:
        return self.body(command=f"{command} {target}")

    async def _arun(self, command: str, target: str = "forbidden default") -> str:
        return self.body(command=f"{command} {target}")


class TestBaseToolSubclassContract(TestStructuredToolContract):
    def make_tool(self, body: Body) -> Any:
        return ProbeTool(body=body)

    def make_defaulted_tool(self, body: Body) -> Any:
        return DefaultedProbeTool(body=body)
