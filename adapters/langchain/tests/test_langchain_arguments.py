"""The policy decides the arguments the body is called with: the tool's own schema applied first.

LangChain's ``run`` fills in defaults, coerces values and resolves aliases
(``_to_args_and_kwargs`` -> ``_parse_input``) before the body runs. Each test
here drives a real ``create_agent`` loop (scripted model, no network) or calls
the tool directly, with a real SQLite audit log read back, and checks that the
decision and the audit record hold what the body got, for gated tools
(``tools``), the middleware alone (``middleware``) and both (``both``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain.tools import InjectedState, ToolRuntime
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, StructuredTool, Tool, tool
from lc_support import calls, decisions, decisions_by_call, script, tool_messages
from pydantic import AliasChoices, BaseModel, Field, ValidationError

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.testing import audit_rows
from capfence_langchain import CapFenceMiddleware, ToolCallDenied

AGENT = "pay-agent"
POLICY = """\
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
require_approval:
  - id: big-payments
    capability: payments.send
    args: {amount: {gt: 1000}}
allow:
  - id: payments
    capability: payments.send
  - id: notes
    capability: notes.*
"""
CAPABILITIES = {"pay": "payments.send", "note": "notes.write", "stamp": "notes.stamp"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    policy = tmp_path / "payments.yaml"
    policy.write_text(POLICY)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


@pytest.fixture(params=["tools", "middleware", "both"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[True, False], ids=["invoke", "ainvoke"])
def sync(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def pay_tool(workdir: Path) -> BaseTool:
    @tool
    def pay(to: str, amount: int = 50000) -> str:
        """Send money; the amount defaults to a month's budget."""
        with (workdir / "payments.log").open("a") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"

    return pay


def payments(workdir: Path) -> list[str]:
    """The payments the body really made, with the repr of each amount."""
    path = workdir / "payments.log"
    return path.read_text().splitlines() if path.exists() else []


def gated(tool_: BaseTool, runtime: ActionRuntime) -> BaseTool:
    return CapFenceTool(tool=tool_, agent_id=AGENT, capability=CAPABILITIES[tool_.name], gate=runtime)


def agent_for(mode: str, model: Any, tools: list[BaseTool], runtime: ActionRuntime, **kwargs: Any) -> Any:
    """``tools``: gated tools only; ``middleware``: plain tools and the middleware; ``both``: gated tools and the middleware."""
    if mode != "middleware":
        tools = [gated(t, runtime) for t in tools]
    guards = (
        [CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities=CAPABILITIES)]
        if mode != "tools"
        else []
    )
    return create_agent(model, tools, middleware=guards, **kwargs)


def run(agent: Any, sync: bool) -> dict[str, Any]:
    value = {"messages": [HumanMessage("go")]}
    return agent.invoke(value) if sync else asyncio.run(agent.ainvoke(value))


