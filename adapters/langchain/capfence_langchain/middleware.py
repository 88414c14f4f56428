"""Guard a whole LangChain v1 agent at once: ``create_agent(..., middleware=[CapFenceMiddleware(...)])``.

Every tool call the agent makes passes :meth:`CapFenceMiddleware.wrap_tool_call`
(sync ``invoke``) or :meth:`CapFenceMiddleware.awrap_tool_call` (async
``ainvoke``) before the tool runs, whatever the tool is: tools given to
``create_agent``, tools registered by other middleware, tools added later,
and names the model made up. The policy sees the model's arguments
(``request.tool_call["args"]``; LangChain injects ``ToolRuntime``, state and
store only after this point).

Which capability a call is evaluated under, first match wins:

1. ``capabilities[tool_name]``: the explicit map, e.g. ``{"run_shell": "shell.execute"}``.
   Keys may also be globs (``{"read_*": "filesystem.read"}``); exact names are
   tried before globs, globs in the order given.
2. A tool that was wrapped with :func:`capfence.CapFenceTool` keeps the
   capability it was wrapped with.
3. The naming convention: ``default_capability`` with ``{tool}`` replaced by
   the tool's name, characters other than letters, digits, ``_``, ``-`` and
   ``.`` turned into ``_``. The default is ``"tool.{tool}"``, so an unmapped
   tool ``send_email`` is evaluated as ``tool.send_email``. An unmapped tool is
   never run ungated: under a default-deny policy it is denied until a rule
   names it (``capability: tool.send_email``, or ``tool.*`` to observe them all).

A blocked call returns ``ToolMessage(status="error", tool_call_id=<the call's id>)``
whose content is the decision's message, so the model reads why and the agent
carries on (a blocked ``return_direct`` tool ends the run with that message).

A held call (``require_approval``) in an agent that has a checkpointer pauses
the run with a LangGraph ``interrupt`` carrying the approval request
(:mod:`capfence_langchain.interrupts`); after a human decides in CapFence's
store, ``agent.invoke(Command(resume=...), config)`` resumes it and the call is
decided again from the store: approved, it runs once; denied, expired or still
pending, the model gets an error ``ToolMessage``. Without a checkpointer (or
with ``interrupt_on_approval=False``) the model gets, at once, the error
``ToolMessage`` naming the request.

Each decision is recorded with the call's ``tool_call_id``. When LangGraph
runs the same tool call again (resuming after an interrupt, replaying a
checkpoint) and the policy decides it the same way, the recorded decision is
reused instead of written twice. If the tools are also wrapped with
:func:`capfence.CapFenceTool` under the same agent id and capability, the
gated tool run by this middleware for that call is not decided again: the
middleware's decision (and an approval it consumed) covers it, so there is
one decision record per call. Under another identity the tool decides on its own.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage

try:
    from langchain.agents.middleware import AgentMiddleware
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("CapFenceMiddleware needs LangChain v1 agents: pip install 'capfence-langchain[agent]'") from exc

from capfence.decision import Decision
from capfence.errors import CapFenceError
from capfence.gate import Binding
from capfence.wrapping import binding_of
from capfence_langchain.interrupts import hold, should_interrupt
from capfence_langchain.tools import FRAMEWORK, call_key

if TYPE_CHECKING:
    from langchain.agents.middleware import ToolCallRequest
    from langgraph.types import Command

    from capfence.gate import Gate
    from capfence.runtime import ActionRuntime

DEFAULT_CAPABILITY = "tool.{tool}"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class CapFenceMiddleware(AgentMiddleware):
    """Agent middleware that puts every tool call of a ``create_agent`` agent behind a CapFence policy.

    ``gate`` is an :class:`~capfence.ActionRuntime`; ``agent_id`` names the agent
    in the policy and the audit log; ``capabilities`` maps tool names to
    capabilities; ``default_capability`` names the capability of every other
    tool (see the module docstring for the whole rule). ``environment``
    overrides the runtime's; ``approval_wait`` is how many seconds a
    ``require_approval`` call waits for a human before the model is told it is
    held (default: it is told at once; see :class:`capfence.CapFenceTool`).
    ``interrupt_on_approval`` (default True): a call still held pauses an agent
    that has a checkpointer with a LangGraph ``interrupt`` (see the module
    docstring); False: the model is told at once, checkpointer or not.
    """

    def __init__(
        self,
        *,
        gate: ActionRuntime | Gate,
        agent_id: str,
        capabilities: Mapping[str, str] | None = None,
        default_capability: str = DEFAULT_CAPABILITY,
        environment: str | None = None,
        approval_wait: float | None = None,
        interrupt_on_approval: bool = True,
    ) -> None:
        super().__init__()
        if not agent_id:
            raise CapFenceError("CapFenceMiddleware needs a non-empty agent_id")
        if not default_capability:
            raise CapFenceError("CapFenceMiddleware needs a non-empty default_capability")
        self.gate = gate
        self.agent_id = agent_id
        self.capabilities = dict(capabilities or {})
        self.default_capability = default_capability
        self.environment = environment
        self.approval_wait = approval_wait
        self.interrupt_on_approval = interrupt_on_approval

    def capability_for(self, tool_name: str, tool: object | None = None) -> str:
        """The capability a call of ``tool_name`` is evaluated under."""
        explicit = self.capabilities.get(tool_name)
        if explicit is not None:
            return explicit
        for pattern, capability in self.capabilities.items():
            if fnmatch.fnmatchcase(tool_name, pattern):
                return capability
        if tool is not None:
            try:
                return binding_of(tool).capability
            except CapFenceError:
                pass
        return self.default_capability.replace("{tool}", _UNSAFE.sub("_", tool_name) or "_")

    def binding(self, request: ToolCallRequest) -> Binding:
        """The identity one tool call is decided under."""
        name = str(request.tool_call.get("name") or "")
        return Binding(
            gate=self.gate, agent_id=self.agent_id, capability=self.capability_for(name, request.tool),
            framework=FRAMEWORK, tool=name, environment=self.environment, approval_wait=self.approval_wait,
            call_id=request.tool_call.get("id"),
        )

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        """Decide the call; run ``handler`` only if the policy allows it (or warns)."""
        binding, payload = self.binding(request), _payload(request)
        return binding.call(_key(binding), payload, lambda: handler(request), lambda d: self._blocked(request, binding, payload, d))

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]]
    ) -> ToolMessage | Command[Any]:
        """Async :meth:`wrap_tool_call`; the decision and audit write run off the event loop."""
        binding, payload = self.binding(request), _payload(request)
        return await binding.acall(_key(binding), payload, lambda: handler(request), lambda d: self._blocked(request, binding, payload, d))

    def _blocked(self, request: ToolCallRequest, binding: Binding, payload: Mapping[str, Any], decision: Decision) -> ToolMessage:
        """The error ``ToolMessage`` for a blocked call; a held one first interrupts the run when it can."""
        call = request.tool_call
        call_id = call.get("id")
        if call_id and should_interrupt(decision, call_id, self.interrupt_on_approval):
            return hold(decision, binding, payload, call_id, call.get("name"))
        return _blocked(request, decision)


def _key(binding: Binding) -> int:
    """The call's reentrancy key, shared with a gated tool of the same identity (:func:`capfence_langchain.tools.call_key`)."""
    return call_key(binding, binding.call_id) if binding.call_id else id(object())


def _payload(request: ToolCallRequest) -> dict[str, Any]:
    args = request.tool_call.get("args")
    return dict(args) if isinstance(args, Mapping) else {"input": args}


def _blocked(request: ToolCallRequest, decision: Decision) -> ToolMessage:
    call = request.tool_call
    return ToolMessage(content=decision.message(), tool_call_id=call.get("id") or "", name=call.get("name"), status="error")
