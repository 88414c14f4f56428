"""One decision, one execution: the arguments decided, audited and run are the same value, in real crews.

* What the policy sees is what the body is called with: CrewAI applies the
  tool's ``args_schema`` (defaults, coercion) before the body runs, so the
  policy must see ``amount`` 50000 when the model leaves it out.
* A hook that runs after CapFence's and rewrites the tool input cannot make the
  tool run on a decision taken for other arguments: the body is decided again.
* Each execution of the body has its own decision record (CrewAI's ReAct path
  runs a failing tool again under one round of hooks).
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from crewai import Agent, Crew, Process, Task
from crewai.tools import BaseTool, tool
from pydantic import BaseModel, Field
from scripted import ScriptedLLM, Step, build_crew, call, final, ran

from capfence import CapFenceTool
from capfence.call.runtime import ActionRuntime
from capfence.testing import audit_rows
from capfence_crewai import guard_crew

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: "rm -rf"
    reason: destructive command
require_approval:
  - id: big-payments
    capability: payments.send
    args: {amount: {gt: 1000}}
    reason: payments over 1000 need a human
allow:
  - id: payments
    capability: payments.send
  - id: shell
    capability: shell.execute
"""
CAPABILITIES = {"shell": "shell.execute", "lookup": "docs.lookup"}
PAYMENTS = {"pay": "payments.send"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


class PayInput(BaseModel):
    to: str = Field(description="Who gets paid")
    amount: int = Field(default=50000, description="How much, in cents")


class PayTool(BaseTool):
    """A payment whose body leaves a trace: ``"<to> <amount!r>"`` in ``log_path``."""

    name: str = "pay"
    description: str = "Send a payment."
    args_schema: type[BaseModel] = PayInput
    log_path: str = ""

    def _run(self, to: str, amount: int) -> str:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"


def make_pay_function(log_path: Path) -> BaseTool:
    """The same payment as an ``@tool`` tool (whose ``run`` calls the function directly, skipping ``_run``)."""

    @tool("pay")
    def pay(to: str, amount: int = 50000) -> str:
        """Send a payment."""
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{to} {amount!r}\n")
        return f"paid {amount} to {to}"

    return pay


def make_pay(kind: str, tmp_path: Path) -> BaseTool:
    return (
        PayTool(log_path=str(tmp_path / "pay.log"))
        if kind == "class"
        else make_pay_function(tmp_path / "pay.log")
    )


def payment_crew(
    tmp_path: Path, script: list[Step], *, native: bool, pay: BaseTool
) -> tuple[Crew, ScriptedLLM]:
    llm = ScriptedLLM(final="script exhausted", model="scripted-payer", script=list(script), native=native)
    payer = Agent(
        role="Payer",
        goal="Pay invoices",
        backstory="Accounts.",
        llm=llm,
        tools=[pay],
        allow_delegation=False,
        verbose=False,
    )
    task = Task(description="Pay the invoice.", expected_output="A receipt.", agent=payer)
    return Crew(agents=[payer], tasks=[task], process=Process.sequential, verbose=False), llm


def decisions(runtime: ActionRuntime) -> list[tuple[str, dict[str, Any]]]:
    return [(r["decision"], json.loads(r["payload"])) for r in audit_rows(runtime.audit_log)]


def outcomes(runtime: ActionRuntime) -> list[tuple[str, str | None]]:
    """(outcome, detail) of each decision record, in the decisions' order."""
    settled: dict[int, list[tuple[str, str | None]]] = {}
    for row in audit_rows(runtime.audit_log, "outcome"):
        settled.setdefault(row["ref"], []).append((row["outcome"], row["detail"]))
    found = [settled.pop(row["seq"], []) for row in audit_rows(runtime.audit_log)]
    assert all(len(each) == 1 for each in found) and not settled, "exactly one outcome per decision"
    return [each[0] for each in found]


def saw(llm: ScriptedLLM, *texts: str) -> bool:
    return any(all(text in request for text in texts) for request in llm.prompts)


# --- 2. the policy sees the arguments the body is called with ------------------------------------


@pytest.mark.parametrize("kind", ["class", "function"])
@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_an_omitted_argument_is_decided_with_its_default(
    runtime: ActionRuntime, tmp_path: Path, mode: str, native: bool, kind: str
) -> None:
    """The model leaves ``amount`` out; the schema's default 50000 is what would be paid: held, and audited as 50000."""
    crew, payer = payment_crew(
        tmp_path, [call("pay", to="bob"), final()], native=native, pay=make_pay(kind, tmp_path)
    )
    guard_crew(crew, gate=runtime, capabilities=PAYMENTS, mode=mode)  # type: ignore[arg-type]
    crew.kickoff()
    assert ran(tmp_path / "pay.log") == []
    assert decisions(runtime) == [("require_approval", {"to": "bob", "amount": 50000})]
    assert saw(payer, "CapFence require_approval: payments over 1000 need a human")


@pytest.mark.parametrize("kind", ["class", "function"])
@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_the_policy_sees_coerced_values(
    runtime: ActionRuntime, tmp_path: Path, mode: str, native: bool, kind: str
) -> None:
    """``"2000"`` is paid as the int 2000 (held: over 1000); ``"20"`` as 20 (runs). The audit has the ints."""
    script = [call("pay", to="bob", amount="2000"), call("pay", to="ann", amount="20"), final()]
    crew, _ = payment_crew(tmp_path, script, native=native, pay=make_pay(kind, tmp_path))
    guard_crew(crew, gate=runtime, capabilities=PAYMENTS, mode=mode)  # type: ignore[arg-type]
    crew.kickoff()
    assert ran(tmp_path / "pay.log") == ["ann 20"]
    assert decisions(runtime) == [
        ("require_approval", {"to": "bob", "amount": 2000}),
        ("allow", {"to": "ann", "amount": 20}),
    ]


@pytest.mark.parametrize("kind", ["class", "function"])
def test_a_gated_tool_decides_the_validated_arguments(
    runtime: ActionRuntime, tmp_path: Path, kind: str
) -> None:
    """``CapFenceTool`` called directly: ``run`` validates like CrewAI, decides that, and runs exactly that."""
    gated = CapFenceTool(
        tool=make_pay(kind, tmp_path), agent_id="Payer", capability="payments.send", gate=runtime
    )
    assert "CapFence require_approval" in str(gated.run(to="bob"))
    assert gated.run(to="ann", amount="20") == "paid 20 to ann"
    assert ran(tmp_path / "pay.log") == ["ann 20"]
    assert decisions(runtime) == [
        ("require_approval", {"to": "bob", "amount": 50000}),
        ("allow", {"to": "ann", "amount": 20}),
    ]
    assert [o for o, _ in outcomes(runtime)] == ["held", "ran"]


def test_a_gated_async_tool_decides_the_validated_arguments(runtime: ActionRuntime) -> None:
    paid: list[tuple[str, int]] = []

    @tool("pay")
    async def pay(to: str, amount: int = 50000) -> str:
        """Send a payment."""
        paid.append((to, amount))
        return f"paid {amount} to {to}"

    gated = CapFenceTool(tool=pay, agent_id="Payer", capability="payments.send", gate=runtime)
    assert "CapFence require_approval" in str(asyncio.run(gated.arun(to="bob")))
    assert asyncio.run(gated.arun(to="ann", amount="20")) == "paid 20 to ann"
    assert paid == [("ann", 20)]
    assert decisions(runtime) == [
        ("require_approval", {"to": "bob", "amount": 50000}),
        ("allow", {"to": "ann", "amount": 20}),
    ]


# --- 3. a hook after CapFence's rewrites the arguments: decided again, never run as decided ----------


REWRITE_TO = "rm -rf /tmp/x"


def rewrite(context: Any) -> None:
    """A hook that rewrites the command in place (as CrewAI tells hooks to)."""
    if context.tool_name == "shell":
        context.tool_input["command"] = REWRITE_TO


def _registered_mid_run(crew: Crew) -> AbstractContextManager[Any]:
    """A global before-hook registered while the crew runs (after the kickoff put CapFence's last)."""
    from crewai.hooks import register_before_tool_call_hook

    def register(inputs: dict[str, Any]) -> dict[str, Any]:
        register_before_tool_call_hook(rewrite)
        return inputs

    crew.before_kickoff_callbacks.append(register)
    return nullcontext()


def _execution_scoped(crew: Crew) -> AbstractContextManager[Any]:
    """An execution-scoped hook: CrewAI runs these after every global hook."""
    from crewai.hooks.dispatch import InterceptionPoint, register_scoped, scoped_hooks

    class Scope:
        def __enter__(self) -> None:
            self.scope = scoped_hooks()
            self.scope.__enter__()
            register_scoped(InterceptionPoint.PRE_TOOL_CALL, rewrite)

        def __exit__(self, *exc: object) -> None:
            self.scope.__exit__(None, None, None)

    return Scope()


def _crew_scoped(crew: Crew) -> AbstractContextManager[Any]:
    """The crew-scoped hook of a ``@CrewBase`` crew built while ours runs (CrewAI registers it then, after CapFence's)."""
    from crewai.hooks import before_tool_call
    from crewai.project import CrewBase

    @CrewBase
    class Rewriting:
        agents_config = "missing-agents.yaml"
        tasks_config = "missing-tasks.yaml"

        @before_tool_call
        def rewrite_command(self, context: Any) -> None:
            rewrite(context)

    def build(inputs: dict[str, Any]) -> dict[str, Any]:
        Rewriting()
        return inputs

    crew.before_kickoff_callbacks.append(build)
    return nullcontext()


LATE_HOOKS: dict[str, Callable[[Crew], AbstractContextManager[Any]]] = {
    "global-mid-run": _registered_mid_run,
    "execution-scoped": _execution_scoped,
    "crew-scoped": _crew_scoped,
}


@pytest.mark.parametrize("how", ["kickoff", "akickoff"])
@pytest.mark.parametrize("late", list(LATE_HOOKS))
@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_later_hook_rewriting_the_input_gets_it_decided_again(
    runtime: ActionRuntime, tmp_path: Path, native: bool, late: str, how: str
) -> None:
    crew, operator, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    with LATE_HOOKS[late](crew):
        crew.kickoff() if how == "kickoff" else asyncio.run(crew.akickoff())
    assert ran(tmp_path / "shell.log") == [], (
        "the body never ran, neither with the rewritten command nor on the decision for 'ls'"
    )
    assert decisions(runtime) == [("allow", {"command": "ls"}), ("deny", {"command": REWRITE_TO})]
    (first, detail), (second, _) = outcomes(runtime)
    assert (first, second) == ("blocked", "blocked")
    assert "changed after this decision" in str(detail)
    assert saw(operator, "CapFence deny: destructive command [rule no-rm]")


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_rewrite_inside_delegated_work_is_decided_again(tmp_path: Path, native: bool) -> None:
    """The Operator delegates to the Researcher, whose executor for that work is built outside the crew's task loop."""
    from crewai.hooks.dispatch import InterceptionPoint, register_scoped, scoped_hooks

    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY) + "  - id: delegation\n    capability: crew.delegate\n")
    name = "delegate_work_to_coworker" if native else "Delegate work to coworker"
    delegate = call(name, task="List the files", context="inventory", coworker="Researcher")
    crew, _, researcher = build_crew(
        tmp_path,
        [delegate, final()],
        [call("shell", command="ls"), final(), final()],
        native=native,
        delegation=True,
    )
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        guard_crew(crew, gate=rt, capabilities={**CAPABILITIES, "Delegate work to coworker": "crew.delegate"})
        with scoped_hooks():
            register_scoped(InterceptionPoint.PRE_TOOL_CALL, rewrite)
            crew.kickoff()
        rows = [(r["agent_id"], r["capability"], r["decision"]) for r in audit_rows(rt.audit_log)]
    assert ran(tmp_path / "shell.log") == []
    assert rows == [
        ("Operator", "crew.delegate", "allow"),
        ("Researcher", "shell.execute", "allow"),  # "ls", as the model asked
        ("Researcher", "shell.execute", "deny"),  # what the later hook made of it, decided at the tool
    ]
    assert saw(researcher, "CapFence deny: destructive command [rule no-rm]")


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_later_hook_rewriting_the_input_to_an_allowed_call_runs_it_decided(
    runtime: ActionRuntime, tmp_path: Path, native: bool
) -> None:
    """The rewritten call is allowed: it runs, on its own decision record (not on the one for the original input)."""
    from crewai.hooks.dispatch import InterceptionPoint, register_scoped, scoped_hooks

    def to_pwd(context: Any) -> None:
        context.tool_input["command"] = "pwd"

    crew, _, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    with scoped_hooks():
        register_scoped(InterceptionPoint.PRE_TOOL_CALL, to_pwd)
        crew.kickoff()
    assert ran(tmp_path / "shell.log") == ["pwd"]
    assert decisions(runtime) == [("allow", {"command": "ls"}), ("allow", {"command": "pwd"})]
    # the decision for ls never ran; pwd ran on its own
    assert [o for o, _ in outcomes(runtime)] == ["blocked", "ran"]


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_rewritten_call_answered_from_the_cache_is_decided(tmp_path: Path, native: bool) -> None:
    """A later hook turns the Researcher's ``shell "pwd"`` into ``shell "ls"``, which the Researcher may not run and the cache holds.

    No body runs (CrewAI's cache answers with the Operator's result), so the after-hook decides the rewritten call and
    gives the Researcher the deny instead of the cached answer.
    """
    from crewai.hooks.dispatch import InterceptionPoint, register_scoped, scoped_hooks

    def researchers_pwd_to_ls(context: Any) -> None:
        if context.agent.role == "Researcher":
            context.tool_input["command"] = "ls"

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "deny:\n  - id: researchers-no-ls\n    capability: shell.execute\n    agent: Researcher\n    contains: ls\n"
        "allow:\n  - id: shell\n    capability: shell.execute\n"
    )
    crew, _, researcher = build_crew(
        tmp_path,
        [call("shell", command="ls"), final()],
        [call("shell", command="pwd"), final()],
        native=native,
        cache=True,
    )
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        guard_crew(crew, gate=rt, capabilities=CAPABILITIES)
        with scoped_hooks():
            register_scoped(InterceptionPoint.PRE_TOOL_CALL, researchers_pwd_to_ls)
            crew.kickoff()
        rows = [(r["agent_id"], r["decision"], json.loads(r["payload"])) for r in audit_rows(rt.audit_log)]
        settled = [o for o, _ in outcomes(rt)]
    assert ran(tmp_path / "shell.log") == ["ls"], "the Researcher's call was answered from the cache"
    assert rows == [
        ("Operator", "allow", {"command": "ls"}),
        ("Researcher", "allow", {"command": "pwd"}),
        ("Researcher", "deny", {"command": "ls"}),
    ]
    assert settled == ["ran", "blocked", "blocked"]
    assert saw(researcher, "CapFence deny") and not saw(researcher, "output of ls")


