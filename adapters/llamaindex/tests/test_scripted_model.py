"""``capfence_llamaindex.testing.ScriptedLLM`` drives real agent loops, and the docs' example of it runs."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.llms import ChatMessage

from capfence import ActionRuntime
from capfence_llamaindex import guard_agent
from capfence_llamaindex.testing import (
    ScriptedLLM,
    ScriptExhausted,
    parallel,
    react_answer,
    react_step,
    tool_call,
)

ROOT = Path(__file__).resolve().parents[3]
DENIED = 'CapFence deny: deny rule: capability "shell.execute", contains "rm -rf" [rule deny[0]]'


@pytest.fixture
def runtime(tmp_path: Path) -> ActionRuntime:
    return ActionRuntime.from_policy(
        ROOT / "policies" / "shell_rollout.yaml", audit_log=tmp_path / "audit.db"
    )


def run(agent: FunctionAgent | ReActAgent, ran: list[str]) -> tuple[str, list[ToolCallResult]]:
    async def go() -> tuple[str, list[ToolCallResult]]:
        handler = agent.run(user_msg="clean up")
        results = [event async for event in handler.stream_events() if isinstance(event, ToolCallResult)]
        return str(await handler), results

    return asyncio.run(go())


def shell(ran: list[str]) -> object:
    def run_shell(command: str) -> str:
        """Run a shell command (pretend)."""
        ran.append(command)
        return f"ran {command}"

    return run_shell


def report(messages: list[ChatMessage]) -> str:
    blocked = [m.content for m in messages if m.role == "tool" and "CapFence" in (m.content or "")]
    return f"{len(blocked)} call(s) blocked"


def test_it_drives_a_guarded_function_agent(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM(
        tool_call("run_shell", {"command": "ls"}),
        tool_call("run_shell", {"command": "rm -rf /tmp/x"}, id="rm"),
        report,
    )
    ran: list[str] = []
    agent = guard_agent(
        FunctionAgent(tools=[shell(ran)], llm=llm),
        gate=runtime,
        agent_id="prod-agent",
        capabilities={"run_shell": "shell.execute"},
    )
    answer, results = run(agent, ran)

    assert ran == ["ls"], "the denied call's body never runs"
    assert [(r.tool_id, r.tool_output.is_error) for r in results] == [("call_1_1", False), ("rm", True)]
    assert answer == "1 call(s) blocked"
    assert llm.turns == 3 and len(llm.prompts) == 3 and llm.saw(DENIED), "the model was shown the block"


def test_parallel_calls(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM(
        parallel(tool_call("run_shell", {"command": "pwd"}), tool_call("run_shell", {"command": "id"})),
        "both ran",
    )
    ran: list[str] = []
    agent = guard_agent(
        FunctionAgent(tools=[shell(ran)], llm=llm),
        gate=runtime,
        agent_id="a",
        capabilities={"run_shell": "shell.execute"},
    )
    answer, results = run(agent, ran)
    assert sorted(ran) == ["id", "pwd"] and answer == "both ran"
    assert sorted(r.tool_id for r in results) == ["call_1_1", "call_1_2"]


def test_it_drives_a_react_agent(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM(
        react_step("run_shell", {"command": "rm -rf /tmp/x"}), react_answer("could not clean up")
    )
    ran: list[str] = []
    agent = guard_agent(
        ReActAgent(tools=[shell(ran)], llm=llm),
        gate=runtime,
        agent_id="a",
        capabilities={"run_shell": "shell.execute"},
    )
    answer, _ = run(agent, ran)
    assert ran == [] and answer == "could not clean up"
    assert llm.saw(f"Observation: {DENIED}")


def test_an_exhausted_script_fails_loudly_or_answers_final(runtime: ActionRuntime) -> None:
    llm = ScriptedLLM(tool_call("run_shell", {"command": "ls"}))
    agent = guard_agent(
        FunctionAgent(tools=[shell([])], llm=llm),
        gate=runtime,
        agent_id="a",
        capabilities={"run_shell": "shell.execute"},
    )
    with pytest.raises(Exception, match="called 2 times but its script has 1 replies") as raised:
        run(agent, [])
    assert isinstance(raised.value, ScriptExhausted) or isinstance(raised.value.__cause__, ScriptExhausted)

    llm = ScriptedLLM(tool_call("run_shell", {"command": "ls"}), final="nothing more to do")
    agent = guard_agent(
        FunctionAgent(tools=[shell([])], llm=llm),
        gate=runtime,
        agent_id="a",
        capabilities={"run_shell": "shell.execute"},
    )
    assert run(agent, [])[0] == "nothing more to do"
    llm.rewind()
    assert llm.turns == 0


def test_the_docs_example_runs(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "adapters" / "llamaindex.md").read_text(encoding="utf-8")
    section = page.split("## A scripted model for examples and tests", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    done = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = re.search(r"^# (Done\..*)$", code.group(1), flags=re.MULTILINE)
    assert expected is not None and done.stdout.strip() == expected.group(1)
