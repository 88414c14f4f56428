"""Guard a whole LangChain v1 agent at once: ``create_agent(..., middleware=[CapFenceMiddleware(...)])``.

Every tool call the agent makes passes :meth:`CapFenceMiddleware.wrap_tool_call`
(sync ``invoke``) or :meth:`CapFenceMiddleware.awrap_tool_call` (async
``ainvoke``) before the tool runs, whatever the tool is: tools given to
``create_agent``, tools registered by other middleware, tools added later,
and names the model made up.

What the policy sees: the arguments the tool's body will be called with, the
model's ``request.tool_call["args"]`` parsed by the tool's own schema exactly
as its ``run`` parses them (defaults filled in, values coerced, aliases
resolved; :mod:`capfence_langchain.arguments`), without the arguments
LangChain injects. Arguments that do not parse without what the ``ToolNode``
injects later (a schema with ``InjectedState``, ``ToolRuntime``, ...) or that
the schema rejects are not decided here: the tool's ``run`` decides them,
under this middleware's identity, once everything is in place; a rejected
input gets LangChain's own validation error and never runs. A name the model
made up (no tool) is decided on the model's arguments as they are.

Where it sits: the middleware decides, then calls the handler with the tool
replaced by a copy that carries the decision (a :class:`~capfence_langchain.tickets.Ticket`):
``CapFenceMiddleware`` -> middleware listed after it -> ``ToolNode`` (injects
state, store, runtime) -> ``tool.invoke`` -> ``tool.run`` of the copy, which
parses and checks the arguments against the decision right before the body.
The first execution with exactly the decided arguments runs on the decision;
arguments a later middleware rewrote, or a second execution (a retry), are
decided again as a new record, never run on the stale decision.

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

Each decision is recorded with the call's ``tool_call_id``; every execution
has a decision record of its own. When LangGraph runs the same tool call
again (resuming after an interrupt, replaying a checkpoint) and it is blocked
again the same way, the recorded blocked decision is reused instead of
written twice; a call that runs again is decided and recorded again. If the
tools are also wrapped with :func:`capfence.CapFenceTool` under the same
agent id and capability, the gated tool run by this middleware is not decided
a second time for the execution the middleware decided: one record per
execution. Under another identity the tool also decides on its own.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

try:
    from langchain.agents.middleware import AgentMiddleware
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "CapFenceMiddleware needs LangChain v1 agents: pip install 'langchain>=1,<2' (capfence-langchain's [agent] extra)"
    ) from exc

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.wrapping import binding_of
from capfence.errors import CapFenceError
from capfence_langchain.arguments import Snapshot, passed_through, tool_payload
from capfence_langchain.interrupts import hold, should_interrupt
from capfence_langchain.tickets import Ticket
from capfence_langchain.tools import FRAMEWORK, call_key, with_ticket

if TYPE_CHECKING:
    from langchain.agents.middleware import ToolCallRequest
    from langgraph.types import Command

    from capfence.call.runtime import ActionRuntime
    from capfence.contracts import Gate

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
            gate=self.gate,
            agent_id=self.agent_id,
            capability=self.capability_for(name, request.tool),
            framework=FRAMEWORK,
            tool=name,
            environment=self.environment,
            approval_wait=self.approval_wait,
            call_id=request.tool_call.get("id"),
        )

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        """Decide the call; if the policy allows it (or warns), run ``handler`` with a tool that checks it again."""
        binding, tool = self.binding(request), request.tool
        if not isinstance(tool, BaseTool):  # a name the model made up: LangChain answers it with an error
            payload = _model_payload(request)
            return binding.call(
                _key(binding),
                payload,
                lambda: handler(request),
                partial(self._blocked, request, binding, payload),
            )
        ticket, parsed = Ticket(binding, self.interrupt_on_approval), _parsed_payload(tool, request)
        if parsed is not None:
            decided = Snapshot.of(parsed)
            decision, view = binding.decide(parsed)
            if not decision.allowed:
                return self._blocked(request, binding, parsed, decision)
            ticket.grant(decision, view, decided)
        try:
            result = handler(request.override(tool=with_ticket(tool, ticket)))
        except BaseException as exc:
            ticket.settle(exc)
            raise
        ticket.settle(None)
        return result

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async :meth:`wrap_tool_call`; the decision and audit writes run off the event loop."""
        binding, tool = self.binding(request), request.tool
        if not isinstance(tool, BaseTool):
            payload = _model_payload(request)
            return await binding.acall(
                _key(binding),
                payload,
                lambda: handler(request),
                partial(self._blocked, request, binding, payload),
            )
        ticket, parsed = (
            Ticket(binding, self.interrupt_on_approval),
            _parsed_payload(tool, request, asynchronous=True),
        )
        if parsed is not None:
            decided = Snapshot.of(parsed)
            decision, view = await asyncio.to_thread(binding.decide, parsed)
            if not decision.allowed:
                return self._blocked(request, binding, parsed, decision)
            ticket.grant(decision, view, decided)
        try:
            result = await handler(request.override(tool=with_ticket(tool, ticket)))
        except BaseException as exc:
            await asyncio.to_thread(ticket.settle, exc)
            raise
        await asyncio.to_thread(ticket.settle, None)
        return result

    def _blocked(
        self, request: ToolCallRequest, binding: Binding, payload: Mapping[str, Any], decision: Decision
    ) -> ToolMessage:
        """The error ``ToolMessage`` for a blocked call; a held one first interrupts the run when it can."""
        call = request.tool_call
        call_id = call.get("id")
        if call_id and should_interrupt(decision, call_id, self.interrupt_on_approval):
            return hold(decision, binding, payload, call_id, call.get("name"))
        return _blocked(request, decision)


def _key(binding: Binding) -> int:
    """The reentrancy key of a call no tool answers (:func:`capfence_langchain.tools.call_key`)."""
    return call_key(binding, binding.call_id) if binding.call_id else id(object())


def _model_payload(request: ToolCallRequest) -> dict[str, Any]:
    """The model's arguments as they are (for a tool call no tool answers)."""
    args = request.tool_call.get("args")
    return dict(args) if isinstance(args, Mapping) else {"input": args}


def _parsed_payload(
    tool: BaseTool, request: ToolCallRequest, *, asynchronous: bool = False
) -> dict[str, Any] | None:
    """The payload the tool's own ``run`` will decide, if the model's arguments parse without what the ToolNode injects.

    Model-supplied values for injected arguments are dropped first, as the
    ``ToolNode`` drops them. None when the schema rejects the arguments or
    needs injected values (``InjectedState``, ``ToolRuntime``, ...): then the
    tool's ``run`` decides under the middleware's binding, with everything in place.
    """
    args = request.tool_call.get("args")
    try:
        # what the ToolNode leaves: injected values dropped, LangChain's own names kept
        if isinstance(args, Mapping):
            tool_input = {
                **tool._filter_injected_args(dict(args)),
                **passed_through(tool, args, asynchronous),
            }
        else:
            tool_input = args
        return tool_payload(tool, tool_input, request.tool_call.get("id"), asynchronous=asynchronous)
    except Exception:  # noqa: BLE001 - decided at the innermost point instead
        return None


def _blocked(request: ToolCallRequest, decision: Decision) -> ToolMessage:
    call = request.tool_call
    return ToolMessage(
        content=decision.message(), tool_call_id=call.get("id") or "", name=call.get("name"), status="error"
    )
