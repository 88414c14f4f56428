"""Real LlamaIndex agent loops, offline: FunctionAgent, ReActAgent and a two-agent AgentWorkflow on a scripted LLM.

Every scenario runs with both ways of guarding (``mode``):

* ``tools``: each tool wrapped on its own with ``CapFenceTool``;
* ``agent``: plain tools, then ``guard_agent`` / ``guard_workflow``.

For each: a denied call's body never runs (its file is never created), the
model is shown the block message and the agent carries on, a warned call runs,
the audit log holds exactly one decision per tool call (framework
``llamaindex``), and the streamed events still arrive.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from li_context_tools import confirm_write_tool, remember_tool
from li_support import (
    CAPABILITIES,
    DENIED,
    calls,
    decisions,
    decisions_by_call,
    file_functions,
    file_tools,
    gated_tools,
    outcomes,
    react,
    scripted,
)
from llama_index.core.agent.workflow import (
    AgentOutput,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCall,
    ToolCallResult,
)
from llama_index.core.objects import ObjectRetriever, SimpleToolNodeMapping
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent

from capfence import ActionRuntime, CapFenceTool
from capfence_llamaindex import approval_events, guard_agent, guard_workflow
from capfence_llamaindex.testing import ScriptedLLM, react_answer

MODES = ["tools", "agent"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_agent(agent: Any, **kwargs: Any) -> tuple[str, list[Any]]:
    """Run to the end, collecting every streamed event."""

    async def go() -> tuple[str, list[Any]]:
        handler = agent.run(user_msg="go", **kwargs)
        events = [event async for event in handler.stream_events()]
        return str(await handler), events

    return asyncio.run(go())


def results(events: list[Any]) -> dict[str, Any]:
    """Tool outputs by tool-call id."""
    return {event.tool_id: event.tool_output for event in events if isinstance(event, ToolCallResult)}


def assert_llamaindex_records(runtime: ActionRuntime, agent_id: str | None = None) -> None:
    for row in decisions(runtime):
        assert row["framework"] == "llamaindex"
        assert agent_id is None or row["agent_id"] == agent_id


def function_agent(
    mode: str, workdir: Path, runtime: ActionRuntime, llm: ScriptedLLM, **kwargs: Any
) -> FunctionAgent:
    if mode == "tools":
        return FunctionAgent(tools=gated_tools(workdir, runtime, "helper"), llm=llm, **kwargs)
    agent = FunctionAgent(tools=list(file_functions(workdir).values()), llm=llm, **kwargs)
    return guard_agent(agent, gate=runtime, agent_id="helper", capabilities=CAPABILITIES)


# --- FunctionAgent ----------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "no-stream"])
def test_function_agent_denies_warns_and_continues(
    mode: str, streaming: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    llm = scripted(
        calls(
            ("write_file", {"name": "notes.txt", "text": "hello"}, "c1"),
            ("write_file", {"name": "x.txt", "text": "my secret"}, "c2"),
        ),
        calls(("read_file", {"name": "notes.txt"}, "c3")),
        "All done.",
    )
    agent = function_agent(mode, workdir, runtime, llm, streaming=streaming)

    answer, events = run_agent(agent)

    assert answer == "All done."
    assert (workdir / "notes.txt").read_text() == "hello"  # warned: ran
    assert not (workdir / "x.txt").exists()  # denied: never ran
    out = results(events)
    assert out["c2"].is_error and out["c2"].content == DENIED
    assert not out["c1"].is_error and out["c1"].content == "wrote notes.txt"
    assert out["c3"].content == "hello"
    assert llm.saw(DENIED), "the model must be shown why the call was blocked"
    assert decisions_by_call(runtime) == {"c1": ["warn"], "c2": ["deny"], "c3": ["allow"]}
    assert_llamaindex_records(runtime, "helper")
    assert sorted(outcomes(runtime)) == ["blocked", "ran", "ran"]
    kinds = {type(event).__name__ for event in events}
    assert {"AgentInput", "AgentOutput", "ToolCall", "ToolCallResult"} <= kinds
    if streaming:
        assert "AgentStream" in kinds


def test_function_agent_tool_with_context_is_injected_but_not_audited(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    tool = FunctionTool.from_defaults(remember_tool(workdir))
    assert tool.ctx_param_name == "ctx"
    tools = [
        CapFenceTool(tool=tool, agent_id="helper", capability="filesystem.write", gate=runtime)
        if mode == "tools"
        else tool
    ]
    llm = scripted(
        calls(("remember", {"note": "buy milk"}, "c1"), ("remember", {"note": "the secret"}, "c2")), "ok"
    )
    agent = FunctionAgent(tools=tools, llm=llm)
    if mode == "agent":
        guard_agent(agent, gate=runtime, agent_id="helper", capabilities={"remember": "filesystem.write"})

    answer, events = run_agent(agent)

    assert answer == "ok"
    out = results(events)
    assert out["c1"].content == "remembered buy milk"
    assert out["c2"].content == DENIED
    assert (workdir / "remembered").read_text() == "buy milk"
    rows = decisions(runtime)
    assert [json.loads(row["payload"]) for row in rows] == [{"note": "buy milk"}, {"note": "the secret"}]
    assert all("ctx" not in row["payload"] for row in rows)


def test_blocked_return_direct_tool_goes_back_to_the_model(workdir: Path, runtime: ActionRuntime) -> None:
    """LlamaIndex only ends a run on a return_direct tool's *successful* output: a blocked one returns to the model."""
    fns = file_functions(workdir)
    tool = FunctionTool.from_defaults(fns["write_file"], return_direct=True)
    llm = scripted(
        calls(("write_file", {"name": "a.txt", "text": "secret"}, "c1")),
        calls(("write_file", {"name": "b.txt", "text": "fine"}, "c2")),
        "never reached",
    )
    agent = guard_agent(
        FunctionAgent(tools=[tool], llm=llm), gate=runtime, agent_id="helper", capabilities=CAPABILITIES
    )

    answer, events = run_agent(agent)

    assert not (workdir / "a.txt").exists()
    assert answer == "wrote b.txt"  # the allowed return_direct call ended the run
    assert results(events)["c1"].content == DENIED
    assert decisions_by_call(runtime) == {"c1": ["deny"], "c2": ["warn"]}


