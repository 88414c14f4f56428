"""Copies and conversions of a gated CrewAI tool: each is gated by the same binding, or refused.

One test (or parametrized case) per row of the "Copies and conversions" table
in docs/adapters/crewai.md. "Gated" is shown the same way every time: the
converted object, called directly and (for the ones an agent can be given)
from a real crew on a scripted model, writes a decision record to the SQLite
audit log, is blocked by the ``no-rm`` deny rule (its result is the decision's
message), and its body never runs (nothing is added to its log file).
"""

from __future__ import annotations

import copy
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crewai import Agent, Crew, Process, Task
from crewai.tools import BaseTool
from crewai.tools.base_tool import Tool, _resolve_tool_dict
from crewai.tools.structured_tool import CrewStructuredTool
from scripted import ScriptedLLM, ShellTool, call, final, ran

from capfence import CapFenceTool
from capfence.call.runtime import ActionRuntime
from capfence.testing import audit_rows

DENIED = "CapFence deny: destructive command [rule no-rm]"
RM = {"command": "rm -rf /"}


def gate(tool: BaseTool, runtime: ActionRuntime) -> Any:
    return CapFenceTool(tool=tool, agent_id="Operator", capability="shell.execute", gate=runtime)


def shell_function(log: Path) -> Any:
    """An ``@tool`` shell (a ``crewai.tools.Tool`` with a ``func``) whose body appends to ``log``."""
    from crewai.tools import tool

    @tool("shell")
    def shell(command: str) -> str:
        """Run a shell command."""
        with open(log, "a", encoding="utf-8") as out:
            out.write(command + "\n")
        return f"output of {command}"

    return shell


