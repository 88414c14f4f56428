"""The LangChain adapter passes CapFence's adapter contract suite, for each kind of LangChain tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from capfence.testing import AdapterContract, Body, capfence_runtime  # noqa: F401 - fixture

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


class ProbeTool(BaseTool):
    """A hand-written ``BaseTool`` subclass with both ``_run`` and ``_arun``."""

    name: str = "probe"
    description: str = "Probe tool."
    body: Callable[..., str]

    def _run(self, command: str) -> str:
        return self.body(command=command)

    async def _arun(self, command: str) -> str:
        return self.body(command=command)


class TestBaseToolSubclassContract(TestStructuredToolContract):
    def make_tool(self, body: Body) -> Any:
        return ProbeTool(body=body)
