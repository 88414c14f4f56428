"""A real CrewAI crew, offline: two agents, two tasks, scripted tool calls in ReAct and native mode.

Operator (tool: shell)            Researcher (tools: lookup, shell)
  shell "ls"            warn        lookup "capfence"   allow
  shell "rm -rf /tmp/x" deny        shell "ls"          deny (researchers-no-shell),
  shell "echo hi"       warn                            although "ls" is in the crew's cache
  shell "ls"            warn (a repeat: from CrewAI's cache when it is on)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from crewai import Crew
from scripted import ScriptedLLM, ShellTool, Step, build_crew, call, final, ran

from capfence import CapFenceTool
from capfence.call.runtime import ActionRuntime
from capfence.errors import CapFenceError
from capfence.testing import audit_rows
from capfence_crewai import guard_crew, guard_of

CAPABILITIES = {"shell": "shell.execute", "lookup": "docs.lookup"}
OPERATOR: list[Step] = [
    call("shell", command="ls"),
    call("shell", command="rm -rf /tmp/x"),
    call("shell", command="echo hi"),
    call("shell", command="ls"),
    final(),
]
RESEARCHER: list[Step] = [call("lookup", term="capfence"), call("shell", command="ls"), final()]
EXPECTED = [  # (agent_id, tool, capability, decision, rule, payload): one record per scripted call, in order
    ("Operator", "shell", "shell.execute", "warn", "observe-shell", '{"command":"ls"}'),
    ("Operator", "shell", "shell.execute", "deny", "no-rm", '{"command":"rm -rf /tmp/x"}'),
    ("Operator", "shell", "shell.execute", "warn", "observe-shell", '{"command":"echo hi"}'),
    ("Operator", "shell", "shell.execute", "warn", "observe-shell", '{"command":"ls"}'),
    ("Researcher", "lookup", "docs.lookup", "allow", "lookup-ok", '{"term":"capfence"}'),
    ("Researcher", "shell", "shell.execute", "deny", "researchers-no-shell", '{"command":"ls"}'),
]


def kickoff(crew: Crew, how: str) -> Any:
    if how == "kickoff":
        return crew.kickoff()
    return asyncio.run(getattr(crew, how)())


def records(runtime: ActionRuntime) -> list[tuple[Any, ...]]:
    return [
        (r["agent_id"], r["tool"], r["capability"], r["decision"], r["rule"], r["payload"])
        for r in audit_rows(runtime.audit_log)
    ]


def saw(llm: ScriptedLLM, *texts: str) -> bool:
    """Whether some request to this agent's model contained all of ``texts`` (what the agent read)."""
    return any(all(text in request for text in texts) for request in llm.prompts)


@pytest.mark.parametrize("how", ["kickoff", "kickoff_async", "akickoff"])
@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_crew(runtime: ActionRuntime, tmp_path: Path, mode: str, native: bool, how: str) -> None:
    cache = mode == "hooks"  # tools mode refuses a cached crew (see test_tools_mode_refuses_a_cached_crew)
    crew, operator, researcher = build_crew(tmp_path, OPERATOR, RESEARCHER, native=native, cache=cache)
    assert guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode) is crew  # type: ignore[arg-type]

    result = kickoff(crew, how)

    assert result.raw.endswith("done")
    # the denied calls' bodies never ran; the warned and allowed ones did; with the cache on, the repeat of "ls" came from it
    assert ran(tmp_path / "shell.log") == (["ls", "echo hi"] if cache else ["ls", "echo hi", "ls"])
    assert ran(tmp_path / "lookup.log") == ["capfence"]
    # exactly one decision record per tool call (the cached repeat included), framework crewai, agent id = role
    assert records(runtime) == EXPECTED
    assert {r["framework"] for r in audit_rows(runtime.audit_log)} == {"crewai"}
    assert [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome")] == [
        "ran",
        "blocked",
        "ran",
        "ran",
        "ran",
        "blocked",
    ]
    # the agents read why, and the crew went on to its second task
    assert saw(operator, "CapFence deny: destructive command [rule no-rm]")
    assert saw(researcher, "CapFence deny: researchers do not run commands [rule researchers-no-shell]")
    assert operator.turns == len(OPERATOR) and researcher.turns == len(RESEARCHER), (
        "each agent played its whole script"
    )


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_cached_answer_skips_a_tool_level_gate(
    runtime: ActionRuntime, tmp_path: Path, native: bool
) -> None:
    """Why hooks are the default: with gated tools and the cache on, the Researcher gets the Operator's cached "ls", undecided."""
    crew, _, researcher = build_crew(
        tmp_path,
        [call("shell", command="ls"), final()],
        [call("shell", command="ls"), final()],
        native=native,
        cache=True,
    )
    for owner in (*crew.agents, *crew.tasks):  # a task holds its own list of its agent's tools
        role = owner.role if hasattr(owner, "role") else owner.agent.role
        owner.tools = [
            CapFenceTool(tool=t, agent_id=role, capability=CAPABILITIES[t.name], gate=runtime)
            for t in owner.tools
        ]
    crew.kickoff()
    assert [(r["agent_id"], r["decision"]) for r in audit_rows(runtime.audit_log)] == [("Operator", "warn")]
    assert saw(researcher, "output of ls")