def test_require_approval_names_the_request(mode: str, workdir: Path, runtime: ActionRuntime) -> None:
    """With the approval events off, a held call is returned at once (test_llamaindex_approvals.py has them on)."""
    llm = scripted(calls(("deploy", {"service": "api"}, "c1")), "Waiting for a human.")
    agent = function_agent(mode, workdir, runtime, llm)
    agent.tools = [approval_events(tool, False) for tool in agent.tools or []]

    answer, events = run_agent(agent)

    assert answer == "Waiting for a human."
    assert not (workdir / "deployed-api").exists()
    output = results(events)["c1"]
    assert output.is_error
    row = decisions(runtime)[0]
    assert row["decision"] == "require_approval"
    approval_id = json.loads(row["detail"]).get("approval_id")
    assert approval_id, "the runtime opens an approval request for a held call"
    assert (
        output.content
        == f"CapFence require_approval: {row['reason']} [rule hold-deploys] [approval request {approval_id}]"
    )
    assert output.exception is not None and output.exception.request_id == approval_id  # type: ignore[attr-defined]
    assert outcomes(runtime) == ["held"]


def test_unmapped_tool_gets_the_default_capability(workdir: Path, runtime: ActionRuntime) -> None:
    def touch(name: str) -> str:
        """Create an empty file."""
        (workdir / name).touch()
        return "ok"

    llm = scripted(calls(("touch", {"name": "t"}, "c1")), "done")
    agent = guard_agent(FunctionAgent(tools=[touch], llm=llm), gate=runtime, agent_id="helper")

    run_agent(agent)

    assert (workdir / "t").exists()
    assert [(row["capability"], row["decision"]) for row in decisions(runtime)] == [("tool.touch", "warn")]