def assert_denied(runtime: ActionRuntime, log: Path, times: int = 1) -> None:
    """``times`` denies by ``no-rm`` under the tool's binding, recorded blocked; the body never ran."""
    rows = audit_rows(runtime.audit_log)
    assert [(r["agent_id"], r["tool"], r["capability"], r["decision"], r["rule"]) for r in rows] == [
        ("Operator", "shell", "shell.execute", "deny", "no-rm")
    ] * times
    assert [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome")] == ["blocked"] * times
    assert ran(log) == []


def run_crew(tool: BaseTool, native: bool) -> ScriptedLLM:
    """One agent (role Operator) whose scripted model calls ``shell`` with ``rm -rf /`` once, then answers."""
    llm = ScriptedLLM(
        final="script exhausted", model="scripted", script=[call("shell", **RM), final()], native=native
    )
    agent = Agent(
        role="Operator", goal="Run commands", backstory="Ops.", llm=llm, tools=[tool], verbose=False
    )
    task = Task(description="Clean up.", expected_output="A report.", agent=agent)
    result = Crew(
        agents=[agent], tasks=[task], process=Process.sequential, cache=False, verbose=False
    ).kickoff()
    assert result.raw.endswith("done")
    assert any(DENIED in request for request in llm.prompts), "the agent was shown why"
    return llm


# --- func: the function behind the gate ----------------------------------------------------------


def test_func_is_gated(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    gated = gate(shell_function(log), runtime)
    assert gated.func(**RM) == DENIED
    assert_denied(runtime, log)
    assert gated.func(command="ls") == "output of ls" and ran(log) == ["ls"]


def test_the_tools_own_entry_points_decide_once(runtime: ActionRuntime, tmp_path: Path) -> None:
    """``run``/``_run`` read the raw function: each call is decided once, by the gated entry point."""
    log = tmp_path / "shell.log"
    gated = gate(shell_function(log), runtime)
    assert gated.run(command="a") == "output of a"
    assert gated._run(command="b") == "output of b"
    assert ran(log) == ["a", "b"] and len(audit_rows(runtime.audit_log)) == 2


REBUILDERS: dict[str, Callable[[Any], Any]] = {
    "Tool.from_langchain(tool)": Tool.from_langchain,
    "Tool(func=tool.func)": lambda g: Tool(name="shell", description="Run a shell command.", func=g.func),
    "Tool.model_validate(tool.model_dump())": lambda g: Tool.model_validate(g.model_dump()),
    "Tool(**dict(tool))": lambda g: Tool(**dict(g)),
}


@pytest.mark.parametrize("rebuild", REBUILDERS.values(), ids=REBUILDERS.keys())
def test_a_tool_rebuilt_from_func_is_gated(
    rebuild: Callable[[Any], Any], runtime: ActionRuntime, tmp_path: Path
) -> None:
    log = tmp_path / "shell.log"
    rebuilt = rebuild(gate(shell_function(log), runtime))
    assert rebuilt.run(**RM) == DENIED
    assert_denied(runtime, log)


def test_a_structured_tool_from_func_is_gated(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    structured = CrewStructuredTool.from_function(gate(shell_function(log), runtime).func, name="shell")
    assert structured.invoke(RM) == DENIED
    assert_denied(runtime, log)


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_a_tool_rebuilt_from_func_in_a_crew(native: bool, runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    run_crew(Tool.from_langchain(gate(shell_function(log), runtime)), native)
    assert_denied(runtime, log)


# --- checkpoints: restored without a binding, so every call is denied -----------------------------


def test_a_checkpointed_tool_restores_gated_without_a_binding(runtime: ActionRuntime, tmp_path: Path) -> None:
    log = tmp_path / "shell.log"
    gated = gate(ShellTool(log_path=str(log)), runtime)
    # what CrewAI's checkpoint restore does with a tool
    restored = _resolve_tool_dict(gated.model_dump(mode="json"))
    assert isinstance(restored, ShellTool) and restored.log_path == str(log)
    assert "no CapFence binding" in restored.run(command="ls")
    assert ran(log) == [] and audit_rows(runtime.audit_log) == []
    regated = gate(restored, runtime)
    assert regated.run(command="ls") == "output of ls" and ran(log) == ["ls"]


def test_an_agent_restored_from_its_checkpoint_data_has_a_denying_tool(
    runtime: ActionRuntime, tmp_path: Path
) -> None:
    log = tmp_path / "shell.log"
    llm = ScriptedLLM(final="script exhausted", model="scripted")
    agent = Agent(
        role="Operator", goal="g", backstory="b", llm=llm, tools=[gate(ShellTool(log_path=str(log)), runtime)]
    )
    restored = Agent.model_validate(agent.model_dump(mode="json"), context={"from_checkpoint": True})
    assert isinstance(restored.tools[0], ShellTool)
    assert "no CapFence binding" in restored.tools[0].run(command="ls")
    assert ran(log) == []


PROBE = """
from pathlib import Path

from crewai.tools import BaseTool

Path({marker!r}).write_text("imported")


class ProbeTool(BaseTool):
    name: str = "probe"
    description: str = "probe"
    log_path: str = ""

    def _run(self, **kwargs):
        return "ran"
"""


def _probe(tmp_path: Path, name: str) -> Path:
    """A module ``name`` defining a tool class, which leaves a file behind when it is imported; that file."""
    marker = tmp_path / f"{name}.imported"
    (tmp_path / f"{name}.py").write_text(PROBE.format(marker=str(marker)))
    return marker


def _outcome(restore: Callable[[], Any]) -> str:
    try:
        restored = restore()
    except ValueError as exc:
        return f"refused: {str(exc).split(':')[0]}"
    return "denied" if "no CapFence binding" in str(restored.run(command="ls")) else f"ran: {type(restored)}"


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "CREWAI_DESERIALIZE_CALLBACKS=1"])
def test_a_checkpoint_imports_no_module_crewai_itself_would_not(
    trusted: bool, runtime: ActionRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoint data names the tool's module; CrewAI decides whether restoring may import it, and a gated tool's
    checkpoint goes by the same rule (it never imports a module CrewAI's own restore would refuse)."""
    from capfence_crewai.conversions import ORIGINAL_TYPE_KEY

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CREWAI_DESERIALIZE_CALLBACKS", "1" if trusted else "")
    tag = uuid.uuid4().hex  # modules of their own: none imported (or registered) by an earlier test
    theirs, ours = _probe(tmp_path, f"probe_theirs_{tag}"), _probe(tmp_path, f"probe_ours_{tag}")
    dumped = gate(ShellTool(log_path=str(tmp_path / "shell.log")), runtime).model_dump(mode="json")
    plain = {key: value for key, value in dumped.items() if key != ORIGINAL_TYPE_KEY}
    crewai_own = _outcome(lambda: _resolve_tool_dict({**plain, "tool_type": f"probe_theirs_{tag}.ProbeTool"}))
    gated = _outcome(lambda: _resolve_tool_dict({**dumped, ORIGINAL_TYPE_KEY: f"probe_ours_{tag}.ProbeTool"}))
    assert ours.exists() == theirs.exists()
    if crewai_own.startswith("refused"):
        assert gated.startswith("refused") and not ours.exists()
    else:  # restored by CrewAI's rules: gated, with no binding
        assert gated == "denied" and ours.exists()


RESUME = """
import json, sys
from crewai import Agent
import scripted  # the program's own tools: CrewAI restores the types it has seen defined
if sys.argv[2] == "imported":
    from capfence_crewai import guard_crew  # what a program that gates its crews imports
try:
    agent = Agent.model_validate(json.loads(open(sys.argv[1]).read()), context={"from_checkpoint": True})
except ValueError as exc:
    print("refused", str(exc))
else:
    print(type(agent.tools[0]).__name__, agent.tools[0].run(command="ls"))
"""


@pytest.mark.parametrize("imported", [False, True], ids=["capfence-not-imported", "capfence-imported"])
def test_an_agent_checkpoint_resumed_in_a_new_process_is_never_ungated(
    imported: bool, runtime: ActionRuntime, tmp_path: Path
) -> None:
    """A fresh process (CrewAI's resume): the gated tool comes back denying every call, or CrewAI refuses the
    checkpoint (1.15.44 and later, before anything registered the checkpoint type); it never comes back ungated."""
    import json
    import os
    import subprocess
    import sys

    log = tmp_path / "shell.log"
    llm = ScriptedLLM(final="script exhausted", model="scripted")
    agent = Agent(
        role="Operator", goal="g", backstory="b", llm=llm, tools=[gate(ShellTool(log_path=str(log)), runtime)]
    )
    saved = tmp_path / "agent.json"
    saved.write_text(json.dumps(agent.model_dump(mode="json")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    env.pop("CREWAI_DESERIALIZE_CALLBACKS", None)
    out = subprocess.run(
        [sys.executable, "-c", RESUME, str(saved), "imported" if imported else "not"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.strip()
    assert ran(log) == []
    if imported:
        assert out.startswith("ShellTool") and "no CapFence binding" in out
    else:
        refused = "Refusing to resolve tool type 'capfence_crewai.conversions.GatedToolCheckpoint'"
        assert (out.startswith("refused") and refused in out) or "no CapFence binding" in out, out


# --- gated by construction (pinned here) -----------------------------------------------------------

COPIES: dict[str, Callable[[Any], Any]] = {
    "model_copy": lambda t: t.model_copy(),
    "copy()": lambda t: t.copy(),
    "copy.copy": copy.copy,
    "to_structured_tool": lambda t: t.to_structured_tool(),
    "Tool.from_langchain(tool.to_structured_tool())": lambda t: Tool.from_langchain(t.to_structured_tool()),
}


@pytest.mark.parametrize("make", COPIES.values(), ids=COPIES.keys())
@pytest.mark.parametrize("kind", ["BaseTool subclass", "@tool"])
def test_copies_and_structured_tools_stay_gated(
    make: Callable[[Any], Any], kind: str, runtime: ActionRuntime, tmp_path: Path
) -> None:
    log = tmp_path / "shell.log"
    converted = make(
        gate(ShellTool(log_path=str(log)) if kind == "BaseTool subclass" else shell_function(log), runtime)
    )
    result = converted.invoke(RM) if isinstance(converted, CrewStructuredTool) else converted.run(**RM)
    assert result == DENIED
    assert_denied(runtime, log)


def test_a_structured_tool_in_a_react_crew(runtime: ActionRuntime, tmp_path: Path) -> None:
    """ReAct mode runs tools through ``to_structured_tool()``: the plain gated tool in a crew."""
    log = tmp_path / "shell.log"
    run_crew(gate(ShellTool(log_path=str(log)), runtime), native=False)
    assert_denied(runtime, log)


def test_deepcopy_and_pickle_are_refused(runtime: ActionRuntime, tmp_path: Path) -> None:
    gated = gate(ShellTool(log_path=str(tmp_path / "shell.log")), runtime)
    # CrewAI's own: a tool holds a lock (ungated tools cannot be deep-copied either)
    with pytest.raises(TypeError):
        copy.deepcopy(gated)
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        pickle.dumps(gated)
