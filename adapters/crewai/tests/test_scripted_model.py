"""``capfence_crewai.testing.ScriptedLLM`` drives real crews (ReAct and native tool calling), and the docs' example of it runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from crewai import Agent, Crew, Task
from crewai.tools import BaseTool, tool

from capfence import ActionRuntime
from capfence_crewai import guard_crew
from capfence_crewai.testing import ScriptedLLM, ScriptExhausted, parallel, tool_call

ROOT = Path(__file__).resolve().parents[3]
DENIED = 'CapFence deny: deny rule: capability \\"shell.execute\\", contains \\"rm -rf\\" [rule deny[0]]'
"""What the agent is shown for the denied call, as it appears in the JSON text of a recorded request."""


@pytest.fixture
def runtime(tmp_path: Path) -> ActionRuntime:
    return ActionRuntime.from_policy(
        ROOT / "policies" / "shell_rollout.yaml", audit_log=tmp_path / "audit.db"
    )


def shell(ran: list[str]) -> BaseTool:
    @tool("run_shell")
    def run_shell(command: str) -> str:
        """Run a shell command (pretend)."""
        ran.append(command)
        return f"ran {command}"

    return run_shell


def crew_of(llm: ScriptedLLM, ran: list[str], runtime: ActionRuntime) -> Crew:
    operator = Agent(
        role="Operator",
        goal="Keep the host tidy",
        backstory="An SRE.",
        tools=[shell(ran)],
        llm=llm,
        verbose=False,
    )
    crew = Crew(
        agents=[operator],
        tasks=[Task(description="Clean up.", expected_output="A status.", agent=operator)],
        verbose=False,
    )
    return guard_crew(crew, gate=runtime, capabilities={"run_shell": "shell.execute"})


def blocked_count(conversation: list[dict[str, Any]]) -> str:
    """A final answer computed from the conversation, as a real model would write it."""
    return (
        f"{sum(str(m.get('content', '')).count('CapFence deny') for m in conversation[-2:])} call(s) blocked"
    )


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
def test_it_drives_a_guarded_crew(runtime: ActionRuntime, native: bool) -> None:
    llm = ScriptedLLM(
        tool_call("run_shell", {"command": "ls"}),
        tool_call("run_shell", {"command": "rm -rf /tmp/x"}),
        blocked_count,
        native=native,
    )
    ran: list[str] = []
    result = crew_of(llm, ran, runtime).kickoff()

    assert ran == ["ls"], "the denied call's body never runs"
    assert result.raw == "1 call(s) blocked"
    assert llm.turns == 3 and len(llm.prompts) == 3 and llm.saw(DENIED), "the model was shown the block"
    assert llm.supports_function_calling() is native


def test_parallel_calls_in_native_mode(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM(
        parallel(tool_call("run_shell", {"command": "pwd"}), tool_call("run_shell", {"command": "id"})),
        "both ran",
        native=True,
    )
    ran: list[str] = []
    assert crew_of(llm, ran, runtime).kickoff().raw == "both ran"
    assert sorted(ran) == ["id", "pwd"]


def test_react_mode_refuses_parallel_calls() -> None:
    llm = ScriptedLLM(parallel(tool_call("a"), tool_call("b")))
    with pytest.raises(ValueError, match="exactly one tool call"):
        llm.call("go")


def test_an_exhausted_script_fails_loudly_or_answers_final(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM("only answer")
    assert llm.call("first") == "Thought: I now know the final answer\nFinal Answer: only answer"
    with pytest.raises(ScriptExhausted, match="called 2 times but its script has 1 replies"):
        llm.call("second")
    llm.rewind()
    assert llm.turns == 0

    llm = ScriptedLLM(tool_call("run_shell", {"command": "ls"}), final="nothing more to do")
    assert crew_of(llm, [], runtime).kickoff().raw == "nothing more to do"


def test_the_docs_example_runs(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "adapters" / "crewai.md").read_text(encoding="utf-8")
    section = page.split("## Testing offline: a scripted model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    env = {**os.environ, "CREWAI_STORAGE_DIR": str(tmp_path / "crewai-storage")}
    done = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = re.findall(r"^# (.*)$", code.group(1), flags=re.MULTILINE)
    assert done.stdout.splitlines() == expected
    assert "approximate input token count" not in done.stderr