class ListRetriever(BaseRetriever):
    """Returns every node it holds, whatever the query."""

    def __init__(self, nodes: list[Any]) -> None:
        super().__init__()
        self.nodes = nodes

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=node, score=1.0) for node in self.nodes]


def test_tools_served_by_a_tool_retriever_are_gated(workdir: Path, runtime: ActionRuntime) -> None:
    tools = list(file_tools(workdir).values())
    mapping = SimpleToolNodeMapping.from_objects(tools)
    retriever = ObjectRetriever(retriever=ListRetriever(mapping.to_nodes(tools)), object_node_mapping=mapping)
    llm = scripted(
        calls(
            ("write_file", {"name": "s.txt", "text": "secret"}, "c1"),
            ("write_file", {"name": "ok.txt", "text": "ok"}, "c2"),
        ),
        "done",
    )
    agent = FunctionAgent(tool_retriever=retriever, llm=llm)
    assert guard_agent(agent, gate=runtime, agent_id="helper", capabilities=CAPABILITIES) is agent
    assert isinstance(agent.tool_retriever, ObjectRetriever) and agent.tool_retriever is not retriever

    answer, events = run_agent(agent)

    assert answer == "done"
    assert not (workdir / "s.txt").exists() and (workdir / "ok.txt").exists()
    assert results(events)["c1"].content == DENIED
    assert decisions_by_call(runtime) == {"c1": ["deny"], "c2": ["warn"]}
    # the caller's retriever still serves its own, ungated tools
    assert not hasattr(retriever.retrieve("x")[0], "__capfence_binding__")


def test_human_in_the_loop_replay_is_decided_for_each_execution(
    workdir: Path, runtime: ActionRuntime
) -> None:
    """A tool that waits for a human makes the workflow replay its step: the body runs again, on a decision of its own."""

    llm = scripted(calls(("confirm_write", {"name": "c.txt"}, "c1")), "done")
    agent = guard_agent(
        FunctionAgent(tools=[confirm_write_tool(workdir)], llm=llm),
        gate=runtime,
        agent_id="helper",
        capabilities={"confirm_write": "filesystem.write"},
    )

    asked: list[str | None] = []
    decide = runtime.decide

    def spy(view: Any) -> Any:
        asked.append(view.call_id)
        return decide(view)

    runtime.decide = spy  # type: ignore[method-assign]

    async def go() -> str:
        handler = agent.run(user_msg="go")
        async for event in handler.stream_events():
            if isinstance(event, InputRequiredEvent):
                handler.ctx.send_event(HumanResponseEvent(response="yes"))
        return str(await handler)

    assert asyncio.run(go()) == "done"
    assert (workdir / "c.txt").read_text() == "confirmed"
    assert len(asked) == 2 and asked[0] == asked[1] and asked[0] is not None, (
        "the step ran twice, under one call id"
    )
    assert decisions_by_call(runtime) == {"c1": ["warn", "warn"]}, (
        "one decision record per execution of the body"
    )
    assert outcomes(runtime) == ["tool_error", "ran"], "the interrupted first attempt, then the replay"


# --- ReActAgent --------------------------------------------------------------------------


