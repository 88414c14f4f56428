"""A held call inside a real workflow agent asks a human through workflow events; the store decides.

The scripted model asks to deploy (held by the policy) and to write a file
(warned). The agent writes an ``InputRequiredEvent`` carrying the approval
request to the stream and waits; the test, acting as the application, decides
through ``runtime.approvals`` and sends the matching ``HumanResponseEvent``.
LlamaIndex then replays the tool-call step and the gate decides again from
the store. What the response says is never the decision.

``mode``: tools wrapped one by one with ``CapFenceTool`` (``tools``), or plain
tools and ``guard_agent`` (``agent``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from li_support import calls, decisions_by_call, outcomes, react, scripted
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.tools import FunctionTool, ToolOutput
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows
from capfence_llamaindex import REQUEST_ID_FIELD, approval_events, guard_agent
from capfence_llamaindex.testing import ScriptedLLM, react_answer

AGENT = "helper"
CAPABILITIES = {
    "deploy": "deploy.production",
    "deploy_staging": "deploy.staging",
    "write_file": "filesystem.write",
}
POLICY = """\
require_approval:
  - id: hold-deploys
    capability: deploy.production
    reason: production deploys need a human
  - id: quick-hold
    capability: deploy.staging
    approval_timeout: 1
warn:
  - id: observe-writes
    capability: filesystem.write