def test_an_omitted_argument_is_decided_with_its_default(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """The model leaves out ``amount``; the body would pay the default 50000: held, and audited as 50000."""
    model = script(calls(("pay", {"to": "bob"}, "p1")), AIMessage("waiting"))
    result = run(agent_for(mode, model, [pay_tool(workdir)], runtime), sync)

    held = tool_messages(result["messages"])["p1"]
    assert held.status == "error" and held.content.startswith("CapFence require_approval:")
    assert payments(workdir) == [], "the default amount was never paid unheld"
    [row] = decisions(runtime.audit_log)
    assert (row["decision"], row["rule"], row["args"]) == (
        "require_approval",
        "big-payments",
        {"to": "bob", "amount": 50000},
    )
    [request] = runtime.approvals.list("pending")
    assert json.loads(request.payload) == {"to": "bob", "amount": 50000}, "a human approves what would run"


def test_a_coerced_argument_is_decided_as_the_body_gets_it(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """``"2000"`` is the int 2000 to the body (and to the policy and the audit log); ``"20"`` runs as 20."""
    model = script(
        calls(("pay", {"to": "bob", "amount": "2000"}, "p1"), ("pay", {"to": "ann", "amount": "20"}, "p2")),
        AIMessage("ok"),
    )
    result = run(agent_for(mode, model, [pay_tool(workdir)], runtime), sync)

    assert tool_messages(result["messages"])["p1"].content.startswith("CapFence require_approval:")
    assert tool_messages(result["messages"])["p2"].content == "paid 20 to ann"
    assert payments(workdir) == ["ann 20"]
    found = decisions_by_call(runtime.audit_log)
    assert [(r["decision"], r["args"]) for r in found["p1"]] == [
        ("require_approval", {"to": "bob", "amount": 2000})
    ]
    assert [(r["decision"], r["args"]) for r in found["p2"]] == [("allow", {"to": "ann", "amount": 20})]


class PayTo(BaseModel):
    to: str


def schema_pay_tool(workdir: Path) -> BaseTool:
    """An explicit ``args_schema`` without ``amount``: the function's own defaults (sync 50000, async 70000) fill it in."""

    def pay(to: str, amount: int = 50000) -> str:
        """Send money."""
        with (workdir / "payments.log").open("a") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"

    async def apay(to: str, amount: int = 70000) -> str:
        return pay(to, amount)

    return StructuredTool.from_function(
        pay, coroutine=apay, name="pay", description="Send money.", args_schema=PayTo
    )


def single_input_pay_tool(workdir: Path) -> BaseTool:
    """A single-input ``Tool`` whose function has a second, defaulted parameter."""

    def pay(to: str, amount: int = 50000) -> str:
        with (workdir / "payments.log").open("a") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"

    return Tool(name="pay", func=pay, description="Send money.")


@pytest.mark.parametrize(
    "make", [schema_pay_tool, single_input_pay_tool], ids=["schema-without-it", "single-input"]
)
def test_a_default_of_the_tools_function_is_decided(
    make: Any, mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """The schema does not fill in ``amount``, the function's own default does: the body would pay it, so it is decided."""
    amount = 50000 if sync or make is single_input_pay_tool else 70000
    args = {"to": "bob"} if make is schema_pay_tool else {"__arg1": "bob"}
    model = script(calls(("pay", args, "p1")), AIMessage("waiting"))
    result = run(agent_for(mode, model, [make(workdir)], runtime), sync)

    assert tool_messages(result["messages"])["p1"].content.startswith("CapFence require_approval:")
    assert payments(workdir) == [], "the function's default amount was never paid unheld"
    [row] = decisions(runtime.audit_log)
    assert (row["decision"], row["args"]) == ("require_approval", {"to": "bob", "amount": amount})


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_a_string_input_is_decided_under_the_bodys_names_with_its_defaults(
    sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """``pay.invoke("bob")`` calls ``pay("bob")``: the policy sees ``to`` and the default ``amount`` the body gets."""
    wrapped = gated(pay_tool(workdir), runtime)
    with pytest.raises(ApprovalRequired):
        wrapped.invoke("bob") if sync else asyncio.run(wrapped.ainvoke("bob"))

    assert payments(workdir) == []
    [row] = decisions(runtime.audit_log)
    assert (row["decision"], row["args"]) == ("require_approval", {"to": "bob", "amount": 50000})


class AliasedPayment(BaseModel):
    to: str
    amount: int = Field(default=10, validation_alias=AliasChoices("amount", "sum"))


def aliased_pay_tool(workdir: Path) -> BaseTool:
    def pay(to: str, amount: int = 10) -> str:
        """Send money."""
        with (workdir / "payments.log").open("a") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"

    return StructuredTool.from_function(pay, args_schema=AliasedPayment)


def test_an_argument_given_by_its_alias_is_decided_under_its_name(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """``sum`` is ``amount`` to the schema: the threshold on ``amount`` holds it (the raw ``sum`` would slip past)."""
    model = script(calls(("pay", {"to": "bob", "sum": 5000}, "p1")), AIMessage("waiting"))
    result = run(agent_for(mode, model, [aliased_pay_tool(workdir)], runtime), sync)

    assert tool_messages(result["messages"])["p1"].content.startswith("CapFence require_approval:")
    assert payments(workdir) == []
    [row] = decisions(runtime.audit_log)
    assert (row["decision"], row["args"]) == ("require_approval", {"to": "bob", "amount": 5000})


def test_input_the_schema_rejects_gets_langchains_answer_not_an_allow(
    mode: str, sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """A call missing ``to`` never reaches the body: the model gets LangChain's own validation message; nothing is allowed."""
    turn = calls(("pay", {"amount": 5}, "p1"))
    plain = run(create_agent(script(turn, AIMessage("ok")), [pay_tool(workdir)]), sync)
    result = run(agent_for(mode, script(turn, AIMessage("ok")), [pay_tool(workdir)], runtime), sync)

    rejected = tool_messages(result["messages"])["p1"]
    assert rejected.status == "error" and rejected.content == tool_messages(plain["messages"])["p1"].content
    assert "to" in rejected.content and "Field required" in rejected.content
    assert payments(workdir) == []
    assert decisions(runtime.audit_log) == [], (
        "no decision: the schema refused the call, the policy did not allow it"
    )


@pytest.mark.parametrize("flag", [False, True, "bad input"], ids=["raise", "true", "text"])
def test_a_direct_call_with_a_rejected_input_behaves_as_langchain(
    flag: Any, workdir: Path, runtime: ActionRuntime
) -> None:
    """``handle_validation_error`` answers as it does for the ungated tool; without it the same ``ValidationError`` is raised."""
    plain = pay_tool(workdir)
    plain.handle_validation_error = flag
    wrapped = gated(plain, runtime)
    if flag is False:
        with pytest.raises(ValidationError) as ungated_error:
            plain.invoke({"amount": 5})
        with pytest.raises(ValidationError) as gated_error:
            wrapped.invoke({"amount": 5})
        assert gated_error.value.errors() == ungated_error.value.errors()
    else:
        assert wrapped.invoke({"amount": 5}) == plain.invoke({"amount": 5})
    assert payments(workdir) == []
    assert decisions(runtime.audit_log) == []


def test_graph_injected_arguments_leave_the_decision_to_the_tools_run(
    sync: bool, workdir: Path, runtime: ActionRuntime
) -> None:
    """With ``ToolRuntime``/``InjectedState`` in the schema the model's arguments alone do not parse: the tool's ``run``
    decides, under the middleware's identity, with the default filled in and the injected values left out."""
    seen: list[tuple[str, int, str, int]] = []

    @tool
    def note(
        text: str, runtime: ToolRuntime, state: Annotated[dict[str, Any], InjectedState], priority: int = 3
    ) -> str:
        """Take a note."""
        seen.append((text, priority, str(runtime.tool_call_id), len(state["messages"])))
        return "noted"

    model = script(calls(("note", {"text": "hi"}, "n1")), AIMessage("done"))
    guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities=CAPABILITIES)
    result = run(create_agent(model, [note], middleware=[guard]), sync)

    assert tool_messages(result["messages"])["n1"].content == "noted"
    assert seen == [("hi", 3, "n1", 2)]
    [row] = decisions(runtime.audit_log)
    assert (row["capability"], row["agent_id"], row["call_id"], row["args"]) == (
        "notes.write",
        AGENT,
        "n1",
        {"text": "hi", "priority": 3},
    )
    assert [o["outcome"] for o in audit_rows(runtime.audit_log, "outcome")] == ["ran"]


def stamp_tool(stamps: Iterator[int], got: list[int]) -> BaseTool:
    class Stamp(BaseModel):
        text: str
        serial: int = Field(default_factory=lambda: next(stamps))

    def stamp(text: str, serial: int = 0) -> str:
        """Stamp a note with a fresh serial number."""
        got.append(serial)
        return f"{text} #{serial}"

    return StructuredTool.from_function(stamp, args_schema=Stamp)


def test_the_body_gets_the_one_parse_that_was_decided(workdir: Path, runtime: ActionRuntime) -> None:
    """A default that differs on every parse: the gated tool parses once, decides it and hands the body exactly that."""
    stamps, got = itertools.count(100), []
    wrapped = gated(stamp_tool(stamps, got), runtime)

    assert wrapped.invoke({"text": "a"}) == "a #100"
    assert asyncio.run(wrapped.ainvoke({"text": "b"})) == "b #101"
    assert got == [100, 101] and next(stamps) == 102, "one parse per call"
    assert [r["args"] for r in decisions(runtime.audit_log)] == [
        {"text": "a", "serial": 100},
        {"text": "b", "serial": 101},
    ]


def test_a_parse_that_differs_from_the_middlewares_is_decided_again(
    sync: bool, runtime: ActionRuntime
) -> None:
    """The middleware parses before the ToolNode runs the tool; when the tool's own parse differs, the difference is
    caught at the innermost point: the body's arguments get a decision of their own and the stale one never ran."""
    got: list[int] = []
    model = script(calls(("stamp", {"text": "a"}, "s1")), AIMessage("done"))
    guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT, capabilities=CAPABILITIES)
    run(create_agent(model, [stamp_tool(itertools.count(100), got)], middleware=[guard]), sync)

    assert got == [101]
    rows = decisions_by_call(runtime.audit_log)["s1"]
    assert [r["args"] for r in rows] == [{"text": "a", "serial": 100}, {"text": "a", "serial": 101}]
    outcomes = {o["ref"]: o["outcome"] for o in audit_rows(runtime.audit_log, "outcome")}
    assert [outcomes[r["seq"]] for r in rows] == ["blocked", "ran"]


class TagSmuggler(BaseCallbackHandler):
    """A callback that edits the tool's input in place when the tool starts (after the decision, before the body):
    it adds ``tag`` the first time (``every_time``: every time, so no decision ever holds)."""

    def __init__(self, tag: str = "secret", every_time: bool = False) -> None:
        self.tag, self.every_time, self.done = tag, every_time, False

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if inputs and not self.done:
            self.done = not self.every_time
            inputs["options"]["tags"].append(self.tag)


def smuggled_note(runtime: ActionRuntime, sync: bool, smuggler: TagSmuggler, denied_for: str) -> list[Any]:
    """Call a gated ``note`` tool with ``smuggler`` among its callbacks, which must be denied (``denied_for``); what
    the body ran with."""
    ran: list[Any] = []

    @tool
    def note(text: str, options: dict[str, Any]) -> str:
        """Take a note with options."""
        ran.append(options)
        return "noted"

    wrapped = gated(note, runtime)
    value = {"text": "hi", "options": {"tags": ["a"]}}
    config = {"callbacks": [smuggler]}
    with pytest.raises(ToolCallDenied, match=denied_for):
        wrapped.invoke(value, config) if sync else asyncio.run(wrapped.ainvoke(value, config))
    return ran


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_arguments_changed_in_place_after_the_decision_are_decided_again(
    sync: bool, runtime: ActionRuntime
) -> None:
    ran = smuggled_note(runtime, sync, TagSmuggler(), "no-secrets")

    assert ran == [], "the body never ran with arguments nobody decided"
    rows = decisions(runtime.audit_log)
    assert [(r["decision"], r["args"]["options"]["tags"]) for r in rows] == [
        ("allow", ["a"]),
        ("deny", ["a", "secret"]),
    ]
    [first, second] = audit_rows(runtime.audit_log, "outcome")
    assert (first["outcome"], second["outcome"]) == ("tool_error", "blocked")
    assert "changed after they were decided" in first["detail"]


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_arguments_that_keep_changing_are_denied_and_the_deny_is_recorded(
    sync: bool, runtime: ActionRuntime
) -> None:
    ran = smuggled_note(
        runtime, sync, TagSmuggler("more", every_time=True), "kept changing after each decision"
    )

    assert ran == [], "the body never ran with arguments nobody decided"
    rows = decisions(runtime.audit_log)
    assert [(r["decision"], r["args"]["options"]["tags"]) for r in rows] == [
        ("allow", ["a"]),
        ("allow", ["a", "more"]),
        ("allow", ["a", "more", "more"]),
        ("deny", ["a", "more", "more", "more"]),
    ]
    assert (
        rows[-1]["reason"]
        == "internal_error: the arguments of 'note' kept changing after each decision (3 times)"
    )
    assert json.loads(rows[-1]["detail"])["decided_by"] == "internal_error"
    outcomes = audit_rows(runtime.audit_log, "outcome")
    assert [(o["outcome"], o["ref"]) for o in outcomes] == [
        ("tool_error", rows[0]["seq"]),
        ("tool_error", rows[1]["seq"]),
        ("tool_error", rows[2]["seq"]),
        ("blocked", rows[3]["seq"]),
    ]


class DeepTagSmuggler(BaseCallbackHandler):
    """:class:`TagSmuggler` for options nested past what the lossless encoding takes (so the check compares objects)."""

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if inputs:
            node = inputs["options"]
            while "x" in node:
                node = node["x"]
            node["tags"].append("secret")


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_arguments_too_deep_to_encode_changed_in_place_are_decided_again(
    sync: bool, runtime: ActionRuntime
) -> None:
    ran: list[Any] = []

    @tool
    def note(text: str, options: dict[str, Any]) -> str:
        """Take a note with options."""
        ran.append(options)
        return "noted"

    options: dict[str, Any] = {"tags": ["a"]}
    for _ in range(120):
        options = {"x": options}
    wrapped, value, config = (
        gated(note, runtime),
        {"text": "hi", "options": options},
        {"callbacks": [DeepTagSmuggler()]},
    )
    with pytest.raises(ToolCallDenied, match="no-secrets"):
        wrapped.invoke(value, config) if sync else asyncio.run(wrapped.ainvoke(value, config))

    assert ran == [], "the body never ran with the secret nobody decided"
    assert [r["decision"] for r in decisions(runtime.audit_log)] == ["allow", "deny"]


def test_tool_payload_shows_what_the_body_gets(workdir: Path) -> None:
    from capfence_langchain import tool_payload

    assert tool_payload(pay_tool(workdir), {"to": "bob"}) == {"to": "bob", "amount": 50000}
    assert tool_payload(pay_tool(workdir), {"to": "bob", "amount": "7"}) == {"to": "bob", "amount": 7}
    assert tool_payload(aliased_pay_tool(workdir), {"to": "bob", "sum": 5}) == {"to": "bob", "amount": 5}
    assert tool_payload(pay_tool(workdir), "bob") == {"to": "bob", "amount": 50000}
    assert tool_payload(schema_pay_tool(workdir), {"to": "bob"}) == {"to": "bob", "amount": 50000}
    assert tool_payload(schema_pay_tool(workdir), {"to": "bob"}, asynchronous=True) == {
        "to": "bob",
        "amount": 70000,
    }
    with pytest.raises(ValidationError):
        tool_payload(pay_tool(workdir), {"amount": 5})
