"""``capfence_langchain.testing.ScriptedChatModel`` drives real ``create_agent`` loops, and the docs' example of it runs."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from capfence import ActionRuntime
from capfence_langchain import CapFenceMiddleware
from capfence_langchain.testing import ScriptedChatModel, ScriptExhausted, parallel, tool_call

ROOT = Path(__file__).resolve().parents[3]
DENIED = 'CapFence deny: deny rule: capability "shell.execute", contains "rm -rf" [rule deny[0]]'


@pytest.fixture
def runtime(tmp_path: Path) -> ActionRuntime:
    return ActionRuntime.from_policy(
        ROOT / "policies" / "shell_rollout.yaml", audit_log=tmp_path / "audit.db"
    )


def shell_agent(model: ScriptedChatModel, runtime: ActionRuntime, ran: list[str]) -> object:
    @tool
    def run_shell(command: str) -> str:
        """Run a shell command (pretend)."""
        ran.append(command)
        return f"ran {command}"

    guard = CapFenceMiddleware(
        gate=runtime, agent_id="prod-agent", capabilities={"run_shell": "shell.execute"}
    )
    return create_agent(model, [run_shell], middleware=[guard])


def report(messages: list[BaseMessage]) -> str:
    """A final answer computed from the conversation, as a real model would write it."""
    failed = [m.content for m in messages if isinstance(m, ToolMessage) and m.status == "error"]
    return f"{len(failed)} call(s) blocked: {failed}"


def test_langchains_own_fake_model_cannot_drive_an_agent() -> None:
    """Why the scripted model exists."""
    with pytest.raises(NotImplementedError):
        GenericFakeChatModel(messages=iter([AIMessage("hi")])).bind_tools([])


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
def test_it_drives_a_gated_create_agent_loop(runtime: ActionRuntime, sync: bool) -> None:
    model = ScriptedChatModel(
        tool_call("run_shell", {"command": "ls"}),
        tool_call("run_shell", {"command": "rm -rf /tmp/x"}, id="rm"),
        report,
    )
    ran: list[str] = []
    agent = shell_agent(model, runtime, ran)
    state = {"messages": [HumanMessage("clean up")]}
    result = agent.invoke(state) if sync else asyncio.run(agent.ainvoke(state))  # type: ignore[attr-defined]

    assert ran == ["ls"], "the denied call's body never runs"
    results = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in results] == [("call_1_1", "success"), ("rm", "error")]
    assert result["messages"][-1].content == f"1 call(s) blocked: [{DENIED!r}]"
    assert model.turns == 3 and len(model.prompts) == 3
    assert isinstance(model.prompts[2][-1], ToolMessage) and model.prompts[2][-1].content == DENIED, (
        "the model was shown the block"
    )
    assert model.bound_tools == ["run_shell"]


def test_parallel_calls_and_text_replies(runtime: ActionRuntime) -> None:
    model = ScriptedChatModel(
        parallel(tool_call("run_shell", {"command": "pwd"}), tool_call("run_shell", {"command": "id"})),
        "both ran",
    )
    ran: list[str] = []
    result = shell_agent(model, runtime, ran).invoke({"messages": [HumanMessage("where am I?")]})  # type: ignore[attr-defined]
    assert sorted(ran) == ["id", "pwd"]
    assert [m.tool_call_id for m in result["messages"] if isinstance(m, ToolMessage)] == [
        "call_1_1",
        "call_1_2",
    ]
    assert result["messages"][-1].content == "both ran"


def test_an_exhausted_script_fails_loudly_or_answers_final(runtime: ActionRuntime) -> None:
    model = ScriptedChatModel(tool_call("run_shell", {"command": "ls"}))
    with pytest.raises(ScriptExhausted, match="called 2 times but its script has 1 replies"):
        shell_agent(model, runtime, []).invoke({"messages": [HumanMessage("go")]})  # type: ignore[attr-defined]

    model = ScriptedChatModel(tool_call("run_shell", {"command": "ls"}), final="nothing more to do")
    result = shell_agent(model, runtime, []).invoke({"messages": [HumanMessage("go")]})  # type: ignore[attr-defined]
    assert result["messages"][-1].content == "nothing more to do"
    model.rewind()
    assert model.turns == 0


def test_the_docs_example_runs(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "adapters" / "langchain.md").read_text(encoding="utf-8")
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
