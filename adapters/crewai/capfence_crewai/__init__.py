"""CapFence for CrewAI: put CrewAI tools, or every tool call of a whole crew, behind a CapFence policy.

    from capfence import ActionRuntime, CapFenceTool
    from capfence_crewai import guard_crew

    runtime = ActionRuntime.from_policy("policy.yaml")

    # one tool, wherever it is called from
    safe_shell = CapFenceTool(tool=shell, agent_id="ops", capability="shell.execute", gate=runtime)

    # a whole crew: every tool call of every agent, decided before CrewAI's tool cache
    guard_crew(crew, gate=runtime, capabilities={"shell": "shell.execute", "lookup": "docs.lookup"})
    crew.kickoff()

``CapFenceTool`` finds this package's adapter through the ``capfence``
entry-point group (:mod:`capfence_crewai.plugin`). Names are imported on first
use, so importing this package (as the plugin loader does) does not import
CrewAI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.lazy import lazy_exports

if TYPE_CHECKING:
    from capfence_crewai.crew import guard_crew
    from capfence_crewai.guard import DEFAULT_CAPABILITY, DEFAULT_MODE, CrewGuard, guard_of
    from capfence_crewai.tools import block_message, wrap_tool

__all__ = [
    "DEFAULT_CAPABILITY",
    "DEFAULT_MODE",
    "CrewGuard",
    "block_message",
    "guard_crew",
    "guard_of",
    "wrap_tool",
]

_HOMES = {
    "DEFAULT_CAPABILITY": "capfence_crewai.guard",
    "DEFAULT_MODE": "capfence_crewai.guard",
    "CrewGuard": "capfence_crewai.guard",
    "guard_of": "capfence_crewai.guard",
    "guard_crew": "capfence_crewai.crew",
    "block_message": "capfence_crewai.tools",
    "wrap_tool": "capfence_crewai.tools",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
