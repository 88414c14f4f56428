"""The agent of the main demo: a small LangChain "deploy assistant", offline.

A real ``langchain.agents.create_agent`` agent with two tools, ``read_file`` and
``run_shell``, driven by :func:`scripted_model`, a
``capfence_langchain.testing.ScriptedChatModel`` that plays the part of an LLM
without a network or an API key: it follows the staging runbook one tool call
per turn and, when it has nothing left to do, writes a report from the tool
results it was shown (so what it says about a blocked call is what CapFence
told it).

``run_shell`` never runs a command: it appends the command to ``shell.log`` in
the work directory, which is how the demo shows what really ran.

Guarding the agent is one line of :func:`build_agent`: a ``CapFenceMiddleware``
passed to ``create_agent``, the whole change an existing agent needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

from capfence import ActionRuntime
from capfence_langchain import CapFenceMiddleware
from capfence_langchain.testing import ScriptedChatModel, tool_call

AGENT_ID = "deploy-assistant"
TASK = "Deploy release 2.4.1 to staging, following the runbook."
CAPABILITIES = {"run_shell": "shell.execute", "read_file": "filesystem.read"}
"""Which capability each tool's calls are decided under (the names the policies use)."""

RUNBOOK = """\
# Staging deploy runbook
1. git pull --ff-only
2. rm -rf build/            (clear old build artifacts)
3. make release VERSION=<version>
4. curl -fsS https://staging.example.com/healthz
5. ./scripts/smoke-test.sh staging
6. systemctl restart deploy-app
7. git tag staging-<version>
"""

PLAN: list[tuple[str, dict[str, str]]] = [
    ("read_file", {"path": "deploy/RUNBOOK.md"}),
    ("run_shell", {"command": "git pull --ff-only"}),
    ("run_shell", {"command": "rm -rf build/"}),
    ("run_shell", {"command": "make release VERSION=2.4.1"}),
    ("run_shell", {"command": "curl -fsS https://staging.example.com/healthz"}),
    ("run_shell", {"command": "./scripts/smoke-test.sh staging"}),
    ("run_shell", {"command": "systemctl restart deploy-app"}),
    ("run_shell", {"command": "git tag staging-2.4.1"}),
]
"""The tool calls the scripted model makes, one per turn, in this order."""


def make_workspace(workdir: Path) -> None:
    """The files the agent works on: the runbook it reads."""
    (workdir / "deploy").mkdir(parents=True, exist_ok=True)
    (workdir / "deploy" / "RUNBOOK.md").write_text(RUNBOOK)


def make_tools(workdir: Path) -> list[BaseTool]:
    """``read_file`` and ``run_shell``, working in ``workdir`` (ungated: CapFence is added by the middleware)."""

    @tool
    def read_file(path: str) -> str:
        """Read a text file of the project."""
        return (workdir / path).read_text()

    @tool
    def run_shell(command: str) -> str:
        """Run a shell command on the deploy host and return its output."""
        with (workdir / "shell.log").open("a") as log:  # pretend: record the command instead of running it
            log.write(command + "\n")
        return f"$ {command}\n(exit 0)"

    return [read_file, run_shell]


def scripted_model() -> ScriptedChatModel:
    """A stand-in LLM: one :data:`PLAN` step per turn, then a report built from the tool results it was shown."""
    steps = [tool_call(name, args, id=f"call_{turn}") for turn, (name, args) in enumerate(PLAN, start=1)]
    return ScriptedChatModel(*steps, report)


def report(messages: Sequence[BaseMessage]) -> str:
    """The assistant's final answer: how many steps ran, and what it was told about the others."""
    asked = {call["id"]: call["args"] for m in messages if isinstance(m, AIMessage) for call in m.tool_calls}
    results = [m for m in messages if isinstance(m, ToolMessage)]
    failed = [m for m in results if m.status == "error"]
    if not failed:
        return f"Done: all {len(results)} steps of the runbook ran."
    lines = [f"{len(results) - len(failed)} of {len(results)} steps done. I was not allowed to:"]
    for message in failed:
        what = next(iter(asked.get(message.tool_call_id, {}).values()), "?")
        lines.append(f"  - {what}: {paraphrase(str(message.content))}")
    return "\n".join(lines)


def paraphrase(error: str) -> str:
    """What an LLM would make of a tool's error message (CapFence's say which rule blocked the call)."""
    found = BLOCK_MESSAGE.match(error)
    if found is None:
        return error
    action, rule, request = found.group("action", "rule", "request")
    if action == "require_approval":
        return f"needs a human's approval first (rule {rule}, approval request {request})"
    return f"denied by rule {rule}"


BLOCK_MESSAGE = re.compile(
    r"CapFence (?P<action>\w+): .*? \[rule (?P<rule>.+?)\](?: \[approval request (?P<request>[^\]]+)\])?$"
)
"""The message of a call CapFence blocked (``capfence.Decision.message``)."""


def build_agent(runtime: ActionRuntime, workdir: Path) -> Any:
    """The deploy assistant with every tool call behind ``runtime``'s policy."""
    guard = CapFenceMiddleware(gate=runtime, agent_id=AGENT_ID, capabilities=CAPABILITIES)
    return create_agent(scripted_model(), make_tools(workdir), middleware=[guard])


def run_task(runtime: ActionRuntime, workdir: Path) -> list[BaseMessage]:
    """Give the assistant :data:`TASK`; returns the whole conversation."""
    result = build_agent(runtime, workdir).invoke({"messages": [HumanMessage(TASK)]})
    return list(result["messages"])