def test_tools_mode_refuses_a_cached_crew(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, _ = build_crew(tmp_path, [], [], native=False, cache=True)
    with pytest.raises(CapFenceError, match="cache"):
        guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode="tools")
    assert guard_of(crew) is None


def test_tools_mode_leaves_the_callers_tools_alone(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, _ = build_crew(tmp_path, [], [], native=False)
    before = [list(agent.tools) for agent in crew.agents]
    classes = [[type(t) for t in tools] for tools in before]
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode="tools")
    assert [[type(t) for t in tools] for tools in before] == classes
    for agent, tools in zip(crew.agents, before, strict=True):
        assert [t.name for t in agent.tools] == [t.name for t in tools]
        assert all(g is not t and isinstance(g, type(t)) for g, t in zip(agent.tools, tools, strict=True))


def test_hooks_mode_leaves_the_crews_tools_alone(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, _ = build_crew(tmp_path, [], [], native=False)
    before = [list(agent.tools) for agent in crew.agents]
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    assert guard_of(crew) is not None and guard_of(crew).mode == "hooks"  # type: ignore[union-attr]
    assert all(
        a.tools == t and all(x is y for x, y in zip(a.tools, t, strict=True))
        for a, t in zip(crew.agents, before, strict=True)
    )
    assert type(crew).__name__ == "Crew" and isinstance(crew, Crew)


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_the_guard_is_scoped_to_its_crew(runtime: ActionRuntime, tmp_path: Path, native: bool) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    guarded, _, _ = build_crew(
        tmp_path / "a", [call("shell", command="rm -rf /tmp/x"), final()], [final()], native=native
    )
    other, _, _ = build_crew(
        tmp_path / "b", [call("shell", command="rm -rf /tmp/x"), final()], [final()], native=native
    )
    guard_crew(guarded, gate=runtime, capabilities=CAPABILITIES)
    guarded.kickoff()
    other.kickoff()
    assert ran(tmp_path / "a" / "shell.log") == []
    assert ran(tmp_path / "b" / "shell.log") == ["rm -rf /tmp/x"]  # not ours to gate
    assert len(audit_rows(runtime.audit_log)) == 1


def test_the_hooks_come_back_after_clear_all_global_hooks(runtime: ActionRuntime, tmp_path: Path) -> None:
    from crewai.hooks import clear_all_global_hooks

    crew, _, _ = build_crew(
        tmp_path, [call("shell", command="rm -rf /tmp/x"), final()], [final()], native=False
    )
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    clear_all_global_hooks()
    crew.kickoff()
    assert ran(tmp_path / "shell.log") == []
    assert [r["decision"] for r in audit_rows(runtime.audit_log)] == ["deny"]


def test_our_before_hook_sees_the_input_other_hooks_rewrote(runtime: ActionRuntime, tmp_path: Path) -> None:
    from crewai.hooks import register_before_tool_call_hook

    def rewrite(context: Any) -> None:
        context.tool_input["command"] = "rm -rf /"

    crew, _, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=False)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    register_before_tool_call_hook(rewrite)  # registered after ours: kickoff moves ours back to the end
    crew.kickoff()
    assert ran(tmp_path / "shell.log") == []
    assert [(r["decision"], r["payload"]) for r in audit_rows(runtime.audit_log)] == [
        ("deny", '{"command":"rm -rf /"}')
    ]


