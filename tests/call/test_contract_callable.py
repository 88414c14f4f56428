"""The plain-callable adapter passes the same contract suite every framework adapter must pass."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from capfence.testing import AdapterContract, Body


class TestCallableContract(AdapterContract):
    framework = "python"
    entry_points = ("__call__",)

    def make_tool(self, body: Body) -> Any:
        def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return probe

    def make_defaulted_tool(self, body: Body) -> Any:
        def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return probe

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        return tool(**payload)

    def conversions(self, tool: Any) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "inspect.unwrap": lambda payload: inspect.unwrap(tool)(**payload),
            "functools.partial": lambda payload: functools.partial(tool)(**payload),
            "functools.wraps": lambda payload: functools.wraps(tool)(functools.partial(tool))(**payload),
        }

    def describe(self, tool: Any) -> dict[str, Any]:
        return {"name": tool.__name__, "description": tool.__doc__, "schema": str(inspect.signature(tool))}


class TestAsyncCallableContract(TestCallableContract):
    def make_tool(self, body: Body) -> Any:
        async def probe(command: str) -> str:
            """Probe tool."""
            return body(command=command)

        return probe

    def make_defaulted_tool(self, body: Body) -> Any:
        async def probe(command: str, target: str = "forbidden default") -> str:
            """Probe tool."""
            return body(command=f"{command} {target}")

        return probe
