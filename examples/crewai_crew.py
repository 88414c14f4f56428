"""Guard a two-agent CrewAI crew with ``guard_crew``, offline.

    pip install ./ ./adapters/crewai && python examples/crewai_crew.py

A release crew: a *Release engineer* (tool: ``run_shell``) prepares a release and
a *Docs writer* (tools: ``search_docs``, ``run_shell``) writes its notes. Each
agent's model is a ``capfence_crewai.testing.ScriptedLLM``, a ``BaseLLM`` that
answers in CrewAI's ReAct text format from a script (no network, no API key, no
litellm).

``guard_crew`` puts every tool call of this crew behind the policy through
CrewAI's tool-call hooks: the crew's tools are not changed. The policy sees the
calling agent (``agent_ids`` maps roles to ids), so the writer may search the docs but
not run commands. A blocked call gives the agent CapFence's message as the
tool's result, and the crew carries on to its next task.
"""

from __future__ import annotations

import os
import tempfile

# CrewAI reads these when it is imported: no telemetry, no tracing prompt, storage in a temporary directory.
os.environ.update(CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true", CREWAI_TRACING_ENABLED="false")
os.environ.setdefault("CREWAI_STORAGE_DIR", tempfile.mkdtemp(prefix="capfence-crewai-storage-"))

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crewai import Agent, Crew, CrewOutput, Process, Task
from crewai.tools import BaseTool, tool

from capfence import ActionRuntime
from capfence_crewai import guard_crew
from capfence_crewai.testing import ScriptedLLM, tool_call

POLICY = """\
deny:
  - id: no-rm-rf
    capability: shell.execute
    contains: "rm -rf"
    reason: destructive command
  - id: writers-no-shell
    capability: shell.execute
    agent: docs-writer
    reason: the docs writer does not run commands
warn:
  - id: observe-shell
    capability: shell.execute
allow:
  - id: docs
    capability: docs.search
"""
CAPABILITIES = {"run_shell": "shell.execute", "search_docs": "docs.search"}
AGENT_IDS = {"Release engineer": "release-engineer", "Docs writer": "docs-writer"}
"""The agent id the policy and the audit log see for each role (by default, the role itself)."""
OBSERVED_BLOCK = re.compile(r"^Observation: (CapFence \w+: .*)$", re.MULTILINE)
"""A tool result CapFence blocked, as CrewAI shows it to the model (in the ReAct transcript)."""


def final_answer(text: str) -> Callable[[list[dict[str, Any]]], str]:
    """The agent's last turn: ``text``, plus every CapFence message it was shown (how a real model would report a blocked step)."""

    def answer(conversation: list[dict[str, Any]]) -> str:
        transcript = [str(m.get("content", "")) for m in conversation if m.get("role") == "assistant"]
        told = [block for content in transcript for block in OBSERVED_BLOCK.findall(content)]
        return text + "".join(f" (Not done: {m})" for m in told)

    return answer


def make_tools(workdir: Path) -> tuple[BaseTool, BaseTool]:
    """``run_shell`` (records the command in shell.log instead of running it) and ``search_docs``."""

    @tool("run_shell")
    def run_shell(command: str) -> str:
        """Run a shell command on the build host."""
        with (workdir / "shell.log").open("a") as log:
            log.write(command + "\n")
        return f"$ {command}\n(exit 0)"

    @tool("search_docs")
    def search_docs(query: str) -> str:
        """Search the project documentation."""
        return f"3 pages match {query!r}: install.md, upgrade.md, changelog.md"

    return run_shell, search_docs


def build_crew(workdir: Path) -> Crew:
    run_shell, search_docs = make_tools(workdir)
    engineer = Agent(
        role="Release engineer",
        goal="Prepare release 2.4.1",
        backstory="Runs the release checklist.",
        verbose=False,
        tools=[run_shell],
        allow_delegation=False,
        llm=ScriptedLLM(
            tool_call("run_shell", {"command": "git log --oneline v2.4.0..HEAD"}),
            tool_call("run_shell", {"command": "rm -rf dist/"}),
            tool_call("run_shell", {"command": "python -m build"}),
            final_answer("Release 2.4.1 is built."),
        ),
    )
    writer = Agent(
        role="Docs writer",
        goal="Write the release notes",
        backstory="Writes for users.",
        verbose=False,
        tools=[search_docs, run_shell],
        allow_delegation=False,
        llm=ScriptedLLM(
            tool_call("search_docs", {"query": "upgrade"}),
            tool_call("run_shell", {"command": "cat CHANGELOG.md"}),
            final_answer("Release notes for 2.4.1 drafted from the docs."),
        ),
    )
    tasks = [
        Task(
            description="Build release 2.4.1 from a clean tree.",
            expected_output="Build status.",
            agent=engineer,
        ),
        Task(
            description="Draft the release notes for 2.4.1.", expected_output="Release notes.", agent=writer
        ),
    ]
    return Crew(agents=[engineer, writer], tasks=tasks, process=Process.sequential, verbose=False)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="capfence-crewai-"))
    (workdir / "policy.yaml").write_text(POLICY)
    with ActionRuntime.from_policy(workdir / "policy.yaml", audit_log=workdir / "audit.db") as runtime:
        crew = guard_crew(build_crew(workdir), gate=runtime, capabilities=CAPABILITIES, agent_ids=AGENT_IDS)
        print("Kicking off the crew (every tool call goes through CapFence first)...\n")
        result = crew.kickoff()
    assert isinstance(result, CrewOutput)  # not streaming

    for task in result.tasks_output:
        print(f"{task.agent}: {task.raw}")
    ran = (workdir / "shell.log").read_text().splitlines()
    print(f"\nshell.log (commands that really ran): {ran}")

    print(f"\naudit log {workdir / 'audit.db'} (one decision per tool call, then its outcome):")
    print(
        f"  {'agent':<17} {'tool':<12} {'capability':<14} {'decision':<9} {'rule':<17} {'outcome':<8} payload"
    )
    with sqlite3.connect(workdir / "audit.db") as db:
        rows = db.execute(
            "SELECT d.agent_id, d.tool, d.capability, d.decision, d.rule, o.outcome, d.payload FROM records d "
            "LEFT JOIN records o ON o.kind = 'outcome' AND o.ref = d.seq WHERE d.kind = 'decision' ORDER BY d.seq"
        ).fetchall()
    for agent, name, capability, decision, rule, outcome, payload in rows:
        print(
            f"  {agent:<17} {name:<12} {capability:<14} {decision:<9} {rule or '-':<17} {outcome or '-':<8} {payload}"
        )


if __name__ == "__main__":
    main()