"""

Answer = Callable[[ActionRuntime, InputRequiredEvent], str | None]
"""What the application does with an InputRequiredEvent: decide in the store (or not); returns the response to send (None: none)."""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    policy = tmp_path / "approvals.yaml"
    policy.write_text(POLICY)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


@pytest.fixture(params=["tools", "agent"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def functions(workdir: Path) -> list[Callable[..., str]]:
    def deploy(service: str) -> str:
        """Deploy a service to production."""
        with (workdir / "deploys.log").open("a") as log:
            log.write(service + "\n")
        return f"deployed {service}"

    def deploy_staging(service: str) -> str:
        """Deploy a service to staging."""
        with (workdir / "deploys.log").open("a") as log:
            log.write(f"staging:{service}\n")
        return f"deployed {service} to staging"

    def write_file(name: str, text: str) -> str:
        """Write text to a file in the work directory."""
        (workdir / name).write_text(text)
        return f"wrote {name}"

    return [deploy, deploy_staging, write_file]


def deploys(workdir: Path) -> list[str]:
    path = workdir / "deploys.log"
    return path.read_text().splitlines() if path.exists() else []


def tools(mode: str, workdir: Path, runtime: ActionRuntime) -> list[Any]:
    if mode == "agent":
        return list(functions(workdir))
    return [
        CapFenceTool(
            tool=FunctionTool.from_defaults(fn),
            agent_id=AGENT,
            capability=CAPABILITIES[fn.__name__],
            gate=runtime,
        )
        for fn in functions(workdir)
    ]


def function_agent(
    mode: str, workdir: Path, runtime: ActionRuntime, llm: ScriptedLLM, **guard: Any
) -> FunctionAgent:
    agent = FunctionAgent(tools=tools(mode, workdir, runtime), llm=llm)
    if mode == "agent":
        guard_agent(agent, gate=runtime, agent_id=AGENT, capabilities=CAPABILITIES, **guard)
    return agent


def run(
    agent: Any, answer: Answer, runtime: ActionRuntime
) -> tuple[str, list[InputRequiredEvent], dict[str, ToolOutput]]:
    """Run the agent as an application would: answer every CapFence InputRequiredEvent with ``answer``."""

    async def go() -> tuple[str, list[InputRequiredEvent], dict[str, ToolOutput]]:
        handler = agent.run(user_msg="go")
        asked: list[InputRequiredEvent] = []
        results: dict[str, ToolOutput] = {}
        async for event in handler.stream_events():
            if isinstance(event, InputRequiredEvent) and hasattr(event, REQUEST_ID_FIELD):
                asked.append(event)
                response = answer(runtime, event)
                if response is not None:
                    handler.ctx.send_event(
                        HumanResponseEvent(
                            response=response, **{REQUEST_ID_FIELD: getattr(event, REQUEST_ID_FIELD)}
                        )
                    )
            elif isinstance(event, ToolCallResult):
                results[event.tool_id] = event.tool_output
        return str(await handler), asked, results

    return asyncio.run(asyncio.wait_for(go(), 30))


def approve(runtime: ActionRuntime, event: InputRequiredEvent) -> str:
    runtime.approvals.approve(getattr(event, REQUEST_ID_FIELD), by="ops-lead", comment="change OPS-7")
    return "approved"


def deny(runtime: ActionRuntime, event: InputRequiredEvent) -> str:
    runtime.approvals.deny(getattr(event, REQUEST_ID_FIELD), by="ops-lead")
    return "yes, go ahead"  # the response says yes; the store says no


def approval_events_in_chain(runtime: ActionRuntime) -> list[str]:
    return [json.loads(r["detail"])["status"] for r in audit_rows(runtime.audit_log, "approval")]


def deploy_and_write() -> Any:
    return calls(
        ("deploy", {"service": "api"}, "c1"), ("write_file", {"name": "notes.txt", "text": "hi"}, "c2")
    )


def test_held_call_asks_a_human_and_runs_once_after_approval(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    llm = scripted(deploy_and_write(), "shipped")
    answer, asked, results = run(function_agent(mode, workdir, runtime, llm), approve, runtime)

    (event,) = asked
    (request,) = runtime.approvals.list()
    assert getattr(event, REQUEST_ID_FIELD) == request.id and "approval request " + request.id in event.prefix
    carried = event.capfence_request
    assert {k: carried[k] for k in ("request_id", "tool", "agent_id", "capability", "arguments", "rule")} == {
        "request_id": request.id,
        "tool": "deploy",
        "agent_id": AGENT,
        "capability": "deploy.production",
        "arguments": {"service": "api"},
        "rule": "hold-deploys",
    }
    assert (
        carried["expires"] == request.expires
        and f"capfence approvals approve {request.id}" in carried["how_to_approve"]
    )
    assert json.loads(json.dumps(carried)) == carried

    assert answer == "shipped"
    assert deploys(workdir) == ["api"], "approved: the body ran exactly once"
    assert results["c1"].content == "deployed api" and not results["c1"].is_error
    assert (workdir / "notes.txt").read_text() == "hi"
    assert (runtime.approvals.get(request.id).status, runtime.approvals.get(request.id).decided_by) == (
        "consumed",
        "ops-lead",
    )
    # the step ran twice (LlamaIndex replays it), yet: one request, held then allowed, one decision for the warned call
    assert decisions_by_call(runtime) == {"c1": ["require_approval", "allow"], "c2": ["warn"]}
    assert approval_events_in_chain(runtime) == ["pending", "approved", "consumed"]
    assert [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome") if r["tool"] == "deploy"] == [
        "held",
        "ran",
    ]


def test_denied_call_never_runs_whatever_the_response_says(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    llm = scripted(deploy_and_write(), "not deployed")
    answer, _, results = run(function_agent(mode, workdir, runtime, llm), deny, runtime)

    (request,) = runtime.approvals.list()
    assert answer == "not deployed" and deploys(workdir) == []
    assert results["c1"].is_error and results["c1"].content.startswith("CapFence deny:")
    assert f"approval request {request.id} was denied by ops-lead" in results["c1"].content
    assert llm.saw(f"approval request {request.id} was denied by ops-lead"), "the model was told"
    assert decisions_by_call(runtime) == {"c1": ["require_approval", "deny"], "c2": ["warn"]}
    assert approval_events_in_chain(runtime) == ["pending", "denied"]


def test_a_response_without_a_decision_is_not_an_approval(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    llm = scripted(deploy_and_write(), "waiting")
    _, _, results = run(function_agent(mode, workdir, runtime, llm), lambda rt, event: "approved!", runtime)

    (request,) = runtime.approvals.list()
    assert deploys(workdir) == [] and request.status == "pending", (
        "no second request, and the first is still pending"
    )
    assert results["c1"].is_error and results["c1"].content.startswith("CapFence require_approval:")
    assert f"approval request {request.id} is still pending" in results["c1"].content
    assert decisions_by_call(runtime) == {"c1": ["require_approval"], "c2": ["warn"]}, (
        "the re-run wrote no second decision"
    )
    assert approval_events_in_chain(runtime) == ["pending"]


def test_no_response_before_expiry_denies_without_a_new_request(
    mode: str, workdir: Path, runtime: ActionRuntime
) -> None:
    llm = scripted(calls(("deploy_staging", {"service": "api"}, "c1")), "too late")
    answer, asked, results = run(function_agent(mode, workdir, runtime, llm), lambda rt, event: None, runtime)

    (request,) = runtime.approvals.list()
    assert len(asked) == 1 and answer == "too late" and deploys(workdir) == []
    assert request.status == "expired"
    assert f"approval request {request.id} expired without a decision" in results["c1"].content
    assert decisions_by_call(runtime) == {"c1": ["require_approval", "deny"]}


def test_parallel_held_calls_are_decided_one_by_one(mode: str, workdir: Path, runtime: ActionRuntime) -> None:
    llm = scripted(
        calls(("deploy", {"service": "eu"}, "c1"), ("deploy", {"service": "us"}, "c2")), "half shipped"
    )

    def decide(rt: ActionRuntime, event: InputRequiredEvent) -> str:
        return (
            approve(rt, event)
            if event.capfence_request["arguments"] == {"service": "eu"}
            else deny(rt, event)
        )

    answer, asked, results = run(function_agent(mode, workdir, runtime, llm), decide, runtime)

    assert len(asked) == 2 and answer == "half shipped"
    assert deploys(workdir) == ["eu"]
    assert results["c1"].content == "deployed eu" and results["c2"].is_error
    assert decisions_by_call(runtime) == {
        "c1": ["require_approval", "allow"],
        "c2": ["require_approval", "deny"],
    }


def test_react_agent_asks_too(workdir: Path, runtime: ActionRuntime) -> None:
    llm = scripted(react("deploy", {"service": "api"}), react_answer("shipped"))
    agent = guard_agent(
        ReActAgent(tools=list(functions(workdir)), llm=llm),
        gate=runtime,
        agent_id=AGENT,
        capabilities=CAPABILITIES,
    )

    answer, asked, _ = run(agent, approve, runtime)

    assert len(asked) == 1 and answer == "shipped" and deploys(workdir) == ["api"]
    assert llm.saw("Observation: deployed api")
    assert [r["decision"] for r in audit_rows(runtime.audit_log)] == ["require_approval", "allow"]


@pytest.mark.parametrize("how", ["guard_agent", "approval_events"])
def test_events_off_return_the_request_at_once(how: str, workdir: Path, runtime: ActionRuntime) -> None:
    llm = scripted(calls(("deploy", {"service": "api"}, "c1")), "asked a human")
    if how == "guard_agent":
        agent = function_agent("agent", workdir, runtime, llm, input_required_on_approval=False)
    else:
        agent = function_agent("tools", workdir, runtime, llm)
        agent.tools = [approval_events(tool, False) for tool in agent.tools or []]

    answer, asked, results = run(agent, approve, runtime)

    (request,) = runtime.approvals.list("pending")
    assert asked == [] and answer == "asked a human" and deploys(workdir) == []
    assert results["c1"].content.endswith(f"[approval request {request.id}]")
    assert outcomes(runtime) == ["held"]


def test_outside_a_workflow_a_held_call_returns_at_once(workdir: Path, runtime: ActionRuntime) -> None:
    (deploy, *_) = tools("tools", workdir, runtime)
    output = asyncio.run(deploy.acall(service="api"))
    assert output.is_error and "[approval request apr_" in output.content and deploys(workdir) == []
