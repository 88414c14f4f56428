"""CapFenceMiddleware: capability mapping, unmapped and unknown tools, tools added by other middleware."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from lc_support import CAPABILITIES, calls, decisions, decisions_by_call, gated_tools, script, tool_messages

from capfence import ActionRuntime, CapFenceError, CapFenceTool
from capfence_langchain import DEFAULT_CAPABILITY, CapFenceMiddleware


def guard(runtime: Any, **kwargs: Any) -> CapFenceMiddleware:
    return CapFenceMiddleware(gate=runtime, agent_id="test-agent", **{"capabilities": CAPABILITIES, **kwargs})


def email_tool(workdir: Path) -> Any:
    @tool
    def send_email(to: str, body: str) -> str:
        """Send an email."""
        (workdir / "sent.txt").write_text(f"{to}: {body}")
        return "sent"

    return send_email


@pytest.fixture
def observing(tmp_path: Path) -> Any:
    """A runtime whose policy only warns about unmapped tools (``tool.*``) instead of denying them."""
    policy = tmp_path / "observe.yaml"
    policy.write_text(
        textwrap.dedent("""
        warn:
          - id: observe-unmapped
            capability: tool.*
    """)
    )
    rt = ActionRuntime.from_policy(policy, audit_log=tmp_path / "observe.db")
    yield rt
    rt.close()


# capability_for, as a table: (capabilities, default_capability, tool name, tool object, expected)
CAPABILITY_TABLE = [
    # the explicit map wins
    ({"run_shell": "shell.execute"}, DEFAULT_CAPABILITY, "run_shell", None, "shell.execute"),
    # globs in the map, after exact names, in the order given
    (
        {"read_*": "filesystem.read", "read_secret": "secrets.read"},
        DEFAULT_CAPABILITY,
        "read_secret",
        None,
        "secrets.read",
    ),
    (
        {"read_*": "filesystem.read", "*": "everything"},
        DEFAULT_CAPABILITY,
        "read_file",
        None,
        "filesystem.read",
    ),
    # the naming convention for everything else
    ({}, DEFAULT_CAPABILITY, "send_email", None, "tool.send_email"),
    ({}, "agent.{tool}.call", "send-email", None, "agent.send-email.call"),
    ({}, "unmapped", "send_email", None, "unmapped"),
    # odd characters in a made-up name cannot smuggle glob syntax or spaces into the capability
    ({}, DEFAULT_CAPABILITY, "rm *; ls", None, "tool.rm____ls"),
    ({}, DEFAULT_CAPABILITY, "", None, "tool._"),
]


@pytest.mark.parametrize(("capabilities", "default", "name", "tool_obj", "expected"), CAPABILITY_TABLE)
def test_capability_for(
    capabilities: dict[str, str], default: str, name: str, tool_obj: Any, expected: str, runtime: Any
) -> None:
    middleware = CapFenceMiddleware(
        gate=runtime, agent_id="a", capabilities=capabilities, default_capability=default
    )
    assert middleware.capability_for(name, tool_obj) == expected


def test_a_gated_tool_keeps_its_capability(runtime: Any, workdir: Path) -> None:
    gated = CapFenceTool(tool=email_tool(workdir), agent_id="a", capability="email.send", gate=runtime)
    assert guard(runtime, capabilities={}).capability_for("send_email", gated) == "email.send"
    assert (
        guard(runtime, capabilities={"send_email": "mail.out"}).capability_for("send_email", gated)
        == "mail.out"
    )


def test_agent_id_is_required(runtime: Any) -> None:
    with pytest.raises(CapFenceError):
        CapFenceMiddleware(gate=runtime, agent_id="")


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_unmapped_tool_is_denied_by_a_default_deny_policy(sync: bool, runtime: Any, workdir: Path) -> None:
    model = script(calls(("send_email", {"to": "boss@example.com", "body": "hi"}, "e1")), AIMessage("ok"))
    agent = create_agent(model, [email_tool(workdir)], middleware=[guard(runtime)])
    value = {"messages": [HumanMessage("go")]}
    result = agent.invoke(value) if sync else asyncio.run(agent.ainvoke(value))

    assert not (workdir / "sent.txt").exists()
    message = tool_messages(result["messages"])["e1"]
    assert message.status == "error" and message.content.startswith("CapFence deny:")
    assert result["messages"][-1].content == "ok"
    [row] = decisions(runtime.audit_log)
    assert (row["capability"], row["tool"], row["decision"], row["rule"]) == (
        "tool.send_email",
        "send_email",
        "deny",
        None,
    )


def test_unmapped_tool_runs_when_the_policy_names_its_capability(observing: Any, workdir: Path) -> None:
    model = script(calls(("send_email", {"to": "a@example.com", "body": "hi"}, "e1")), AIMessage("ok"))
    create_agent(model, [email_tool(workdir)], middleware=[guard(observing)]).invoke(
        {"messages": [HumanMessage("go")]}
    )
    assert (workdir / "sent.txt").exists()
    assert [(r["capability"], r["decision"]) for r in decisions(observing.audit_log)] == [
        ("tool.send_email", "warn")
    ]


def test_a_tool_name_the_model_made_up_is_gated_too(runtime: Any, observing: Any, workdir: Path) -> None:
    for rt, expected in ((runtime, "CapFence deny:"), (observing, "Error: nope is not a valid tool")):
        model = script(calls(("nope", {"x": 1}, "u1")), AIMessage("ok"))
        result = create_agent(model, [email_tool(workdir)], middleware=[guard(rt)]).invoke(
            {"messages": [HumanMessage("go")]}
        )
        message = tool_messages(result["messages"])["u1"]
        assert message.status == "error" and message.content.startswith(expected)
        assert [r["capability"] for r in decisions(rt.audit_log)] == ["tool.nope"]


def test_tools_added_by_other_middleware_are_gated(runtime: Any, workdir: Path) -> None:
    class Mailer(AgentMiddleware):
        tools = [email_tool(workdir)]  # noqa: RUF012 - LangChain's own convention

    model = script(
        calls(("send_email", {"to": "x@example.com", "body": "the secret"}, "e1")), AIMessage("ok")
    )
    result = create_agent(model, [], middleware=[guard(runtime), Mailer()]).invoke(
        {"messages": [HumanMessage("go")]}
    )
    assert tool_messages(result["messages"])["e1"].status == "error"
    assert not (workdir / "sent.txt").exists()


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_middleware_and_gated_tools_share_one_decision_per_call(
    sync: bool, runtime: Any, workdir: Path
) -> None:
    """Both gates decide under the same agent, capability and call id: the second finds the first's record."""
    model = script(
        calls(
            ("write_file", {"name": "a.txt", "text": "A"}, "c1"),
            ("write_file", {"name": "secret.txt", "text": "S"}, "c2"),
        ),
        AIMessage("done"),
    )
    agent = create_agent(model, gated_tools(workdir, runtime), middleware=[guard(runtime, capabilities={})])
    value = {"messages": [HumanMessage("go")]}
    result = agent.invoke(value) if sync else asyncio.run(agent.ainvoke(value))

    assert (workdir / "a.txt").exists() and not (workdir / "secret.txt").exists()
    assert tool_messages(result["messages"])["c2"].status == "error"
    found = decisions_by_call(runtime.audit_log)
    assert {call: [r["decision"] for r in rows] for call, rows in found.items()} == {
        "c1": ["warn"],
        "c2": ["deny"],
    }