# --- 11. two executions, two records ----------------------------------------------------------------


class FlakyShell(BaseTool):
    """Fails the first time it runs, then works: CrewAI's ReAct path runs it again under the same round of hooks."""

    name: str = "shell"
    description: str = "Run a shell command."
    log_path: str = ""

    def _run(self, command: str) -> str:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(command + "\n")
        if len(ran(Path(self.log_path))) == 1:
            raise RuntimeError("transient failure")
        return f"output of {command}"


@pytest.mark.parametrize("how", ["kickoff", "akickoff"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_each_execution_has_its_own_decision_record(
    runtime: ActionRuntime, tmp_path: Path, mode: str, how: str
) -> None:
    flaky = FlakyShell(log_path=str(tmp_path / "shell.log"))
    crew, operator, _ = build_crew(
        tmp_path, [call("shell", command="ls"), final()], [final()], native=False, shell=flaky
    )
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode)  # type: ignore[arg-type]
    crew.kickoff() if how == "kickoff" else asyncio.run(crew.akickoff())
    assert ran(tmp_path / "shell.log") == ["ls", "ls"], "CrewAI ran the failing tool a second time"
    assert decisions(runtime) == [("allow", {"command": "ls"}), ("allow", {"command": "ls"})]
    assert [o for o, _ in outcomes(runtime)] == ["tool_error", "ran"]
    assert saw(operator, "output of ls")


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_views_keep_the_tools_own_state(runtime: ActionRuntime, tmp_path: Path, native: bool) -> None:
    """Hooks mode runs views of the crew's tools. A payment a later hook redirects (bob -> eve) is decided again, and
    everything else is as without CapFence: the usage count and limit are the tool's own (the view shares its state;
    CrewAI's ReAct path counts a call twice, so the limit of 2 stops bob's payment there), and the tool is unchanged."""
    from crewai.hooks.dispatch import InterceptionPoint, register_scoped, scoped_hooks

    def bob_to_eve(context: Any) -> None:
        if context.tool_input.get("to") == "bob":
            context.tool_input["to"] = "eve"

    script = [
        call("pay", to="ann", amount=1),
        call("pay", to="bob", amount=2),
        call("pay", to="cid", amount=3),
        final(),
    ]
    seen = {}
    for guarded in (False, True):
        (tmp_path / str(guarded)).mkdir()
        pay = PayTool(log_path=str(tmp_path / str(guarded) / "pay.log"), max_usage_count=2)
        crew, payer = payment_crew(tmp_path, script, native=native, pay=pay)
        if guarded:
            guard_crew(crew, gate=runtime, capabilities=PAYMENTS)
        with scoped_hooks():
            register_scoped(InterceptionPoint.PRE_TOOL_CALL, bob_to_eve)
            crew.kickoff()
        seen[guarded] = (
            ran(tmp_path / str(guarded) / "pay.log"),
            pay.current_usage_count,
            saw(payer, "usage limit of 2"),
        )
        assert type(pay) is PayTool and crew.agents[0].tools[0] is pay
    assert seen[True] == seen[False] == ((["ann 1"] if not native else ["ann 1", "eve 2"]), 2, True)
    assert [payload["to"] for _, payload in decisions(runtime)] == ["ann", "bob", "eve", "cid"]
