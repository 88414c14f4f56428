"""CapFenceTool on CrewAI tools: what the gated copy is, what the policy sees, one decision per call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from crewai.tools import BaseTool
from crewai.tools import base_tool as crewai_base_tool
from scripted import ShellTool, make_lookup, ran

from capfence import CapFenceTool
from capfence.call.runtime import ActionRuntime
from capfence.call.wrapping import is_gated
from capfence.testing import audit_rows
from capfence_crewai import block_message, wrap_tool


def gate(tool: BaseTool, runtime: ActionRuntime, agent_id: str = "Operator") -> BaseTool:
    return CapFenceTool(tool=tool, agent_id=agent_id, capability="shell.execute", gate=runtime)


def decisions(runtime: ActionRuntime) -> list[tuple[str, str, str]]:
    return [(r["agent_id"], r["decision"], r["payload"]) for r in audit_rows(runtime.audit_log)]


def test_gated_tool_is_a_copy_of_the_same_class(runtime: ActionRuntime, tmp_path: Path) -> None:
    tool = ShellTool(log_path=str(tmp_path / "shell.log"))
    gated = gate(tool, runtime)
    assert gated is not tool and isinstance(gated, ShellTool) and is_gated(gated) and not is_gated(tool)
    assert type(gated).__name__ == "ShellTool" and type(gated).__qualname__ == ShellTool.__qualname__
    assert gated.tool_type == tool.tool_type
    assert (gated.name, gated.description, gated.args_schema) == (
        tool.name,
        tool.description,
        tool.args_schema,
    )


def test_crewai_tool_registry_keeps_the_original_class(runtime: ActionRuntime, tmp_path: Path) -> None:
    """A checkpoint restores ``tool_type`` through CrewAI's registry: it must still give the plain class."""
    gate(ShellTool(log_path=str(tmp_path / "shell.log")), runtime)
    assert (
        crewai_base_tool._TOOL_TYPE_REGISTRY[f"{ShellTool.__module__}.{ShellTool.__qualname__}"] is ShellTool
    )


@pytest.mark.parametrize("entry_point", ["run", "_run"])
def test_run_reaches_run_once_decided_once(runtime: ActionRuntime, tmp_path: Path, entry_point: str) -> None:
    log = tmp_path / "shell.log"
    gated = gate(ShellTool(log_path=str(log)), runtime)
    assert getattr(gated, entry_point)(command="ls") == "output of ls"
    assert ran(log) == ["ls"]
    assert decisions(runtime) == [("Operator", "warn", '{"command":"ls"}')]


def test_positional_arguments_are_named(runtime: ActionRuntime, tmp_path: Path) -> None:
    gated = gate(ShellTool(log_path=str(tmp_path / "shell.log")), runtime)
    assert "CapFence deny" in gated._run("rm -rf /")
    assert decisions(runtime) == [("Operator", "deny", '{"command":"rm -rf /"}')]


