"""capfence.call.gated_attributes: the function a gated tool hands out is gated by the tool's binding.

A framework-free tool class stands in for LangChain's ``StructuredTool`` (a
public ``func`` its own ``run`` reads) so the mechanism is tested on its own;
each adapter's ``test_*_conversions.py`` tests it on the real framework classes.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, Binding, ToolCallDenied
from capfence.call.gated_attributes import (
    Extension,
    function_attribute,
    install,
    substitute,
    substitute_items,
)
from capfence.call.wrapping import gate_object, gated_class
from tests.support.audit import audit_rows

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
allow:
  - id: shell
    capability: shell.execute
"""


class Tool:
    """A tool that keeps its function in a public attribute and reads it when it runs."""

    def __init__(self, func: Callable[..., Any] | None) -> None:
        self.__dict__["func"] = func

    def run(self, command: str) -> Any:
        assert self.func is not None
        return self.func(command)

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        yield from self.__dict__.items()


def _read_func(tool: Any) -> Any:
    return tool.__dict__.get("func")


def _gated_run(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Tool, command: str) -> Any:
        binding: Binding = self.__dict__["__capfence_binding__"]
        return binding.call(id(self), {"command": command}, lambda: original(self, command))

    return run


def _extension(cls: type) -> Extension:
    return Extension(
        raw_readers=("run",),
        members={
            "func": function_attribute(_read_func),
            "dump": substitute(cls.dump, ("func",), lambda tool, name: tool.__dict__.get(name)),
            "__iter__": substitute_items(cls.__iter__, ("func",)),
        },
    )


def gate(tool: Tool, runtime: ActionRuntime) -> Tool:
    cls = install(gated_class(Tool, {"run": _gated_run}, tag="test-gated-attributes"), _extension)
    return gate_object(
        tool,
        cls,
        Binding(gate=runtime, agent_id="a1", capability="shell.execute", framework="test", tool="shell"),
    )


@pytest.fixture
def rt(runtime: Callable[..., ActionRuntime]) -> ActionRuntime:
    return runtime(POLICY)


@pytest.fixture
def ran(tmp_path: Path) -> list[str]:
    return []


def shell(ran: list[str]) -> Callable[..., str]:
    def run_shell(command: str, timeout: int = 30) -> str:
        """Run a command."""
        ran.append(command)
        return f"ran {command}"

    return run_shell


def decisions(tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(r["decision"], json.loads(r["payload"])) for r in audit_rows(tmp_path / "audit.db", "decision")]


def test_the_handed_out_function_is_decided_and_blocked(
    rt: ActionRuntime, ran: list[str], tmp_path: Path
) -> None:
    gated = gate(Tool(shell(ran)), rt)
    with pytest.raises(ToolCallDenied, match="no-rm"):
        gated.func("rm -rf /")
    assert gated.func("ls") == "ran ls"
    assert ran == ["ls"]
    assert decisions(tmp_path) == [
        ("deny", {"command": "rm -rf /", "timeout": 30}),
        ("allow", {"command": "ls", "timeout": 30}),
    ]


def test_it_keeps_name_docstring_and_signature(rt: ActionRuntime, ran: list[str]) -> None:
    raw = shell(ran)
    handed_out = gate(Tool(raw), rt).func
    assert handed_out is not raw and handed_out.__wrapped__ is raw
    assert (handed_out.__name__, handed_out.__doc__) == ("run_shell", "Run a command.")
    assert inspect.signature(handed_out) == inspect.signature(raw)


def test_the_tools_own_run_reads_the_raw_function_one_decision(
    rt: ActionRuntime, ran: list[str], tmp_path: Path
) -> None:
    gated = gate(Tool(shell(ran)), rt)
    assert gated.run("ls") == "ran ls"
    assert ran == ["ls"] and [d for d, _ in decisions(tmp_path)] == ["allow"]


def test_a_tool_built_from_it_is_gated_by_the_same_binding(
    rt: ActionRuntime, ran: list[str], tmp_path: Path
) -> None:
    rebuilt = Tool(gate(Tool(shell(ran)), rt).func)  # e.g. StructuredTool.from_function(func=tool.func)
    with pytest.raises(ToolCallDenied):
        rebuilt.run("rm -rf /")
    assert ran == [] and [d for d, _ in decisions(tmp_path)] == ["deny"]


def test_async_functions_stay_async(rt: ActionRuntime, tmp_path: Path) -> None:
    async def run_shell(command: str) -> str:
        return command

    handed_out = gate(Tool(run_shell), rt).func
    assert inspect.iscoroutinefunction(handed_out)
    with pytest.raises(ToolCallDenied):
        asyncio.run(handed_out("rm -rf /"))
    assert [d for d, _ in decisions(tmp_path)] == ["deny"]


def test_dumps_and_items_hand_out_the_gated_function(
    rt: ActionRuntime, ran: list[str], tmp_path: Path
) -> None:
    gated = gate(Tool(shell(ran)), rt)
    for copied in (gated.dump()["func"], dict(gated)["func"]):
        with pytest.raises(ToolCallDenied):
            copied("rm -rf /")
    assert ran == [] and len(decisions(tmp_path)) == 2


def test_none_stays_none_and_a_missing_binding_blocks(
    rt: ActionRuntime, ran: list[str], tmp_path: Path
) -> None:
    assert gate(Tool(None), rt).func is None
    orphan = Tool(shell(ran))
    orphan.__class__ = type(gate(Tool(None), rt))
    with pytest.raises(ToolCallDenied, match="no CapFence binding"):
        orphan.func("ls")
    assert ran == []
