"""The adapter contract suite (capfence.testing.AdapterContract) for each kind of CrewAI tool."""

from __future__ import annotations

import copy
from typing import Any

from crewai.tools import BaseTool, tool
from pydantic import BaseModel, Field

from capfence.testing import AdapterContract, Body


class ProbeInput(BaseModel):
    command: str = Field(description="What to run")


def _describe(tool: BaseTool) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "args_schema": tool.args_schema,
        "schema": tool.args_schema.model_json_schema(),
        "formatted": tool.formatted_description,
        "result_as_answer": tool.result_as_answer,
    }


class _CrewAIContract(AdapterContract):
    framework = "crewai"

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        return getattr(tool, entry_point)(**payload)

    def describe(self, tool: Any) -> dict[str, Any]:
        return _describe(tool)

    def copies(self, tool: Any) -> list[Any]:
        """The copies CrewAI and its users make. No ``deepcopy``: a CrewAI tool cannot be deep-copied at all
        (its private ``_usage_lock`` is a ``threading.Lock``), gated or not."""
        return [copy.copy(tool), tool.model_copy(), tool.copy()]


class DefaultedInput(BaseModel):
    command: str = Field(description="What to run")
    target: str = Field(default="forbidden default", description="Where")


class TestBaseToolSubclass(_CrewAIContract):
    """A ``BaseTool`` subclass with ``_run`` and ``_arun``: every entry point."""

    entry_points = ("run", "_run", "arun", "_arun")

    def make_defaulted_tool(self, body: Body) -> BaseTool:
        class DefaultedProbe(BaseTool):
            name: str = "probe"
            description: str = "Probe tool."
            args_schema: type[BaseModel] = DefaultedInput

            def _run(self, command: str, target: str = "forbidden default") -> str:
                return body(command=f"{command} {target}")

            async def _arun(self, command: str, target: str = "forbidden default") -> str:
                return body(command=f"{command} {target}")

        return DefaultedProbe()

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {
            "to_structured_tool": lambda payload: tool.to_structured_tool().invoke(payload),
            "model_copy": lambda payload: tool.model_copy().run(**payload),
            "copy": lambda payload: tool.copy().run(**payload),
        }

    def make_tool(self, body: Body) -> BaseTool:
        class ProbeTool(BaseTool):
            name: str = "probe"
            description: str = "Probe tool."
            args_schema: type[BaseModel] = ProbeInput

            def _run(self, command: str) -> str:
                return body(command=command)

            async def _arun(self, command: str) -> str:
                return body(command=command)

        return ProbeTool()


class TestToolDecorator(_CrewAIContract):
    """An ``@tool`` tool (``crewai.tools.Tool``) around a sync function: ``run`` skips ``_run``."""

    entry_points = ("run", "_run")

    def make_tool(self, body: Body) -> BaseTool:
        @tool("probe")
        def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return probe

    def make_defaulted_tool(self, body: Body) -> BaseTool:
        @tool("probe")
        def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return probe

    def conversions(self, tool: Any) -> dict[str, Any]:
        return {
            "func": lambda payload: tool.func(**payload),
            "Tool(func=tool.func)": lambda payload: type(tool)(
                name="p2", description="d", func=tool.func
            ).func(**payload),
            "to_structured_tool": lambda payload: tool.to_structured_tool().invoke(payload),
            "model_copy": lambda payload: tool.model_copy().run(**payload),
        }


class TestAsyncToolDecorator(_CrewAIContract):
    """An ``@tool`` tool around an async function: ``arun``/``_arun``, and ``run`` (which runs the coroutine)."""

    entry_points = ("arun", "_arun", "run")

    def make_tool(self, body: Body) -> BaseTool:
        @tool("probe")
        async def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return probe
