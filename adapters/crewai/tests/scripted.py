"""An offline CrewAI crew: ``capfence_crewai.testing.ScriptedLLM`` (no network, no litellm) and two agents with real side effects.

``ScriptedLLM`` answers each call with the next item of its script (``call(...)``/``final(...)``): ReAct
text or, with ``native=True``, OpenAI-style tool calls, which CrewAI executes itself. Once a script is
played it answers "script exhausted".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.tools import BaseTool, tool
from pydantic import BaseModel, Field

from capfence_crewai.testing import Reply, ScriptedLLM, tool_call

logging.getLogger("crewai.llms.base_llm").setLevel(logging.ERROR)

Step = Reply
"""One scripted step: ``call(...)`` (a tool call) or ``final(text)``."""


class ShellInput(BaseModel):
    command: str = Field(description="The command to run")


class ShellTool(BaseTool):
    """A ``BaseTool`` subclass whose body leaves a real trace: a line in ``log_path``."""

    name: str = "shell"
    description: str = "Run a shell command."
    args_schema: type[BaseModel] = ShellInput
    log_path: str = ""

    def _run(self, command: str) -> str:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(command + "\n")
        return f"output of {command}"


def make_lookup(log_path: Path) -> BaseTool:
    """An ``@tool`` tool (a ``crewai.tools.Tool``: its ``run`` skips ``_run``)."""

    @tool("lookup")
    def lookup(term: str) -> str:
        """Look a term up in the documentation."""
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(term + "\n")
        return f"definition of {term}"

    return lookup


def ran(log_path: Path) -> list[str]:
    """The lines a tool body wrote (what really ran)."""
    return log_path.read_text(encoding="utf-8").splitlines() if log_path.exists() else []


def call(tool_name: str, **args: Any) -> Step:
    return tool_call(tool_name, args)


def final(text: str = "done") -> Step:
    return text


def build_crew(
    tmp_path: Path,
    operator_script: list[Step],
    researcher_script: list[Step],
    *,
    native: bool,
    cache: bool = False,
    shell: BaseTool | None = None,
    delegation: bool = False,
) -> tuple[Crew, ScriptedLLM, ScriptedLLM]:
    """Two agents (Operator: shell; Researcher: lookup and shell), one task each, sequential.

    ``delegation=True`` lets the Operator delegate (CrewAI then gives it its delegation tools while running).
    """
    shell = shell or ShellTool(log_path=str(tmp_path / "shell.log"))
    lookup = make_lookup(tmp_path / "lookup.log")
    llm1 = ScriptedLLM(
        final="script exhausted", model="scripted-operator", script=list(operator_script), native=native
    )
    llm2 = ScriptedLLM(
        final="script exhausted", model="scripted-researcher", script=list(researcher_script), native=native
    )
    operator = Agent(
        role="Operator",
        goal="Run commands",
        backstory="Ops.",
        llm=llm1,
        tools=[shell],
        allow_delegation=delegation,
        verbose=False,
    )
    researcher = Agent(
        role="Researcher",
        goal="Look things up",
        backstory="Research.",
        llm=llm2,
        tools=[lookup, shell],
        allow_delegation=False,
        verbose=False,
    )
    tasks = [
        Task(description="List the files.", expected_output="A listing.", agent=operator),
        Task(description="Define capfence.", expected_output="A definition.", agent=researcher),
    ]
    crew = Crew(
        agents=[operator, researcher], tasks=tasks, process=Process.sequential, cache=cache, verbose=False
    )
    return crew, llm1, llm2
