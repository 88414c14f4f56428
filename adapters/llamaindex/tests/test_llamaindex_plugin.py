"""Loading (entry point, lazy import), the public API, and how guard_agent/guard_workflow choose capabilities."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from li_support import decisions, file_functions, file_tools, scripted
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.tools import FunctionTool

import capfence_llamaindex
from capfence import ActionRuntime, CapFenceTool
from capfence.call.tool import find_adapter
from capfence.call.wrapping import BINDING_ATTR, binding_of, is_gated
from capfence.plugins import build_registry
from capfence_llamaindex import AgentGuard, guard_agent, guard_workflow
from capfence_llamaindex.plugin import accepts

# --- loading -----------------------------------------------------------------------------------


def test_the_adapter_loads_through_the_entry_point_group() -> None:
    registry = build_registry()
    (adapter,) = [a for a in registry.adapters if a.name == "llamaindex"]
    assert adapter.framework == "llamaindex"
    assert adapter.priority < min(a.priority for a in registry.adapters if a.name == "callable")
    assert registry.plugins["llamaindex"].distribution == "capfence-llamaindex"
    assert find_adapter(FunctionTool.from_defaults(print), registry.adapters) is adapter


def test_loading_the_plugin_does_not_import_llamaindex() -> None:
    code = textwrap.dedent(
        """
        import sys
        from capfence.plugins import build_registry
        import capfence_llamaindex
        from capfence_llamaindex.plugin import accepts
        registry = build_registry()
        assert any(a.name == "llamaindex" for a in registry.adapters)
        assert not accepts(object()) and not accepts(print)
        assert not [m for m in sys.modules if m.startswith(("llama_index", "workflows"))], "llama_index was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_accepts_llamaindex_tools_only() -> None:
    assert accepts(FunctionTool.from_defaults(print))
    assert not accepts(print) and not accepts(object())


def test_public_names() -> None:
    assert capfence_llamaindex.__all__ == [
        "DEFAULT_CAPABILITY",
        "REQUEST_ID_FIELD",
        "AgentGuard",
        "approval_events",
        "block_output",
        "guard",
        "guard_agent",
        "guard_workflow",
        "tool_payload",
        "wrap_tool",
    ]
    for name in capfence_llamaindex.__all__:
        assert getattr(capfence_llamaindex, name) is not None
    assert callable(capfence_llamaindex.guard), "the function, not a submodule"
    with pytest.raises(AttributeError):
        capfence_llamaindex.nope  # noqa: B018


# --- guard_agent: which capability ------------------------------------------------------------


def tool_named(name: str) -> FunctionTool:
    return FunctionTool.from_defaults(lambda x: x, name=name, description=f"{name} tool")


@pytest.mark.parametrize(
    ("name", "capabilities", "expected"),
    [
        # the explicit map: exact names first
        ("read_file", {"read_file": "filesystem.read", "read_*": "other"}, "filesystem.read"),
        # then globs, in the order given
        ("read_notes", {"read_*": "filesystem.read", "*": "anything"}, "filesystem.read"),
        ("send_mail", {"read_*": "filesystem.read", "*": "anything"}, "anything"),
        # then the naming convention, with unsafe characters replaced
        ("send_mail", {}, "tool.send_mail"),
        ("send mail!", {}, "tool.send_mail_"),
    ],
)
def test_capability_resolution(
    runtime: ActionRuntime, name: str, capabilities: dict[str, str], expected: str
) -> None:
    guard = AgentGuard(gate=runtime, agent_id="a", capabilities=capabilities)
    assert guard.capability(tool_named(name)) == expected


def test_a_tool_gated_earlier_keeps_its_capability_but_takes_the_agent_id(runtime: ActionRuntime) -> None:
    gated = CapFenceTool(
        tool=tool_named("lookup"),
        agent_id="someone",
        capability="docs.read",
        gate=runtime,
        environment="prod",
    )
    regated = AgentGuard(gate=runtime, agent_id="agent-1").gate_tool(gated)
    binding = binding_of(regated)
    assert (binding.capability, binding.agent_id, binding.environment) == ("docs.read", "agent-1", "prod")
    assert AgentGuard(gate=runtime, agent_id="a", capabilities={"lookup": "x.y"}).capability(gated) == "x.y"


def test_gate_tool_passes_through_what_cannot_be_called(runtime: ActionRuntime) -> None:
    marker = object()
    assert AgentGuard(gate=runtime, agent_id="a").gate_tool(marker) is marker


# --- guard_agent / guard_workflow: in place, idempotent, caller's tools untouched ---------------


def test_guard_agent_gates_in_place_and_leaves_the_callers_tools_alone(
    workdir: Path, runtime: ActionRuntime
) -> None:
    tools = file_tools(workdir)
    original = [tools["write_file"], file_functions(workdir)["read_file"]]
    agent = FunctionAgent(tools=original, llm=scripted())
    plain = list(agent.tools or [])

    assert guard_agent(agent, gate=runtime) is agent

    assert all(is_gated(tool) for tool in agent.tools or [])
    assert [binding_of(t).agent_id for t in agent.tools or []] == ["Agent", "Agent"], (
        "default agent id: the agent's name"
    )
    assert not any(BINDING_ATTR in tool.__dict__ for tool in plain)
    assert type(tools["write_file"]) is FunctionTool


def test_guarding_twice_rebinds(workdir: Path, runtime: ActionRuntime) -> None:
    agent = FunctionAgent(tools=list(file_tools(workdir).values()), llm=scripted())
    guard_agent(agent, gate=runtime, agent_id="first", capabilities={"write_file": "filesystem.write"})
    guard_agent(agent, gate=runtime, agent_id="second")
    write = next(t for t in agent.tools or [] if t.metadata.name == "write_file")
    assert (binding_of(write).agent_id, binding_of(write).capability) == ("second", "filesystem.write")
    write.call(name="a", text="b")
    assert len(decisions(runtime)) == 1


def test_guard_workflow_uses_each_agents_name_or_the_given_id(workdir: Path, runtime: ActionRuntime) -> None:
    tools = file_tools(workdir)
    a = FunctionAgent(name="a", description="A.", tools=[tools["read_file"]], llm=scripted())
    b = FunctionAgent(name="b", description="B.", tools=[tools["write_file"]], llm=scripted())
    workflow = AgentWorkflow(agents=[a, b], root_agent="a")
    guard_workflow(workflow, gate=runtime, agent_ids={"b": "writer-7"})
    ids = {name: binding_of((agent.tools or [])[0]).agent_id for name, agent in workflow.agents.items()}
    assert ids == {"a": "a", "b": "writer-7"}
