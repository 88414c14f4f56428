"""What a guarded crew carries: its :class:`CrewGuard` (gate, capabilities, agent ids, mode).

The guard is stored on the crew object under a dunder name (set with
``object.__setattr__``, so pydantic neither validates it nor treats it as a
field), which is how the process-wide CrewAI hooks of :mod:`capfence_crewai.hooks`
tell a guarded crew's tool calls from every other crew's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from crewai.utilities.string_utils import sanitize_tool_name

from capfence.call.gate import Binding

if TYPE_CHECKING:
    from capfence.call.runtime import ActionRuntime
    from capfence.contracts import Gate

Mode = Literal["hooks", "tools"]
MODES: tuple[Mode, ...] = ("hooks", "tools")
DEFAULT_MODE: Mode = "hooks"
"""See :func:`capfence_crewai.guard_crew` for why the hooks are the default."""
DEFAULT_CAPABILITY = "crewai.{tool}"
"""Capability of a tool missing from ``capabilities`` (``{tool}`` is its sanitized name), so the policy still decides it."""
UNKNOWN_AGENT = "unknown-agent"
GUARD_ATTR = "__capfence_crew_guard__"
FRAMEWORK = "crewai"


@dataclass(frozen=True, eq=False)
class CrewGuard:
    """How one crew's tool calls are gated. Built by :func:`capfence_crewai.guard_crew`."""

    gate: ActionRuntime | Gate
    mode: Mode = DEFAULT_MODE
    capabilities: Mapping[str, str] = field(default_factory=dict)
    """Tool name -> capability, keyed by CrewAI's sanitized tool name (``sanitize_tool_name``)."""
    agent_ids: Mapping[str, str] | None = None
    """Agent role -> agent id; ``None``: an agent's id is its role."""
    environment: str | None = None
    approval_wait: float | None = None
    default_capability: str = DEFAULT_CAPABILITY

    @classmethod
    def build(
        cls, gate: ActionRuntime | Gate, *, capabilities: Mapping[str, str] | None, **options: Any
    ) -> CrewGuard:
        keyed = {sanitize_tool_name(name): capability for name, capability in (capabilities or {}).items()}
        agent_ids = options.pop("agent_ids", None)
        return cls(
            gate=gate,
            capabilities=keyed,
            agent_ids=dict(agent_ids) if agent_ids is not None else None,
            **options,
        )

    def capability(self, tool_name: str) -> str:
        key = sanitize_tool_name(tool_name)
        return self.capabilities.get(key) or self.default_capability.format(tool=key)

    def agent_id(self, agent: Any) -> str:
        """The agent's id: ``agent_ids[role]`` (the role as interpolated, or as written), else the role."""
        if agent is None:
            return UNKNOWN_AGENT
        role = str(getattr(agent, "role", "") or "")
        if self.agent_ids:
            for key in (role, getattr(agent, "_original_role", None)):
                if key and key in self.agent_ids:
                    return self.agent_ids[key]
        return role or UNKNOWN_AGENT

    def binding(self, agent_id: str, tool_name: str) -> Binding:
        """The binding for one (agent, tool) pair."""
        return Binding(
            gate=self.gate,
            agent_id=agent_id,
            capability=self.capability(tool_name),
            framework=FRAMEWORK,
            tool=tool_name,
            environment=self.environment,
            approval_wait=self.approval_wait,
        )


def guard_of(crew: object) -> CrewGuard | None:
    """The guard of a guarded crew, else ``None``; never raises."""
    state = getattr(crew, "__dict__", None)
    guard = state.get(GUARD_ATTR) if isinstance(state, dict) else None
    return guard if isinstance(guard, CrewGuard) else None


def set_guard(crew: object, guard: CrewGuard) -> None:
    object.__setattr__(crew, GUARD_ATTR, guard)
