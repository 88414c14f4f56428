"""A held call pauses a real ``create_agent`` run and resumes after a human decides in the store.

Every scenario runs with the middleware, with gated tools, and with both
(``mode``; with both, the gated tool run by the middleware for an approved call
is not decided again, so one approval is enough), with
``invoke`` and ``ainvoke`` (``sync``). The agent has an ``InMemorySaver``
checkpointer; the scripted model asks to deploy (held) and to write a file
(warned) in one turn. The first run stops with a LangGraph interrupt carrying
the approval request; the test decides through ``runtime.approvals`` and
resumes with ``Command(resume=...)``. What counts is the store, never the
resume value.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from lc_support import CAPABILITIES, POLICY, calls, decisions_by_call, file_tools, script, tool_messages

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows
from capfence_langchain import INTERRUPT_TYPE, CapFenceMiddleware, approval_interrupts, is_approval_interrupt

AGENT = "test-agent"
APPROVAL_POLICY = POLICY.replace(
    "  - id: hold-deploys\n    capability: deploy.production\n",
    "  - id: hold-deploys\n    capability: deploy.production\n    reason: production deploys need a human\n"
    "  - id: quick-hold\n    capability: deploy.staging\n    approval_timeout: 1\n",
)


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    policy = tmp_path / "approvals.yaml"
    policy.write_text(APPROVAL_POLICY)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


@pytest.fixture(params=["middleware", "tools", "both"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[True, False], ids=["invoke", "ainvoke"])
def sync(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def deploy_tool(workdir: Path) -> BaseTool:
    @tool
    def deploy(target: str) -> str:
        """Deploy the current build to a target."""
        with (workdir / "deploys.log").open("a") as log:
            log.write(target + "\n")
        return f"deployed to {target}"

    return deploy


def deploys(workdir: Path) -> list[str]:
    """The deploys that really ran."""
    path = workdir / "deploys.log"
    return path.read_text().splitlines() if path.exists() else []


def build(
    mode: str,
    model: Any,
    workdir: Path,
    runtime: ActionRuntime,
    *,
    capability: str = "deploy.production",
    checkpointer: bool = True,
    interrupts: bool = True,
) -> Any:
    deploy = deploy_tool(workdir)
    write_file = file_tools(workdir)["write_file"]
    saver = InMemorySaver() if checkpointer else None
    if mode == "middleware":
        guard = CapFenceMiddleware(
            gate=runtime,
            agent_id=AGENT,
            capabilities={**CAPABILITIES, "deploy": capability},
            interrupt_on_approval=interrupts,
        )
        return create_agent(model, [deploy, write_file], middleware=[guard], checkpointer=saver)
    gated_deploy = CapFenceTool(tool=deploy, agent_id=AGENT, capability=capability, gate=runtime)
    if not interrupts:
        gated_deploy = approval_interrupts(gated_deploy, False)
    gated_write = CapFenceTool(tool=write_file, agent_id=AGENT, capability="filesystem.write", gate=runtime)
    middleware = (
        [CapFenceMiddleware(gate=runtime, agent_id=AGENT, interrupt_on_approval=interrupts)]
        if mode == "both"
        else []
    )
    return create_agent(model, [gated_deploy, gated_write], middleware=middleware, checkpointer=saver)


def run(agent: Any, sync: bool, value: Any, config: dict[str, Any]) -> dict[str, Any]:
    return agent.invoke(value, config) if sync else asyncio.run(agent.ainvoke(value, config))


def deploy_turn(target: str = "prod") -> AIMessage:
    return calls(
        ("deploy", {"target": target}, "c1"), ("write_file", {"name": "notes.txt", "text": "hi"}, "c2")
    )


def config(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def interrupted(result: dict[str, Any]) -> dict[str, Any]:
    """The one CapFence approval interrupt of a paused run."""
    (pending,) = result["__interrupt__"]
    assert is_approval_interrupt(pending.value)
    return dict(pending.value)


def approval_events(runtime: ActionRuntime) -> list[str]:
    """The approval transitions in the hash chain, in order (created -> pending, then each new status)."""

    return [json.loads(r["detail"])["status"] for r in audit_rows(runtime.audit_log, "approval")]


def outcomes(runtime: ActionRuntime, tool_name: str) -> list[str]:
    return [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome") if r["tool"] == tool_name]


def test_held_call_pauses_the_run_and_runs_once_after_approval(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(deploy_turn(), AIMessage("shipped"))
    agent = build(mode, model, workdir, runtime)
    cfg = config(f"approve-{mode}-{sync}")

    first = run(agent, sync, {"messages": [HumanMessage("deploy")]}, cfg)

    request = interrupted(first)
    (pending,) = runtime.approvals.list("pending")
    assert request["type"] == INTERRUPT_TYPE and request["request_id"] == pending.id
    assert json.loads(json.dumps(request)) == request, (
        "a plain JSON value (checkpoint serializers, LangGraph clients)"
    )
    assert {
        k: request[k] for k in ("tool", "tool_call_id", "agent_id", "capability", "arguments", "rule")
    } == {
        "tool": "deploy",
        "tool_call_id": "c1",
        "agent_id": AGENT,
        "capability": "deploy.production",
        "arguments": {"target": "prod"},
        "rule": "hold-deploys",
    }
    assert (
        request["reason"].startswith("production deploys need a human")
        and request["expires"] == pending.expires
    )
    assert f"capfence approvals approve {pending.id}" in request["how_to_approve"]
    assert deploys(workdir) == [], "held: the body has not run"
    assert (workdir / "notes.txt").read_text() == "hi", "the call next to it was not held"
    assert len(model.prompts) == 1, "the model is not asked again while the run is paused"

    runtime.approvals.approve(pending.id, by="ops-lead", comment="change OPS-7")
    result = run(agent, sync, Command(resume="approved"), cfg)

    assert deploys(workdir) == ["prod"], "approved: the body ran exactly once"
    assert tool_messages(result["messages"])["c1"].content == "deployed to prod"
    assert result["messages"][-1].content == "shipped"
    assert runtime.approvals.get(pending.id).status == "consumed"
    assert runtime.approvals.get(pending.id).decided_by == "ops-lead"
    # one request; the decision records: held, then allowed by the approval; the warned call decided once
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c1"]] == [
        "require_approval",
        "allow",
    ]
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c2"]] == ["warn"]
    assert approval_events(runtime) == ["pending", "approved", "consumed"]
    assert outcomes(runtime, "deploy") == ["held", "ran"]


def test_denied_call_never_runs_and_the_agent_carries_on(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(deploy_turn(), AIMessage("not deployed"))
    agent = build(mode, model, workdir, runtime)
    cfg = config(f"deny-{mode}-{sync}")
    request = interrupted(run(agent, sync, {"messages": [HumanMessage("deploy")]}, cfg))

    runtime.approvals.deny(request["request_id"], by="ops-lead", comment="not on a Friday")
    # the resume value lies: the store decides
    result = run(agent, sync, Command(resume={"approved": True}), cfg)

    assert deploys(workdir) == []
    held = tool_messages(result["messages"])["c1"]
    assert held.status == "error" and held.content.startswith("CapFence deny:")
    assert f"approval request {request['request_id']} was denied by ops-lead" in held.content
    assert result["messages"][-1].content == "not deployed"
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c1"]] == ["require_approval", "deny"]
    assert approval_events(runtime) == ["pending", "denied"]
    assert outcomes(runtime, "deploy") == ["held", "blocked"]


def test_resume_without_a_decision_is_not_an_approval(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(deploy_turn(), AIMessage("waiting"))
    agent = build(mode, model, workdir, runtime)
    cfg = config(f"pending-{mode}-{sync}")
    request = interrupted(run(agent, sync, {"messages": [HumanMessage("deploy")]}, cfg))

    result = run(agent, sync, Command(resume={"approved": True, "by": "someone"}), cfg)

    assert deploys(workdir) == []
    held = tool_messages(result["messages"])["c1"]
    assert held.status == "error" and held.content.startswith("CapFence require_approval:")
    assert f"approval request {request['request_id']} is still pending" in held.content
    assert [r.id for r in runtime.approvals.list()] == [request["request_id"]], "no second request"
    assert runtime.approvals.get(request["request_id"]).status == "pending"
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c1"]] == ["require_approval"], (
        "no duplicate decision"
    )
    assert approval_events(runtime) == ["pending"]


def test_expired_request_is_denied_on_resume_without_a_new_request(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(deploy_turn("staging"), AIMessage("too late"))
    agent = build(mode, model, workdir, runtime, capability="deploy.staging")
    cfg = config(f"expired-{mode}")
    request = interrupted(agent.invoke({"messages": [HumanMessage("deploy")]}, cfg))

    time.sleep(1.2)  # the rule's approval_timeout is 1 s
    result = agent.invoke(Command(resume="approved"), cfg)

    assert deploys(workdir) == []
    held = tool_messages(result["messages"])["c1"]
    assert (
        held.status == "error"
        and f"approval request {request['request_id']} expired without a decision" in held.content
    )
    assert [(r.id, r.status) for r in runtime.approvals.list()] == [(request["request_id"], "expired")], (
        "no second request"
    )
    assert [r["decision"] for r in decisions_by_call(runtime.audit_log)["c1"]] == ["require_approval", "deny"]


def test_parallel_held_calls_are_decided_one_by_one(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    model = script(
        calls(("deploy", {"target": "eu"}, "c1"), ("deploy", {"target": "us"}, "c2")),
        AIMessage("half shipped"),
    )
    agent = build(mode, model, workdir, runtime)
    cfg = config(f"parallel-{mode}-{sync}")

    first = run(agent, sync, {"messages": [HumanMessage("deploy everywhere")]}, cfg)

    paused = {i.value["arguments"]["target"]: i for i in first["__interrupt__"]}
    assert sorted(paused) == ["eu", "us"] and len(runtime.approvals.list("pending")) == 2
    runtime.approvals.approve(paused["eu"].value["request_id"], by="ops-lead")
    runtime.approvals.deny(paused["us"].value["request_id"], by="ops-lead")
    result = run(agent, sync, Command(resume={i.id: "decided" for i in first["__interrupt__"]}), cfg)

    assert deploys(workdir) == ["eu"]
    results = tool_messages(result["messages"])
    assert results["c1"].content == "deployed to eu" and results["c2"].status == "error"
    assert {c: [r["decision"] for r in rows] for c, rows in decisions_by_call(runtime.audit_log).items()} == {
        "c1": ["require_approval", "allow"],
        "c2": ["require_approval", "deny"],
    }


@pytest.mark.parametrize(
    "checkpointer, interrupts", [(False, True), (True, False)], ids=["no-checkpointer", "opted-out"]
)
def test_without_interrupts_the_model_gets_the_request_id(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime, checkpointer: bool, interrupts: bool
) -> None:
    model = script(deploy_turn(), AIMessage("asked a human"))
    agent = build(mode, model, workdir, runtime, checkpointer=checkpointer, interrupts=interrupts)

    result = run(
        agent, sync, {"messages": [HumanMessage("deploy")]}, config(f"plain-{mode}-{sync}-{checkpointer}")
    )

    assert "__interrupt__" not in result
    (pending,) = runtime.approvals.list("pending")
    held = tool_messages(result["messages"])["c1"]
    assert held.status == "error" and held.content.startswith("CapFence require_approval:")
    assert held.content.endswith(f"[approval request {pending.id}]")
    assert result["messages"][-1].content == "asked a human" and deploys(workdir) == []


def test_an_approved_request_is_good_for_one_call_only(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    """After the approved call ran, the model asking for the same deploy again is held again (a new request)."""
    again = calls(("deploy", {"target": "prod"}, "c3"))
    model = script(deploy_turn(), again, AIMessage("done"))
    agent = build(mode, model, workdir, runtime)
    cfg = config(f"once-{mode}")
    request = interrupted(agent.invoke({"messages": [HumanMessage("deploy twice")]}, cfg))
    runtime.approvals.approve(request["request_id"], by="ops-lead")

    second = agent.invoke(Command(resume="approved"), cfg)

    assert deploys(workdir) == ["prod"]
    repeat = interrupted(second)
    assert repeat["tool_call_id"] == "c3" and repeat["request_id"] != request["request_id"]
    assert [r.status for r in runtime.approvals.list()] == ["consumed", "pending"]


def test_approval_interrupts_needs_a_gated_tool(workdir: Path, runtime: ActionRuntime) -> None:
    from capfence.errors import CapFenceError

    with pytest.raises(CapFenceError, match="no CapFence binding"):
        approval_interrupts(deploy_tool(workdir), False)
    gated = CapFenceTool(
        tool=deploy_tool(workdir), agent_id=AGENT, capability="deploy.production", gate=runtime
    )
    quiet = approval_interrupts(gated, False)
    assert quiet is not gated and type(quiet) is type(gated) and quiet.name == gated.name