def test_copies_made_by_kickoff_for_each_stay_guarded(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, _ = build_crew(
        tmp_path, [call("shell", command="rm -rf /tmp/x"), final()], [final()], native=False
    )
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    copy = crew.copy()
    assert guard_of(copy) is guard_of(crew)
    crew.kickoff_for_each(inputs=[{"topic": "x"}])
    assert ran(tmp_path / "shell.log") == []
    assert [r["decision"] for r in audit_rows(runtime.audit_log)] == ["deny"]


def test_agent_ids_and_default_capability(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, researcher = build_crew(
        tmp_path, [call("shell", command="ls"), final()], [call("lookup", term="x"), final()], native=True
    )
    guard_crew(crew, gate=runtime, capabilities={"shell": "shell.execute"}, agent_ids={"Operator": "ops-1"})
    crew.kickoff()
    rows = [(r["agent_id"], r["capability"], r["decision"]) for r in audit_rows(runtime.audit_log)]
    # unmapped -> policy default
    assert rows == [("ops-1", "shell.execute", "warn"), ("Researcher", "crewai.lookup", "deny")]
    assert ran(tmp_path / "lookup.log") == []
    assert saw(researcher, "CapFence deny")


def test_guard_crew_refuses_what_it_cannot_do(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, _, _ = build_crew(tmp_path, [], [], native=False)
    with pytest.raises(CapFenceError, match="mode"):
        guard_crew(crew, gate=runtime, mode="everything")  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="shel"):
        guard_crew(crew, gate=runtime, capabilities={"shel": "shell.execute"})
    with pytest.raises(CapFenceError, match="already guarded"):
        guard_crew(crew, gate=runtime)
    other, _, _ = build_crew(tmp_path, [], [], native=False)
    other.agents[0].tools = [
        CapFenceTool(
            tool=other.agents[0].tools[0], agent_id="Operator", capability="shell.execute", gate=runtime
        )
    ]
    with pytest.warns(UserWarning, match="decided and recorded twice"):
        guard_crew(other, gate=runtime, capabilities=CAPABILITIES)


def test_a_held_call_gives_the_agent_the_approval_request(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "require_approval:\n  - id: shell-needs-a-human\n    capability: shell.execute\n    reason: a human must approve shell\n"
    )
    crew, operator, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=True)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as runtime:
        guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
        crew.kickoff()
        (request,) = runtime.approvals.list()
        assert [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome")] == ["held"]
    assert ran(tmp_path / "shell.log") == []
    message = (
        "CapFence require_approval: a human must approve shell",
        "[rule shell-needs-a-human]",
        f"[approval request {request.id}]",
    )
    assert saw(operator, *message)


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_tools_crewai_adds_while_running_are_gated(
    runtime: ActionRuntime, tmp_path: Path, native: bool
) -> None:
    """Delegation tools exist only during the run; the hooks decide them too (unmapped: ``crewai.<name>``, denied by default)."""
    name = "delegate_work_to_coworker" if native else "Delegate work to coworker"
    delegate = call(name, task="Run rm -rf /", context="cleanup", coworker="Researcher")
    crew, operator, researcher = build_crew(
        tmp_path, [delegate, final()], [final()], native=native, delegation=True
    )
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    crew.kickoff()
    rows = [(r["agent_id"], r["tool"], r["capability"], r["decision"]) for r in audit_rows(runtime.audit_log)]
    assert rows == [("Operator", "Delegate work to coworker", "crewai.delegate_work_to_coworker", "deny")]
    assert saw(operator, "CapFence deny")
    assert researcher.turns == 1  # its own task only: the delegation never reached it


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_blocking_a_result_as_answer_tool(
    runtime: ActionRuntime, tmp_path: Path, mode: str, native: bool
) -> None:
    """A ``result_as_answer`` tool's result is the task's answer: a blocked call must not run it, and should not end the task.

    Tools mode returns a CrewAI ``ToolFailure`` (the agent reads the message and goes on). Hooks mode cannot choose:
    in native mode CrewAI makes the block message the task's final answer (in ReAct mode the agent goes on).
    """
    shell = ShellTool(log_path=str(tmp_path / "shell.log"), result_as_answer=True)
    script = [call("shell", command="rm -rf /tmp/x"), final("model went on")]
    crew, _, _ = build_crew(tmp_path, script, [final()], native=native, shell=shell)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode)  # type: ignore[arg-type]
    result = crew.kickoff()
    assert ran(tmp_path / "shell.log") == []
    answer = result.tasks_output[0].raw
    if mode == "hooks" and native:
        assert answer == "CapFence deny: destructive command [rule no-rm]"
    else:
        assert answer.endswith("model went on")
