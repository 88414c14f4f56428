"""The LlamaIndex adapter passes CapFence's adapter contract suite, for each kind of LlamaIndex tool."""

from __future__ import annotations

import copy
from typing import Any

from li_context_tools import probe_with_context
from llama_index.core.tools import (
    AsyncBaseTool,
    BaseTool,
    FunctionTool,
    ToolMetadata,
    ToolOutput,
    adapt_to_async_tool,
)
from pydantic import BaseModel

from capfence.testing import AdapterContract, Body, capfence_runtime  # noqa: F401 - fixture

ENTRY_POINTS = ("call", "acall", "__call__")


class TestFunctionToolContract(AdapterContract):
    """A ``FunctionTool`` from a sync function (what agents build from plain functions)."""

    framework = "llamaindex"
    entry_points = ENTRY_POINTS

    def make_tool(self, body: Body) -> Any:
        def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return FunctionTool.from_defaults(probe)

    def make_defaulted_tool(self, body: Body) -> Any:
        def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return FunctionTool.from_defaults(probe)

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {
            "fn": lambda payload: tool.fn(**payload),
            "real_fn": lambda payload: tool.real_fn(**payload),
            "FunctionTool.from_defaults(fn=tool.fn)": lambda payload: FunctionTool.from_defaults(
                fn=tool.fn, name="p2"
            ).call(**payload),
            "adapt_to_async_tool": lambda payload: adapt_to_async_tool(tool).acall(**payload),
            "copy.copy": lambda payload: copy.copy(tool).call(**payload),
        }

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        if entry_point == "__call__":
            return tool(**payload)
        return getattr(tool, entry_point)(**payload)

    def describe(self, tool: Any) -> dict[str, Any]:
        metadata = tool.metadata
        return {
            "name": metadata.name,
            "description": metadata.description,
            "schema": metadata.to_openai_tool(),
            "fn_schema": metadata.fn_schema,
            "return_direct": metadata.return_direct,
        }

    def is_block_result(self, result: Any) -> bool:
        return isinstance(result, ToolOutput) and result.is_error and super().is_block_result(result)


class TestAsyncFunctionToolContract(TestFunctionToolContract):
    """A ``FunctionTool`` from a coroutine function (LlamaIndex runs it via ``asyncio_run`` for ``call``)."""

    def make_tool(self, body: Body) -> Any:
        async def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return FunctionTool.from_defaults(probe)

    def make_defaulted_tool(self, body: Body) -> Any:
        async def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return FunctionTool.from_defaults(probe)

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {
            "async_fn": lambda payload: tool.async_fn(**payload),
            "FunctionTool.from_defaults(async_fn=...)": lambda payload: FunctionTool.from_defaults(
                async_fn=tool.async_fn, name="p2"
            ).acall(**payload),
        }


class TestContextFunctionToolContract(TestFunctionToolContract):
    """A ``FunctionTool`` whose function takes the workflow ``Context``: it is passed in, and kept out of the payload."""

    def make_defaulted_tool(self, body: Body) -> Any:
        # covered by TestFunctionToolContract; the context parameter adds nothing to defaults
        return NotImplemented

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {}  # the same attributes as TestFunctionToolContract

    def make_tool(self, body: Body) -> Any:
        tool = FunctionTool.from_defaults(probe_with_context(body))
        assert tool.ctx_param_name == "ctx"
        return tool

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        return super().call(tool, entry_point, {**payload, "ctx": object()})


class ProbeArgs(BaseModel):
    command: str


class ProbeAsyncTool(AsyncBaseTool):
    """A hand-written ``AsyncBaseTool`` with independent ``call`` and ``acall``."""

    def __init__(self, body: Body) -> None:
        self.body = body

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(name="probe", description="Probe tool.", fn_schema=ProbeArgs)

    def call(self, command: str) -> ToolOutput:  # type: ignore[override]
        return ToolOutput(
            tool_name="probe",
            content=self.body(command=command),
            raw_input={"command": command},
            raw_output=None,
        )

    async def acall(self, command: str) -> ToolOutput:  # type: ignore[override]
        return self.call(command)


class TestAsyncBaseToolSubclassContract(TestFunctionToolContract):
    def make_tool(self, body: Body) -> Any:
        return ProbeAsyncTool(body)

    def make_defaulted_tool(self, body: Body) -> Any:
        # a hand-written tool's defaults live in its own call(); FunctionTool covers schema defaults
        return NotImplemented

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {
            "adapt_to_async_tool": lambda payload: adapt_to_async_tool(tool).acall(**payload),
            "copy.copy": lambda payload: copy.copy(tool).call(**payload),
        }


class ProbeSyncTool(BaseTool):
    """The oldest tool shape: a ``BaseTool`` with only ``__call__`` (agents adapt it with ``BaseToolAsyncAdapter``)."""

    def __init__(self, body: Body) -> None:
        self.body = body

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(name="probe", description="Probe tool.", fn_schema=ProbeArgs)

    def __call__(self, command: str) -> ToolOutput:  # type: ignore[override]
        return ToolOutput(
            tool_name="probe",
            content=self.body(command=command),
            raw_input={"command": command},
            raw_output=None,
        )


class TestPlainBaseToolContract(TestFunctionToolContract):
    entry_points = ("__call__",)

    def make_defaulted_tool(self, body: Body) -> Any:
        # a hand-written tool's defaults live in its own __call__; FunctionTool covers schema defaults
        return NotImplemented

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {"copy.copy": lambda payload: copy.copy(tool)(**payload)}

    def make_tool(self, body: Body) -> Any:
        return ProbeSyncTool(body)
