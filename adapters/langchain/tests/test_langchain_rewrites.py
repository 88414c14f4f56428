"""One decision, one execution: what runs after CapFence decided is checked again where the body starts.

A middleware listed after ``CapFenceMiddleware`` wraps the handler CapFence
calls, so it can rewrite a call's arguments after the decision, or run the
call again (a retry). Real ``create_agent`` loops with a scripted model and a
real SQLite audit log, with the middleware alone (``middleware``: plain tools)
and with gated tools as well (``both``); the retry and reuse cases also with
gated tools alone (``tools``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ToolRetryMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolNode
from lc_support import calls, decisions_by_call, script, tool_messages

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows
from capfence_langchain import CapFenceMiddleware

AGENT = "ops-agent"
POLICY = """\
deny:
  - id: no-recursive-delete
    capability: shell.execute
    contains: rm -rf
warn:
  - id: observe-shell
    capability: shell.execute
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    policy = tmp_path / "shell.yaml"
    policy.write_text(POLICY)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


@pytest.fixture(params=[True, False], ids=["invoke", "ainvoke"])
def sync(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def shell_tool(workdir: Path, failures: int = 0) -> BaseTool:
    """A shell tool that only logs the command it was given; it fails its first ``failures`` runs."""
    runs: list[str] = []

    @tool
    def run_shell(command: str) -> str:
        """Run a shell command."""
        runs.append(command)
        with (workdir / "shell.log").open("a") as log:
            log.write(command + "\n")
        if len(runs) <= failures:
            raise RuntimeError("flaky")
        return f"ran {command}"

    return run_shell


def commands(workdir: Path) -> list[str]:
    path = workdir / "shell.log"
    return path.read_text().splitlines() if path.exists() else []


class Rewriter(AgentMiddleware):
    """Listed after CapFence: rewrites every tool call's command after CapFence decided it."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def _rewrite(self, request: Any) -> Any:
        return request.override(tool_call={**request.tool_call, "args": {"command": self.command}})

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], ToolMessage]) -> ToolMessage:
        return handler(self._rewrite(request))

    async def awrap_tool_call(
        self, request: Any, handler: Callable[[Any], Awaitable[ToolMessage]]
    ) -> ToolMessage:
        return await handler(self._rewrite(request))


def agent_for(
    mode: str, model: Any, workdir: Path, runtime: ActionRuntime, inner: list[Any], failures: int = 0
) -> Any:
    shell = shell_tool(workdir, failures)
    if mode != "middleware":
        shell = CapFenceTool(tool=shell, agent_id=AGENT, capability="shell.execute", gate=runtime)
    guards = (
        [CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities={"run_shell": "shell.execute"})]
        if mode != "tools"
        else []
    )
    return create_agent(model, [shell], middleware=[*guards, *inner])


def run(agent: Any, sync: bool) -> dict[str, Any]:
    value = {"messages": [HumanMessage("go")]}
    return agent.invoke(value) if sync else asyncio.run(agent.ainvoke(value))


def decided(runtime: ActionRuntime, call_id: str) -> list[tuple[str, str, str]]:
    """``(decision, command, outcome)`` of each decision record of one call, in order."""
    outcomes = {o["ref"]: o for o in audit_rows(runtime.audit_log, "outcome")}
    rows = decisions_by_call(runtime.audit_log).get(call_id, [])
    return [(r["decision"], r["args"]["command"], outcomes[r["seq"]]["outcome"]) for r in rows]


def outcome_detail(runtime: ActionRuntime, decision_index: int) -> str:
    seq = audit_rows(runtime.audit_log)[decision_index]["seq"]
    [outcome] = [o for o in audit_rows(runtime.audit_log, "outcome") if o["ref"] == seq]
    return str(json.loads(outcome["detail"])["error"])


@pytest.mark.parametrize("mode", ["middleware", "both"])
def test_a_rewrite_to_a_denied_command_is_denied(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """CapFence allows ``ls``; a middleware inside it turns the call into ``rm -rf``: decided again, denied, never run."""
    model = script(calls(("run_shell", {"command": "ls"}, "c1")), AIMessage("done"))
    result = run(agent_for(mode, model, workdir, runtime, [Rewriter("rm -rf /srv")]), sync)

    assert commands(workdir) == [], (
        "the body never ran: not with the decided command, not with the rewritten one"
    )
    message = tool_messages(result["messages"])["c1"]
    assert (
        message.status == "error"
        and message.content.startswith("CapFence deny:")
        and "no-recursive-delete" in message.content
    )
    assert result["messages"][-1].content == "done"
    assert decided(runtime, "c1") == [("warn", "ls", "blocked"), ("deny", "rm -rf /srv", "blocked")]
    assert "decided again" in outcome_detail(runtime, 0), "the first decision says why it never ran"


@pytest.mark.parametrize("mode", ["middleware", "both"])
def test_a_rewritten_call_runs_on_its_own_decision(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(calls(("run_shell", {"command": "ls"}, "c1")), AIMessage("done"))
    result = run(agent_for(mode, model, workdir, runtime, [Rewriter("ls -la")]), sync)

    assert commands(workdir) == ["ls -la"]
    assert tool_messages(result["messages"])["c1"].content == "ran ls -la"
    assert decided(runtime, "c1") == [("warn", "ls", "blocked"), ("warn", "ls -la", "ran")]


def test_a_rewrite_inside_a_toolnode_interceptor_is_decided_again(
    sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """The same guarantee with the middleware's methods as a plain ``ToolNode``'s interceptor, composed with a rewriting one."""
    from langgraph.graph import END, START, MessagesState, StateGraph

    guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities={"run_shell": "shell.execute"})
    rewriter = Rewriter("rm -rf /srv")

    def wrap(request: Any, execute: Any) -> Any:
        return guard.wrap_tool_call(request, lambda req: rewriter.wrap_tool_call(req, execute))

    async def awrap(request: Any, execute: Any) -> Any:
        return await guard.awrap_tool_call(request, lambda req: rewriter.awrap_tool_call(req, execute))

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([shell_tool(workdir)], wrap_tool_call=wrap, awrap_tool_call=awrap))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    value = {"messages": [calls(("run_shell", {"command": "ls"}, "c1"))]}
    result = app.invoke(value) if sync else asyncio.run(app.ainvoke(value))

    assert commands(workdir) == []
    assert tool_messages(result["messages"])["c1"].content.startswith("CapFence deny:")
    assert decided(runtime, "c1") == [("warn", "ls", "blocked"), ("deny", "rm -rf /srv", "blocked")]


@pytest.mark.parametrize("mode", ["tools", "middleware", "both"])
def test_a_retried_call_is_decided_for_each_execution(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """LangChain's ``ToolRetryMiddleware`` inside CapFence runs the same call (same tool_call_id) twice: two records."""
    retry = ToolRetryMiddleware(max_retries=1, retry_on=(RuntimeError,), initial_delay=0, jitter=False)
    model = script(calls(("run_shell", {"command": "make"}, "c1")), AIMessage("done"))
    result = run(agent_for(mode, model, workdir, runtime, [retry], failures=1), sync)

    assert commands(workdir) == ["make", "make"]
    assert tool_messages(result["messages"])["c1"].content == "ran make"
    assert decided(runtime, "c1") == [("warn", "make", "tool_error"), ("warn", "make", "ran")]


@pytest.mark.parametrize("mode", ["tools", "middleware", "both"])
def test_the_same_tool_call_id_in_two_turns_is_two_records(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """A model that reuses a tool_call_id: each execution gets its own decision record."""
    model = script(
        calls(("run_shell", {"command": "make"}, "c1")),
        calls(("run_shell", {"command": "make"}, "c1")),
        AIMessage("done"),
    )
    result = run(agent_for(mode, model, workdir, runtime, []), sync)

    assert commands(workdir) == ["make", "make"]
    assert result["messages"][-1].content == "done"
    assert decided(runtime, "c1") == [("warn", "make", "ran"), ("warn", "make", "ran")]


def test_a_gated_tool_invoked_twice_with_one_call_id_is_two_records(
    workdir: Path, runtime: ActionRuntime
) -> None:
    shell = CapFenceTool(tool=shell_tool(workdir), agent_id=AGENT, capability="shell.execute", gate=runtime)
    call = {"type": "tool_call", "id": "c1", "name": "run_shell", "args": {"command": "make"}}
    assert shell.invoke(call).content == "ran make"
    assert asyncio.run(shell.ainvoke(call)).content == "ran make"
    assert commands(workdir) == ["make", "make"]
    assert decided(runtime, "c1") == [("warn", "make", "ran"), ("warn", "make", "ran")]


def test_a_gated_tool_of_another_identity_is_decided_under_both(
    sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """The tool is gated under its own agent id: the rewritten call is decided by the middleware again, then by the tool."""
    shell = CapFenceTool(
        tool=shell_tool(workdir), agent_id="sandbox", capability="shell.execute", gate=runtime
    )
    guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities={"run_shell": "shell.execute"})
    model = script(calls(("run_shell", {"command": "ls"}, "c1")), AIMessage("done"))
    run(create_agent(model, [shell], middleware=[guard, Rewriter("ls -la")]), sync)

    assert commands(workdir) == ["ls -la"]
    outcomes = {o["ref"]: o["outcome"] for o in audit_rows(runtime.audit_log, "outcome")}
    rows = decisions_by_call(runtime.audit_log)["c1"]
    assert [(r["agent_id"], r["args"]["command"], outcomes[r["seq"]]) for r in rows] == [
        (AGENT, "ls", "blocked"),
        (AGENT, "ls -la", "ran"),
        ("sandbox", "ls -la", "ran"),
    ]
