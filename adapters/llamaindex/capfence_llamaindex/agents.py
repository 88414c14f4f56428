"""Guard a whole workflow agent, or every agent of an ``AgentWorkflow``, at once.

``guard_agent(agent, gate=runtime, capabilities={...})`` gates, in place:

* every tool in ``agent.tools`` (each replaced by a gated copy; the caller's
  tool objects are not modified; plain callables in the list become a
  ``FunctionTool`` first, as LlamaIndex's own validator does);
* every tool ``agent.tool_retriever`` serves: the retriever is replaced by a
  copy of the same class whose ``retrieve``/``aretrieve`` gate each tool they
  return, so tools chosen at run time are gated too.

and returns the agent. It works in place because a workflow agent carries
run-time state that a copy would share, and so that a forgotten return value
still leaves the agent gated. Guarding again re-binds (no tool is gated twice).
Tools added to ``agent.tools`` after guarding are not gated: guard last.

``guard_workflow(workflow, ...)`` does the same for every agent in
``workflow.agents``, each under its own agent id (``agent_ids[name]``, default:
the agent's name).

Which capability a tool is evaluated under, first match wins:

1. ``capabilities[tool_name]``; keys may also be globs (``{"read_*":
   "filesystem.read"}``), exact names are tried before globs, globs in order;
2. a tool already gated with :func:`capfence.CapFenceTool` or
   :func:`capfence_llamaindex.guard` keeps its capability (it is re-bound to
   this agent's id, so each call still makes exactly one decision);
3. ``default_capability`` with ``{tool}`` replaced by the tool's name
   (characters other than letters, digits, ``_``, ``-`` and ``.`` become
   ``_``): by default ``tool.<name>``, the same convention as the LangChain
   adapter. An unmapped tool is never run ungated: under a default-deny policy
   it is denied until a rule names it.

Not reachable this way: ``AgentWorkflow``'s **hand-off tool**. The workflow
builds a fresh ``handoff`` ``FunctionTool`` on every step
(``AgentWorkflow._get_handoff_tool``) and adds it next to the agent's tools; it
is not in ``agent.tools`` and not served by a retriever, so it is neither gated
nor audited. It only records which agent speaks next in the workflow's own
store (the workflow checks the target against ``can_handoff_to``); it reaches
nothing outside the workflow. Restrict hand-offs with ``can_handoff_to``; every
tool the next agent then calls is gated under that agent's id.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.agent.workflow import AgentWorkflow, BaseWorkflowAgent
from llama_index.core.objects import ObjectRetriever
from llama_index.core.tools import BaseTool, FunctionTool
from llama_index.core.tools.types import BaseToolAsyncAdapter

from capfence.call.gate import Binding
from capfence.call.wrapping import ORIGINAL_ATTR, binding_of, gated_class, is_gated
from capfence.errors import CapFenceError
from capfence_llamaindex.tools import FRAMEWORK, tool_name, wrap_tool

if TYPE_CHECKING:
    from capfence.call.runtime import ActionRuntime
    from capfence.contracts import Gate

AgentT = TypeVar("AgentT", bound=BaseWorkflowAgent)
WorkflowT = TypeVar("WorkflowT", bound=AgentWorkflow)

DEFAULT_CAPABILITY = "tool.{tool}"
GUARD_ATTR = "__capfence_agent_guard__"
RETRIEVER_TAG = "capfence-llamaindex-retriever"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class AgentGuard:
    """How one agent's tools are gated. Built by :func:`guard_agent`."""

    gate: ActionRuntime | Gate
    agent_id: str
    capabilities: Mapping[str, str] = field(default_factory=dict)
    default_capability: str = DEFAULT_CAPABILITY
    environment: str | None = None
    approval_wait: float | None = None
    input_required_on_approval: bool = True
    """A held call inside the workflow asks a human through workflow events (:mod:`capfence_llamaindex.approvals`)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> AgentGuard:
        """Immutable, and the gate is a shared service: a deep copy of a guarded retriever shares the guard."""
        return self

    def capability(self, tool: BaseTool) -> str:
        """The capability ``tool`` is evaluated under (see the module docstring)."""
        name = tool_name(tool)
        if name in self.capabilities:
            return self.capabilities[name]
        for pattern, capability in self.capabilities.items():
            if _GLOB.search(pattern) and fnmatch.fnmatchcase(name, pattern):
                return capability
        if is_gated(tool):
            try:
                return binding_of(tool).capability
            except CapFenceError:
                pass
        return self.default_capability.format(tool=_UNSAFE.sub("_", name))

    def gate_tool(self, obj: Any) -> Any:
        """``obj`` gated for this agent; anything that cannot be called as a tool is returned as is."""
        tool = as_tool(obj)
        if tool is None:
            return obj
        earlier = binding_of(tool) if is_gated(tool) else None
        binding = Binding(
            gate=self.gate,
            agent_id=self.agent_id,
            capability=self.capability(tool),
            framework=FRAMEWORK,
            tool=tool_name(tool),
            environment=self.environment or (earlier.environment if earlier else None),
            approval_wait=self.approval_wait
            if self.approval_wait is not None
            else (earlier.approval_wait if earlier else None),
        )
        return wrap_tool(tool, binding, input_required_on_approval=self.input_required_on_approval)

    def gate_tools(self, objects: Iterable[Any]) -> list[Any]:
        return [self.gate_tool(obj) for obj in objects]


def as_tool(obj: Any) -> BaseTool | None:
    """``obj`` as the LlamaIndex tool an agent would make of it, or ``None`` if it cannot be called."""
    if isinstance(obj, BaseTool):
        return obj
    if not callable(obj):
        return None
    if hasattr(obj, "metadata"):  # duck-typed tool: agents run it through BaseToolAsyncAdapter
        return BaseToolAsyncAdapter(obj)
    return FunctionTool.from_defaults(obj)


def guard_agent(
    agent: AgentT,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str | None = None,
    capabilities: Mapping[str, str] | None = None,
    default_capability: str = DEFAULT_CAPABILITY,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
) -> AgentT:
    """Gate every tool of ``agent`` (its ``tools`` and its ``tool_retriever``) in place; returns ``agent``.

    ``agent_id`` names the agent in the policy and the audit log (default: the
    agent's ``name``). See the module docstring for how capabilities are chosen.
    ``input_required_on_approval`` (default True): a held call writes an
    ``InputRequiredEvent`` carrying the approval request and waits for the
    matching ``HumanResponseEvent``, then the store decides
    (:mod:`capfence_llamaindex.approvals`); False: the model is told at once.
    """
    guard = AgentGuard(
        gate=gate,
        agent_id=agent_id or agent.name,
        capabilities=dict(capabilities or {}),
        default_capability=default_capability,
        environment=environment,
        approval_wait=approval_wait,
        input_required_on_approval=input_required_on_approval,
    )
    if agent.tools:
        agent.tools = guard.gate_tools(agent.tools)
    if agent.tool_retriever is not None:
        agent.tool_retriever = guard_retriever(agent.tool_retriever, guard)
    return agent


def guard_workflow(
    workflow: WorkflowT,
    *,
    gate: ActionRuntime | Gate,
    agent_ids: Mapping[str, str] | None = None,
    capabilities: Mapping[str, str] | None = None,
    default_capability: str = DEFAULT_CAPABILITY,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
) -> WorkflowT:
    """:func:`guard_agent` for every agent of an ``AgentWorkflow``, in place; returns ``workflow``.

    ``agent_ids`` maps agent names to agent ids (default: each agent's name).
    The hand-off tool is not gated (see the module docstring).
    """
    ids = agent_ids or {}
    for name, agent in workflow.agents.items():
        guard_agent(
            agent,
            gate=gate,
            agent_id=ids.get(name, name),
            capabilities=capabilities,
            default_capability=default_capability,
            environment=environment,
            approval_wait=approval_wait,
            input_required_on_approval=input_required_on_approval,
        )
    return workflow


def guard_retriever(retriever: ObjectRetriever[Any], guard: AgentGuard) -> ObjectRetriever[Any]:
    """A copy of ``retriever`` (same class) whose ``retrieve``/``aretrieve`` return gated tools."""
    base: type[ObjectRetriever[Any]] = type(retriever).__dict__.get(ORIGINAL_ATTR, type(retriever))
    cls = gated_class(base, {"retrieve": _gated_retrieve, "aretrieve": _gated_aretrieve}, tag=RETRIEVER_TAG)
    clone = copy.copy(retriever)
    clone.__class__ = cls
    object.__setattr__(clone, GUARD_ATTR, guard)
    return clone


def _guard_of(retriever: object) -> AgentGuard:
    guard = getattr(retriever, "__dict__", {}).get(GUARD_ATTR)
    if not isinstance(guard, AgentGuard):
        raise CapFenceError(f"{type(retriever).__qualname__} object has no CapFence agent guard")
    return guard


def _gated_retrieve(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def retrieve(self: ObjectRetriever[Any], *args: Any, **kwargs: Any) -> list[Any]:
        guard = _guard_of(self)
        return guard.gate_tools(original(self, *args, **kwargs))

    return retrieve


def _gated_aretrieve(original: Callable[..., Awaitable[list[Any]]]) -> Callable[..., Awaitable[list[Any]]]:
    async def aretrieve(self: ObjectRetriever[Any], *args: Any, **kwargs: Any) -> list[Any]:
        guard = _guard_of(self)
        return guard.gate_tools(await original(self, *args, **kwargs))

    return aretrieve
