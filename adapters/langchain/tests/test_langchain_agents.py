"""Real agent loops, offline: ``create_agent`` driven by a scripted model, and a plain ``ToolNode`` graph.

Every scenario runs with both ways of guarding an agent (``mode``):

* ``tools``: each tool wrapped with ``CapFenceTool``, no middleware;
* ``middleware``: plain tools and one ``CapFenceMiddleware``;

and, where the agent is involved, both sync ``invoke`` and async ``ainvoke``.
For each: a denied call's body never runs (its file is never created), the
model is shown the block message and the agent carries on, a warned call
runs, and the audit log holds exactly one decision per execution of a tool
call (a re-run that is blocked again reuses its decision).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt
from lc_support import (
    CAPABILITIES,
    POLICY,
    calls,
    decisions_by_call,
    file_tools,
    gated_tools,
    script,
    tool_messages,
)

from capfence import ActionRuntime, CapFenceTool
from capfence.approvals.approvers import CallbackApprover
from capfence_langchain import CapFenceMiddleware

MODES = ["tools", "middleware"]
DENIED = "CapFence deny: secrets are off limits [rule no-secrets]"


def middleware(runtime: ActionRuntime) -> CapFenceMiddleware:
    return CapFenceMiddleware(gate=runtime, agent_id="test-agent", capabilities=CAPABILITIES)


def build_agent(
    mode: str, model: Any, workdir: Path, runtime: ActionRuntime, extra: list[Any] = (), **kwargs: Any
) -> Any:  # type: ignore[assignment]
    if mode == "tools":
        return create_agent(model, [*gated_tools(workdir, runtime), *extra], **kwargs)
    return create_agent(
        model, [*file_tools(workdir).values(), *extra], middleware=[middleware(runtime)], **kwargs
    )


def run(agent: Any, sync: bool, value: Any, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return agent.invoke(value, config) if sync else asyncio.run(agent.ainvoke(value, config))


def ask(text: str = "go") -> dict[str, Any]:
    return {"messages": [HumanMessage(text)]}


def assert_one_decision_per_call(runtime: ActionRuntime, expected: dict[str, str]) -> None:
    """Exactly one decision record per tool call id, with the expected action."""
    assert_decisions(runtime, {call: [action] for call, action in expected.items()})


def assert_decisions(runtime: ActionRuntime, expected: dict[str, list[str]]) -> None:
    """The decision records of each tool call id, in order."""
    found = decisions_by_call(runtime.audit_log)
    assert {call: [row["decision"] for row in rows] for call, rows in found.items()} == expected


def spy_decisions(runtime: ActionRuntime) -> list[str | None]:
    """Record the call id of every decision the runtime is asked for (reused or not)."""
    seen: list[str | None] = []
    decide = runtime.decide

    def spy(view: Any) -> Any:
        seen.append(view.call_id)
        return decide(view)

    runtime.decide = spy  # type: ignore[method-assign]
    return seen


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[True, False], ids=["invoke", "ainvoke"])
def sync(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_parallel_calls_deny_one_and_continue(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(
        calls(
            ("write_file", {"name": "notes.txt", "text": "hello"}, "c1"),
            ("write_file", {"name": "secret.txt", "text": "hunter2"}, "c2"),
            ("read_file", {"name": "missing.txt"}, "c3"),
        ),
        AIMessage("done"),
    )
    result = run(build_agent(mode, model, workdir, runtime), sync, ask())

    assert (workdir / "notes.txt").read_text() == "hello", "the warned call runs"
    assert not (workdir / "secret.txt").exists(), "the denied call's body never runs"
    results = tool_messages(result["messages"])
    assert results["c2"].status == "error" and results["c2"].content == DENIED
    assert results["c1"].status == "success" and results["c3"].content == "no file named missing.txt"
    assert result["messages"][-1].content == "done", "the agent carries on after a block"
    shown = tool_messages(model.prompts[-1])
    assert shown["c2"].content == DENIED, "the model is shown why the call was blocked"
    assert_one_decision_per_call(runtime, {"c1": "warn", "c2": "deny", "c3": "allow"})
    rows = decisions_by_call(runtime.audit_log)
    assert rows["c2"][0]["args"] == {"name": "secret.txt", "text": "hunter2"}
    assert {r[0]["tool"] for r in rows.values()} == {"write_file", "read_file"}
    assert {r[0]["framework"] for r in rows.values()} == {"langchain"}


def test_blocked_return_direct_tool_ends_the_run_with_the_message(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(calls(("finish", {"answer": "the secret is 42"}, "c1")), AIMessage("the model ran again"))
    result = run(build_agent(mode, model, workdir, runtime), sync, ask())

    assert not (workdir / "finished.txt").exists()
    last = result["messages"][-1]
    assert isinstance(last, ToolMessage) and last.status == "error" and last.content == DENIED
    assert len(model.prompts) == 1, "return_direct: the model is not called after the tool step"
    assert_one_decision_per_call(runtime, {"c1": "deny"})


def test_allowed_return_direct_tool_answers_directly(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(calls(("finish", {"answer": "42"}, "c1")), AIMessage("the model ran again"))
    result = run(build_agent(mode, model, workdir, runtime), sync, ask())

    assert result["messages"][-1].content == "FINAL: 42"
    assert (workdir / "finished.txt").read_text() == "42"
    assert len(model.prompts) == 1
    assert_one_decision_per_call(runtime, {"c1": "allow"})


def test_content_and_artifact_keeps_the_artifact(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(
        calls(("search", {"query": "notes"}, "c1"), ("search", {"query": "secret plans"}, "c2")),
        AIMessage("done"),
    )
    result = run(build_agent(mode, model, workdir, runtime), sync, ask())

    results = tool_messages(result["messages"])
    assert results["c1"].content == "2 hits for notes"
    assert results["c1"].artifact == {"query": "notes", "hits": [{"id": 1}, {"id": 2}]}
    assert results["c2"].status == "error" and results["c2"].content == DENIED
    assert (workdir / "searched.txt").read_text() == "notes", "only the allowed search ran"
    assert result["messages"][-1].content == "done"
    assert_one_decision_per_call(runtime, {"c1": "allow", "c2": "deny"})


def test_non_string_result_reaches_the_model(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(calls(("stats", {"name": "notes.txt"}, "c1")), AIMessage("done"))
    result = run(build_agent(mode, model, workdir, runtime), sync, ask())

    assert '"lines": 3' in tool_messages(result["messages"])["c1"].content
    assert_one_decision_per_call(runtime, {"c1": "allow"})


def test_held_call_tells_the_model_about_the_approval_request(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    @tool
    def deploy(target: str) -> str:
        """Deploy to a target."""
        (workdir / "deployed.txt").write_text(target)
        return "deployed"

    if mode == "tools":
        deploy = CapFenceTool(
            tool=deploy, agent_id="test-agent", capability="deploy.production", gate=runtime
        )
    model = script(calls(("deploy", {"target": "prod"}, "c1")), AIMessage("waiting for a human"))
    if mode == "tools":
        agent = create_agent(model, [deploy])
    else:
        guard = CapFenceMiddleware(
            gate=runtime, agent_id="test-agent", capabilities={"deploy": "deploy.production"}
        )
        agent = create_agent(model, [deploy], middleware=[guard])
    result = run(agent, sync, ask())

    held = tool_messages(result["messages"])["c1"]
    assert held.status == "error" and held.content.startswith("CapFence require_approval:")
    assert "[approval request apr_" in held.content
    assert not (workdir / "deployed.txt").exists()
    assert result["messages"][-1].content == "waiting for a human"


def test_held_call_approved_in_line_runs(mode: str, sync: bool, workdir: Path, tmp_path: Path) -> None:
    """With an approver on the runtime, a held call is put to a human at once; approved, it runs."""
    policy = tmp_path / "approve.yaml"
    policy.write_text(POLICY)
    asked: list[str] = []
    approver = CallbackApprover(lambda request: asked.append(request.capability) is None, identity="ops-lead")
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp_path / "approve.db", approver=approver)

    @tool
    def deploy(target: str) -> str:
        """Deploy to a target."""
        (workdir / "deployed.txt").write_text(target)
        return "deployed"

    model = script(calls(("deploy", {"target": "prod"}, "c1")), AIMessage("shipped"))
    if mode == "tools":
        agent = create_agent(
            model,
            [CapFenceTool(tool=deploy, agent_id="test-agent", capability="deploy.production", gate=runtime)],
        )
    else:
        guard = CapFenceMiddleware(
            gate=runtime, agent_id="test-agent", capabilities={"deploy": "deploy.production"}
        )
        agent = create_agent(model, [deploy], middleware=[guard])
    result = run(agent, sync, ask())
    runtime.close()

    assert asked == ["deploy.production"]
    assert (workdir / "deployed.txt").read_text() == "prod"
    assert tool_messages(result["messages"])["c1"].content == "deployed"
    # one call, two decisions: held, then allowed by the approval
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c1"]] == [
        "require_approval",
        "allow",
    ]


# --- a plain langgraph ToolNode graph ------------------------------------------------------


def toolnode_graph(mode: str, workdir: Path, runtime: ActionRuntime) -> Any:
    if mode == "tools":
        node = ToolNode(gated_tools(workdir, runtime))
    else:  # the middleware's methods are valid ToolNode interceptors too
        guard = middleware(runtime)
        node = ToolNode(
            list(file_tools(workdir).values()),
            wrap_tool_call=guard.wrap_tool_call,
            awrap_tool_call=guard.awrap_tool_call,
        )
    graph = StateGraph(MessagesState)
    graph.add_node("tools", node)
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    return graph.compile()


def test_toolnode_graph(mode: str, sync: bool, workdir: Path, runtime: ActionRuntime) -> None:
    request = calls(
        ("write_file", {"name": "a.txt", "text": "A"}, "c1"),
        ("write_file", {"name": "secret.txt", "text": "S"}, "c2"),
        ("search", {"query": "a"}, "c3"),
        ("stats", {"name": "a.txt"}, "c4"),
    )
    result = run(toolnode_graph(mode, workdir, runtime), sync, {"messages": [request]})

    results = tool_messages(result["messages"])
    assert (workdir / "a.txt").exists() and not (workdir / "secret.txt").exists()
    assert results["c2"].status == "error" and results["c2"].content == DENIED
    assert results["c3"].artifact["query"] == "a"
    assert '"sizes": [1, 2, 3]' in results["c4"].content
    assert_one_decision_per_call(runtime, {"c1": "warn", "c2": "deny", "c3": "allow", "c4": "allow"})


# --- a graph step run again: one decision per execution ------------------------------------------


def confirm_tool(workdir: Path) -> Any:
    @tool
    def confirm_write(name: str) -> str:
        """Write a file after a human confirms."""
        if not interrupt({"confirm": name}):
            return "cancelled"
        (workdir / name).write_text("confirmed")
        return f"wrote {name}"

    return confirm_write


def test_resumed_call_is_decided_for_each_execution(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """After an interrupt, LangGraph runs the interrupted tool call again: two executions, two decision records."""
    confirm = confirm_tool(workdir)
    if mode == "tools":
        confirm = CapFenceTool(
            tool=confirm, agent_id="test-agent", capability="filesystem.write", gate=runtime
        )
        agent = create_agent(
            script(
                calls(
                    ("write_file", {"name": "a.txt", "text": "A"}, "c1"),
                    ("confirm_write", {"name": "b.txt"}, "c2"),
                ),
                AIMessage("done"),
            ),
            [*gated_tools(workdir, runtime), confirm],
            checkpointer=InMemorySaver(),
        )
    else:
        guard = CapFenceMiddleware(
            gate=runtime,
            agent_id="test-agent",
            capabilities={**CAPABILITIES, "confirm_write": "filesystem.write"},
        )
        agent = create_agent(
            script(
                calls(
                    ("write_file", {"name": "a.txt", "text": "A"}, "c1"),
                    ("confirm_write", {"name": "b.txt"}, "c2"),
                ),
                AIMessage("done"),
            ),
            [*file_tools(workdir).values(), confirm],
            middleware=[guard],
            checkpointer=InMemorySaver(),
        )
    config = {"configurable": {"thread_id": f"resume-{mode}-{sync}"}}
    seen = spy_decisions(runtime)

    first = run(agent, sync, ask(), config)
    assert first["__interrupt__"] and not (workdir / "b.txt").exists()
    result = run(agent, sync, Command(resume=True), config)

    assert (workdir / "b.txt").read_text() == "confirmed"
    assert result["messages"][-1].content == "done"
    assert sorted(seen) == ["c1", "c2", "c2"], "the gate decided the resumed call again"
    assert_decisions(runtime, {"c1": ["warn"], "c2": ["warn", "warn"]})


def test_replayed_step_is_decided_for_each_execution(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """Replaying a checkpoint re-executes the tool step with the same tool_call_ids: a new record for the call that runs
    again, none for the call blocked again."""
    model = script(
        calls(
            ("write_file", {"name": "a.txt", "text": "A"}, "c1"),
            ("write_file", {"name": "secret.txt", "text": "S"}, "c2"),
        ),
        AIMessage("done"),
        AIMessage("done again"),
    )
    agent = build_agent(mode, model, workdir, runtime, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": f"replay-{mode}-{sync}"}}
    run(agent, sync, ask(), config)
    (workdir / "a.txt").unlink()

    before_tools = next(s for s in agent.get_state_history(config) if "tools" in s.next)
    seen = spy_decisions(runtime)
    replayed = run(agent, sync, None, before_tools.config)

    assert (workdir / "a.txt").exists(), "the replayed step really ran the tools again"
    assert not (workdir / "secret.txt").exists()
    assert replayed["messages"][-1].content == "done again"
    assert sorted(seen) == ["c1", "c2"], "the gate decided the replayed calls again"
    assert_decisions(runtime, {"c1": ["warn", "warn"], "c2": ["deny"]})