def test_react_agent_denies_warns_and_continues(mode: str, workdir: Path, runtime: ActionRuntime) -> None:
    llm = scripted(
        react("write_file", {"name": "x.txt", "text": "the secret"}),
        react(
            "write_file", {"name": "notes.txt", "text": "hello"}, "That was blocked; write something else."
        ),
        react_answer("All done."),
    )
    if mode == "tools":
        agent = ReActAgent(tools=gated_tools(workdir, runtime, "helper"), llm=llm)
    else:
        agent = guard_agent(
            ReActAgent(tools=list(file_tools(workdir).values()), llm=llm),
            gate=runtime,
            agent_id="helper",
            capabilities=CAPABILITIES,
        )

    answer, events = run_agent(agent)

    assert answer == "All done."
    assert not (workdir / "x.txt").exists()
    assert (workdir / "notes.txt").read_text() == "hello"
    outputs = [event.tool_output for event in events if isinstance(event, ToolCallResult)]
    assert [(o.is_error, o.content) for o in outputs] == [(True, DENIED), (False, "wrote notes.txt")]
    assert llm.saw(f"Observation: {DENIED}")
    assert [row["decision"] for row in decisions(runtime)] == ["deny", "warn"]
    assert len(decisions_by_call(runtime)) == 2, "one decision per tool call"
    assert_llamaindex_records(runtime, "helper")
    kinds = {type(event).__name__ for event in events}
    assert {"AgentInput", "AgentOutput", "AgentStream", "ToolCall", "ToolCallResult"} <= kinds


# --- AgentWorkflow -----------------------------------------------------------------------


def two_agent_workflow(
    mode: str, workdir: Path, runtime: ActionRuntime, router_llm: ScriptedLLM, ops_llm: ScriptedLLM
) -> AgentWorkflow:
    if mode == "tools":
        router_tools: list[Any] = gated_tools(workdir, runtime, "router", ("read_file",))
        ops_tools: list[Any] = gated_tools(workdir, runtime, "ops", ("write_file",))
    else:
        tools = file_tools(workdir)
        router_tools, ops_tools = [tools["read_file"]], [tools["write_file"]]
    router = FunctionAgent(
        name="router",
        description="Reads files and routes work.",
        tools=router_tools,
        llm=router_llm,
        can_handoff_to=["ops"],
    )
    ops = ReActAgent(name="ops", description="Writes files.", tools=ops_tools, llm=ops_llm)
    workflow = AgentWorkflow(agents=[router, ops], root_agent="router")
    if mode == "agent":
        assert guard_workflow(workflow, gate=runtime, capabilities=CAPABILITIES) is workflow
    return workflow


def test_agent_workflow_two_agents(mode: str, workdir: Path, runtime: ActionRuntime) -> None:
    (workdir / "todo.txt").write_text("write notes")
    router_llm = scripted(
        calls(("read_file", {"name": "todo.txt"}, "r1")),
        calls(("handoff", {"to_agent": "ops", "reason": "writing is ops' job"}, "r2")),
    )
    ops_llm = scripted(
        react("write_file", {"name": "x.txt", "text": "a secret"}),
        react("write_file", {"name": "notes.txt", "text": "hello"}),
        react_answer("Notes written."),
    )
    workflow = two_agent_workflow(mode, workdir, runtime, router_llm, ops_llm)

    answer, events = run_agent(workflow)

    assert answer == "Notes written."
    assert not (workdir / "x.txt").exists()
    assert (workdir / "notes.txt").read_text() == "hello"
    assert ops_llm.saw(f"Observation: {DENIED}")
    rows = decisions(runtime)
    assert [(row["agent_id"], row["tool"], row["decision"]) for row in rows] == [
        ("router", "read_file", "allow"),
        ("ops", "write_file", "deny"),
        ("ops", "write_file", "warn"),
    ], "one decision per tool call; the hand-off tool is not gated"
    assert len(decisions_by_call(runtime)) == 3
    assert_llamaindex_records(runtime)
    handoffs = [e for e in events if isinstance(e, ToolCallResult) and e.tool_name == "handoff"]
    assert len(handoffs) == 1 and not handoffs[0].tool_output.is_error
    assert {e.current_agent_name for e in events if isinstance(e, AgentOutput)} == {"router", "ops"}
    assert any(isinstance(e, ToolCall) and not isinstance(e, ToolCallResult) for e in events)