def test_blocked_call_returns_the_decision_message(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    result = gate(ShellTool(log_path=str(log)), runtime).run(command="rm -rf /")
    assert result == "CapFence deny: destructive command [rule no-rm]"
    assert ran(log) == []
    outcomes = [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome")]
    assert outcomes == ["blocked"]


def test_denied_call_does_not_use_up_the_usage_limit(runtime: ActionRuntime, tmp_path: Path) -> None:
    gated = gate(ShellTool(log_path=str(tmp_path / "shell.log"), max_usage_count=1), runtime)
    gated.run(command="rm -rf /")
    assert gated.current_usage_count == 0
    assert gated.run(command="ls") == "output of ls"


def test_tool_decorator_run_skips_run_but_is_gated(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "lookup.log"
    gated = gate(make_lookup(log), runtime)
    assert "CapFence deny" in gated.run(term="rm -rf everything")
    assert gated.run(term="x") == "definition of x"
    assert ran(log) == ["x"]
    assert [d for _, d, _ in decisions(runtime)] == ["deny", "warn"]


def test_regating_rebinds_instead_of_gating_twice(runtime: ActionRuntime, tmp_path: Path) -> None:
    first = gate(ShellTool(log_path=str(tmp_path / "shell.log")), runtime, "Operator")
    second = gate(first, runtime, "Researcher")
    assert type(second) is type(first)
    assert "CapFence deny" in second.run(command="ls")
    assert first.run(command="ls") == "output of ls"
    assert [(a, d) for a, d, _ in decisions(runtime)] == [("Researcher", "deny"), ("Operator", "warn")]


def test_copies_stay_gated(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    gated = gate(ShellTool(log_path=str(log)), runtime)
    for copy in (gated.model_copy(), gated.copy()):
        assert "CapFence deny" in copy.run(command="rm -rf /")
    assert ran(log) == []


def test_structured_tool_of_a_gated_tool_is_gated(runtime: ActionRuntime, tmp_path: Path) -> None:
    """The ReAct path calls ``to_structured_tool().invoke(...)``, whose ``func`` is the tool's ``_run``."""
    log = tmp_path / "shell.log"
    structured = gate(ShellTool(log_path=str(log)), runtime).to_structured_tool()
    assert "CapFence deny" in structured.invoke({"command": "rm -rf /"})
    assert structured.invoke({"command": "ls"}) == "output of ls"
    assert asyncio.run(structured.ainvoke({"command": "pwd"})) == "output of pwd"
    assert ran(log) == ["ls", "pwd"]
    assert len(decisions(runtime)) == 3


def test_a_gated_class_without_binding_denies(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    gated = gate(ShellTool(log_path=str(log)), runtime)
    stray = type(gated)(log_path=str(log))  # e.g. built by a framework from the gated class
    assert stray.run(command="ls").startswith("CapFence deny: internal_error")
    assert ran(log) == []


def test_async_run_body(runtime: ActionRuntime, tmp_path: Path) -> None:
    """A tool whose ``_run`` is a coroutine function: ``run`` drives it with ``asyncio.run``; one decision."""
    seen: list[str] = []

    class AsyncShell(BaseTool):
        name: str = "ashell"
        description: str = "Async shell."

        async def _run(self, command: str) -> str:
            seen.append(command)
            return command

    gated = gate(AsyncShell(), runtime)
    assert gated.run(command="ls") == "ls"
    assert "CapFence deny" in gated.run(command="rm -rf /")
    assert seen == ["ls"]
    assert len(decisions(runtime)) == 2


def test_a_body_calling_its_own_tool_is_decided_again(runtime: ActionRuntime) -> None:
    class Recursive(BaseTool):
        name: str = "recursive"
        description: str = "Calls itself once with a worse command."

        def _run(self, command: str) -> str:
            if command == "ls":
                return str(self.run(command="rm -rf /"))
            return f"ran {command}"

    gated = gate(Recursive(), runtime)
    assert "CapFence deny" in gated.run(command="ls")
    assert [d for _, d, _ in decisions(runtime)] == ["warn", "deny"]


def test_block_message_is_public() -> None:
    from capfence.call.decision import Decision

    assert block_message(Decision("deny", "nope", "r1")) == "CapFence deny: nope [rule r1]"
    assert wrap_tool.__module__ == "capfence_crewai.tools"


def test_a_blocked_result_as_answer_tool_returns_a_tool_failure(
    runtime: ActionRuntime, tmp_path: Path
) -> None:
    """Its result would be the task's final answer; a ``ToolFailure`` is shown to the agent instead, which goes on."""
    from crewai.tools.tool_failure import ToolFailure

    result = gate(ShellTool(log_path=str(tmp_path / "shell.log"), result_as_answer=True), runtime).run(
        command="rm -rf /"
    )
    assert isinstance(result, ToolFailure)
    assert (
        result.as_agent_message() == "CapFence deny: destructive command [rule no-rm] (code: capfence_deny)"
    )
    assert result.details == {"decision": "deny", "rule": "no-rm", "reason": "destructive command"}
