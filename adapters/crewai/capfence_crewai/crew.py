"""``guard_crew``: put every tool call of one crew behind the policy, in one call.

Two ways to gate a crew:

``mode="hooks"`` (the default)
    CrewAI's before/after tool-call hooks, scoped to this crew
    (:mod:`capfence_crewai.hooks`), and, at the innermost point, the tools the
    crew runs: every executor of the crew's agents gets views of its tools
    (same state, checking every call against the hook's decision,
    :mod:`capfence_crewai.views`), through ``Crew._prepare_tools`` (each task
    execution) and ``Agent.create_agent_executor`` (also delegated work). The
    crew's tool objects are not changed.
``mode="tools"``
    Every tool of every agent and task is replaced by a gated copy
    (:func:`capfence_crewai.tools.wrap_tool`), bound to the agent that uses it.

Why the hooks are the default: they are the only place that sees *every* call
the crew's agents make.

* CrewAI's tool-result cache (``Crew(cache=True)``) answers a repeated call
  before the tool is reached, and its key is the tool and the arguments, not
  the agent: with gated tools, a call the policy denies to one agent can be
  answered from another agent's cached result, unaudited. The hooks run before
  the cache. (``mode="tools"`` refuses a crew with a cache.)
* They see the agent actually making the call (a task's tools, a tool shared by
  two agents, the manager of a hierarchical crew) and the tools CrewAI adds
  while running: delegation, MCP and platform tools, file tools.
* The crew's tool objects are untouched: a tool added to ``agent.tools`` later
  is gated too.

What the tools mode has that the hooks do not: a gated tool is gated wherever
it is called from, inside or outside a crew, and it does not depend on CrewAI
running hooks. Use :func:`capfence.CapFenceTool` on a single tool for that.
The two are not meant to be combined on one crew (a call would be decided by
both: two records).

Scope: the guard lives on the crew object. ``guard_crew`` changes the crew's
class, in place, to a cached subclass (same name, fields and behaviour) whose
``copy()`` passes the guard on (``kickoff_for_each`` runs copies), whose
kickoffs re-register the hooks if something (``clear_all_global_hooks()``)
removed them, and whose ``_prepare_tools`` hands each task execution views of
its tools (hooks mode); in hooks mode its agents' classes are swapped the same
way (at ``guard_crew`` and at each kickoff) so that every executor they build
runs views. Other crews in the process are not gated.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from crewai import Agent, Crew
from crewai.tools import BaseTool
from crewai.utilities.string_utils import sanitize_tool_name

from capfence.call.wrapping import ORIGINAL_ATTR, gated_class, is_gated
from capfence.errors import CapFenceError
from capfence_crewai import hooks
from capfence_crewai.guard import (
    DEFAULT_CAPABILITY,
    DEFAULT_MODE,
    MODES,
    CrewGuard,
    Mode,
    guard_of,
    set_guard,
)
from capfence_crewai.tools import wrap_tool
from capfence_crewai.views import view_tools

if TYPE_CHECKING:
    from capfence.call.runtime import ActionRuntime
    from capfence.contracts import Gate

CrewT = TypeVar("CrewT", bound=Crew)
CREW_TAG = "capfence-crewai-crew"
AGENT_TAG = "capfence-crewai-agent"
KICKOFFS = (
    "kickoff",
    "kickoff_async",
    "akickoff",
    "kickoff_for_each",
    "kickoff_for_each_async",
    "akickoff_for_each",
)
MANAGER_ROLE = "Crew Manager"
"""The role CrewAI gives the manager it creates for a hierarchical crew (used when a task has no agent)."""


def guard_crew(
    crew: CrewT,
    *,
    gate: ActionRuntime | Gate,
    capabilities: Mapping[str, str] | None = None,
    agent_ids: Mapping[str, str] | None = None,
    mode: Mode = DEFAULT_MODE,
    environment: str | None = None,
    approval_wait: float | None = None,
    default_capability: str = DEFAULT_CAPABILITY,
) -> CrewT:
    """Gate every tool call of ``crew``'s agents by ``gate``; returns ``crew`` (changed in place).

    ``capabilities`` maps tool names to capabilities; a tool not in it is
    decided as ``default_capability`` (``"crewai.<sanitized tool name>"``).
    ``agent_ids`` maps agent roles to the agent ids the policy and the audit
    log see; by default an agent's id is its role. ``mode`` is ``"hooks"``
    (default) or ``"tools"``; see the module docstring for the difference.

    A blocked call does not stop the crew: the agent receives the decision's
    message (``"CapFence deny: <reason> [rule <id>]"``) as the tool's result.

    A held call (``require_approval``) by default gives the agent the message
    with the approval request's id at once; the identical call runs once after
    a human approved it. With ``approval_wait`` (seconds) the hook (or gated
    tool) waits that long for the human's decision in the store, then runs the
    call (approved) or gives the agent the deny / still-held message. Waiting
    holds the agent's thread (with ``akickoff``, the event loop), which is why
    it is not the default; see ``docs/adapters/crewai.md``.
    Raises :class:`capfence.CapFenceError` for an unknown mode, a crew that is
    already guarded, and, in tools mode, a crew whose tool-result cache is on
    or a tool that is not a CrewAI ``BaseTool``.
    """
    if mode not in MODES:
        raise CapFenceError(f"unknown guard_crew mode {mode!r}; use one of {', '.join(MODES)}")
    if guard_of(crew) is not None:
        raise CapFenceError("this crew is already guarded by CapFence")
    guard = CrewGuard.build(
        gate,
        capabilities=capabilities,
        mode=mode,
        agent_ids=agent_ids,
        environment=environment,
        approval_wait=approval_wait,
        default_capability=default_capability,
    )
    _warn_unknown_names(crew, capabilities or {})
    if mode == "tools":
        _gate_tools(crew, guard)
    else:
        _warn_gated_tools(crew)
    attach(crew, guard)
    _ensure_hooks(crew)
    return crew


def attach(crew: Crew, guard: CrewGuard) -> None:
    """Mark ``crew`` as guarded by ``guard`` (class swap in place; see the module docstring)."""
    factories: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = dict.fromkeys(
        KICKOFFS, _installing
    )
    factories["copy"] = _copying
    factories["_prepare_tools"] = _viewing
    crew.__class__ = gated_class(type(crew).__dict__.get(ORIGINAL_ATTR, type(crew)), factories, tag=CREW_TAG)
    set_guard(crew, guard)


def _ensure_hooks(crew: Crew) -> None:
    guard = guard_of(crew)
    if guard is not None and guard.mode == "hooks":
        hooks.install()
        _view_agents_tools(crew)


def _view_agents_tools(crew: Crew) -> None:
    """Hooks mode: the crew's agents (class swapped in place, like the crew) build their executors with views of their tools.

    ``Crew._prepare_tools`` covers the tools of the crew's own task executions;
    this covers the executors an agent builds on other paths, above all the
    work a delegation tool hands it (``agent.execute_task(task)``, with the
    agent's own tools). An agent of another, unguarded crew is not affected.
    """
    for agent in _agents(crew):
        if isinstance(agent, Agent) and not is_gated(agent):
            agent.__class__ = gated_class(
                type(agent), {"create_agent_executor": _viewing_executor}, tag=AGENT_TAG
            )


def _viewing_executor(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Agent.create_agent_executor``: with the agent's crew guarded in hooks mode, the executor gets views of the tools."""

    @functools.wraps(original)
    def create_agent_executor(self: Agent, tools: Any = None, *args: Any, **kwargs: Any) -> Any:
        guard = guard_of(self.crew)
        if guard is not None and guard.mode == "hooks":
            agent_id = guard.agent_id(self)
            given = tools if tools is not None else list(self.tools or [])
            tools = view_tools(given, lambda tool: guard.binding(agent_id, tool.name))
        return original(self, tools, *args, **kwargs)

    return create_agent_executor


def _installing(original: Callable[..., Any]) -> Callable[..., Any]:
    """A kickoff that first makes sure the hooks are registered (and ours is the last before-hook)."""
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def kickoff_async(self: Crew, *args: Any, **kwargs: Any) -> Any:
            _ensure_hooks(self)
            return await original(self, *args, **kwargs)

        return kickoff_async

    @functools.wraps(original)
    def kickoff(self: Crew, *args: Any, **kwargs: Any) -> Any:
        _ensure_hooks(self)
        return original(self, *args, **kwargs)

    return kickoff


def _copying(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Crew.copy`` builds a plain ``Crew``: guard the copy too."""

    @functools.wraps(original)
    def copy(self: Crew, *args: Any, **kwargs: Any) -> Any:
        clone = original(self, *args, **kwargs)
        guard = guard_of(self)
        if guard is not None and guard_of(clone) is None:
            attach(clone, guard)
        return clone

    return copy


def _viewing(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Crew._prepare_tools`` (the tools of one task execution): in hooks mode, views of them."""

    @functools.wraps(original)
    def _prepare_tools(self: Crew, agent: Any, task: Any, tools: Any, *args: Any, **kwargs: Any) -> Any:
        prepared = original(self, agent, task, tools, *args, **kwargs)
        guard = guard_of(self)
        if guard is None or guard.mode != "hooks":
            return prepared
        agent_id = guard.agent_id(agent)
        return view_tools(prepared, lambda tool: guard.binding(agent_id, tool.name))

    return _prepare_tools


# --- tools mode ---------------------------------------------------------------------


def _cache_on(crew: Crew) -> bool:
    return bool(crew.cache) or any(
        getattr(agent, "cache_handler", None) is not None for agent in _agents(crew)
    )


def _agents(crew: Crew) -> list[Any]:
    agents: list[Any] = list(crew.agents or [])
    if crew.manager_agent is not None:
        agents.append(crew.manager_agent)
    return agents


def _gate_tools(crew: Crew, guard: CrewGuard) -> None:
    if _cache_on(crew):
        raise CapFenceError(
            "guard_crew(mode='tools') cannot gate a crew whose tool-result cache is on: a cached answer never reaches the tool. "
            "Use the default mode='hooks', or set cache=False on the crew and its agents."
        )
    for agent in _agents(crew):
        if agent.tools:
            agent.tools = _gated(agent.tools, guard, guard.agent_id(agent))
    for task in crew.tasks:
        if task.tools:
            owner = task.agent or crew.manager_agent
            task.tools = _gated(
                task.tools, guard, guard.agent_id(owner) if owner is not None else MANAGER_ROLE
            )


def _gated(tools: Iterable[Any], guard: CrewGuard, agent_id: str) -> list[BaseTool]:
    gated: list[BaseTool] = []
    for tool in tools:
        if not isinstance(tool, BaseTool):
            raise CapFenceError(
                f"guard_crew(mode='tools') cannot gate {type(tool).__qualname__} objects; only CrewAI BaseTool"
            )
        gated.append(wrap_tool(tool, guard.binding(agent_id, tool.name)))
    return gated


def _warn_unknown_names(crew: Crew, capabilities: Mapping[str, str]) -> None:
    """A capability for a tool name no agent or task has is probably a typo (the tool then gets the default)."""
    known = {
        sanitize_tool_name(tool.name)
        for owner in (*_agents(crew), *crew.tasks)
        for tool in (owner.tools or [])
    }
    unknown = sorted(name for name in capabilities if sanitize_tool_name(name) not in known)
    if unknown:
        warnings.warn(
            f"guard_crew: no agent or task of this crew has a tool named {', '.join(map(repr, unknown))} "
            "(fine for tools CrewAI adds while running, such as delegation tools)",
            stacklevel=3,
        )


def _warn_gated_tools(crew: Crew) -> None:
    """Tools already gated one by one would be decided twice per call (by the hook and by the tool)."""
    gated = sorted(
        {
            tool.name
            for owner in (*_agents(crew), *crew.tasks)
            for tool in (owner.tools or [])
            if is_gated(tool)
        }
    )
    if gated:
        warnings.warn(
            f"guard_crew: tool(s) {', '.join(map(repr, gated))} are already gated by CapFenceTool; "
            "with the crew's hooks each of their calls is decided and recorded twice",
            stacklevel=3,
        )
