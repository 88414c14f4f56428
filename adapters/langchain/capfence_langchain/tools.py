"""Gate one LangChain tool: what ``CapFenceTool(tool=<BaseTool>, ...)`` returns.

The gated tool is a shallow copy of the caller's tool whose class is a cached
subclass of the tool's own class (:func:`capfence.call.wrapping.gated_class`), so it
*is* still that class: same name, description, ``args_schema`` (what
``convert_to_openai_tool`` shows a model), ``return_direct``,
``response_format``, ``handle_tool_error``, callbacks, tags and metadata. The
caller's tool is not modified.

``run`` and ``arun`` are overridden, and ``_to_args_and_kwargs``. In
langchain-core 1.7 every public entry point reaches exactly one of ``run`` and
``arun``: ``invoke``/``stream``/``batch`` call ``invoke`` -> ``run``,
``ainvoke``/``astream``/``abatch`` call ``arun`` (or, for a sync-only
``StructuredTool``, ``invoke`` -> ``run`` in a worker thread). ``_run``/``_arun``
are never wrapped because ``run`` inspects their signatures (``run_manager``,
``config``, injected arguments).

What the policy sees (:mod:`capfence_langchain.arguments`): the arguments the
body will be called with, parsed once by the tool's own schema (defaults
filled in, values coerced) before LangChain's ``run`` starts, without the
arguments LangChain injects (``ToolRuntime``, ``InjectedState``,
``InjectedStore``, ``InjectedToolCallId``, any ``InjectedToolArg``). LangChain's
``run`` then hands the body exactly that parse (the overridden
``_to_args_and_kwargs``), after checking it still encodes to what was decided.
An input the schema rejects is not decided: LangChain raises or handles the
validation error as it always does, and the body does not run.

A gated tool run by :class:`~capfence_langchain.CapFenceMiddleware`'s handler
carries the middleware's :class:`~capfence_langchain.tickets.Ticket`: it runs
on the middleware's decision only for exactly the decided arguments, once;
otherwise it decides again under the middleware's identity (and then under
its own, if that is another one).

A blocked call:

* with a tool-call id (inside an agent or a ``ToolNode``): returns
  ``ToolMessage(status="error", tool_call_id=...)`` whose content is the
  decision's message (action, reason, rule id), so the model can read it and
  the agent carries on; for a ``return_direct`` tool that message ends the run;
* held (``require_approval``) inside a graph run that has a checkpointer:
  pauses the run with a LangGraph ``interrupt`` carrying the approval request,
  and is decided again from the store on resume
  (:mod:`capfence_langchain.interrupts`); :func:`approval_interrupts` turns
  this off for one gated tool (it then returns the error ``ToolMessage``);
* without one (``tool.invoke({...})``): raises
  :class:`capfence_langchain.ToolCallDenied` (a ``capfence.ToolCallDenied`` and
  a LangChain ``ToolException``), or, when the tool sets ``handle_tool_error``,
  returns what LangChain would return for a handled ``ToolException``.

Blocked calls do not reach LangChain's callbacks (``on_tool_start``); the
audit log is the record of them.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding, tool_body
from capfence.call.gated_attributes import install
from capfence.call.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class, is_gated
from capfence.errors import CapFenceError
from capfence_langchain import conversions
from capfence_langchain.arguments import (
    ArgumentsChanged,
    Parsed,
    Snapshot,
    checked_to_args_and_kwargs,
    parse,
    payload_of,
    prepared,
)
from capfence_langchain.errors import blocked_error
from capfence_langchain.interrupts import hold, should_interrupt
from capfence_langchain.tickets import Ticket

FRAMEWORK = "langchain"
TAG = "capfence-langchain"
INTERRUPT_ATTR = "__capfence_interrupt_on_approval__"
TICKET_ATTR = "__capfence_langchain_ticket__"
MAX_ATTEMPTS = 3
"""How often a call whose arguments keep changing between decision and body is decided before it is denied."""


def wrap_tool(tool: BaseTool, binding: Binding) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice)."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    methods = {"run": _gated_run, "arun": _gated_arun, "_to_args_and_kwargs": checked_to_args_and_kwargs}
    cls = gated_class(base, methods, tag=TAG)
    # copies and conversions (func, configurable_fields, ...): capfence_langchain.conversions
    install(cls, conversions.extension)
    return gate_object(tool, cls, binding)


def approval_interrupts(tool: BaseTool, enabled: bool) -> BaseTool:
    """A copy of the gated ``tool`` that does (True, the default) or does not pause a checkpointed graph run when held."""
    binding_of(tool)  # raises for a tool that is not gated
    copy = tool.model_copy()
    object.__setattr__(copy, INTERRUPT_ATTR, bool(enabled))
    return copy


def with_ticket(tool: BaseTool, ticket: Ticket) -> BaseTool:
    """A copy of ``tool`` for one call run by the middleware's handler, carrying the middleware's ticket.

    An ungated tool is gated under the middleware's binding; a gated one keeps
    its own binding, and a call is then decided under both identities (once, if
    they are the same).
    """
    handed = copy.copy(tool) if is_gated(tool) else wrap_tool(tool, ticket.binding)
    object.__setattr__(handed, TICKET_ATTR, ticket)
    return handed


def block_result(tool: BaseTool, decision: Decision, tool_call_id: str | None) -> Any:
    """What a blocked call returns (or raises); see the module docstring."""
    if tool_call_id is not None:
        return ToolMessage(
            content=decision.message(), tool_call_id=tool_call_id, name=tool.name, status="error"
        )
    error = blocked_error(decision)
    flag = tool.handle_tool_error
    if not flag:
        raise error
    if isinstance(flag, bool):
        return decision.message()
    if isinstance(flag, str):
        return flag
    return flag(error)


def call_key(binding: Binding, tool_call_id: str) -> int:
    """The reentrancy key of one agent tool call under one identity (gate, agent, capability, tool)."""
    return hash(("capfence-langchain-call", tool_call_id, *identity(binding)))


def identity(binding: Binding) -> tuple[object, ...]:
    """Who decides a call: the same gate, agent, capability and tool name decide it the same way."""
    return (id(binding.gate), binding.agent_id, binding.capability, binding.tool)


@dataclasses.dataclass(frozen=True)
class _Guard:
    """One identity a call is decided under, with how a held call is answered and the middleware's ticket, if any."""

    binding: Binding
    interrupts: bool
    ticket: Ticket | None = None

    def key(self, tool: BaseTool) -> int:
        return call_key(self.binding, self.binding.call_id or f"run-{id(tool)}")

    def on_block(self, tool: BaseTool, payload: Mapping[str, Any], decision: Decision) -> Any:
        """A held call in a checkpointed graph run interrupts it; anything else is :func:`block_result`."""
        call_id = self.binding.call_id
        if call_id is not None and should_interrupt(decision, call_id, self.interrupts):
            return hold(decision, self.binding, payload, call_id, tool.name)
        return block_result(tool, decision, call_id)


def _guards(tool: BaseTool, tool_call_id: str | None) -> list[_Guard]:
    """The middleware's guard (if the tool carries its ticket), then the tool's own unless it is the same identity."""
    own_binding = binding_of(tool)
    own = _Guard(
        dataclasses.replace(own_binding, call_id=tool_call_id), tool.__dict__.get(INTERRUPT_ATTR, True)
    )
    ticket = tool.__dict__.get(TICKET_ATTR)
    if not isinstance(ticket, Ticket):
        return [own]
    outer = _Guard(
        dataclasses.replace(ticket.binding, call_id=tool_call_id), ticket.interrupt_on_approval, ticket
    )
    return [outer] if identity(ticket.binding) == identity(own_binding) else [outer, own]


def _through(
    tool: BaseTool, guards: list[_Guard], payload: Mapping[str, Any], body: Callable[[], Any]
) -> Any:
    """Decide ``payload`` under each guard in turn (outermost first), then run ``body``."""
    if not guards:
        return body()
    guard, rest = guards[0], guards[1:]

    def inner() -> Any:
        return _through(tool, rest, payload, body)

    taken = guard.ticket.take(guard.binding.call_id, payload) if guard.ticket is not None else None
    if taken is not None:
        return guard.binding.run_decided(guard.key(tool), *taken, inner)
    return guard.binding.call(
        guard.key(tool), payload, inner, lambda decision: guard.on_block(tool, payload, decision)
    )


async def _athrough(
    tool: BaseTool, guards: list[_Guard], payload: Mapping[str, Any], body: Callable[[], Awaitable[Any]]
) -> Any:
    """Async :func:`_through`."""
    if not guards:
        return await body()
    guard, rest = guards[0], guards[1:]

    async def inner() -> Any:
        return await _athrough(tool, rest, payload, body)

    taken = guard.ticket.take(guard.binding.call_id, payload) if guard.ticket is not None else None
    if taken is not None:
        return await guard.binding.arun_decided(guard.key(tool), *taken, inner)
    return await guard.binding.acall(
        guard.key(tool), payload, inner, lambda decision: guard.on_block(tool, payload, decision)
    )


def _kept_changing(tool: BaseTool) -> str:
    """Why a call whose arguments changed after every decision is denied (the deny is recorded, with the last ones)."""
    return f"the arguments of {tool.name!r} kept changing after each decision ({MAX_ATTEMPTS} times)"


def _gated_run(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(
        self: BaseTool,
        tool_input: str | dict[str, Any],
        *args: Any,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            guards = _guards(self, tool_call_id)
        except CapFenceError as exc:  # a gated class without a binding denies
            return block_result(self, failure(str(exc)), tool_call_id)

        def langchain_run(parsed: Parsed | BaseException, decided: Snapshot | None = None) -> Any:
            with prepared(self, tool_input, parsed, decided):
                return original(self, tool_input, *args, tool_call_id=tool_call_id, **kwargs)

        try:
            parsed = parse(self, tool_input, tool_call_id)
        except Exception as exc:  # noqa: BLE001 - the schema rejects the input: LangChain answers as it always does
            return langchain_run(exc)
        for _ in range(MAX_ATTEMPTS):
            payload = payload_of(self, tool_input, parsed)
            decided = Snapshot.of(payload)

            def body() -> Any:
                with tool_body():
                    return langchain_run(parsed, decided)  # noqa: B023 - called within this iteration

            try:
                return _through(self, guards, payload, body)
            except ArgumentsChanged:
                continue
        decision, _ = guards[0].binding.fail_closed(payload, _kept_changing(self))
        return block_result(self, decision, guards[0].binding.call_id)

    return run


def _gated_arun(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def arun(
        self: BaseTool,
        tool_input: str | dict[str, Any],
        *args: Any,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            guards = _guards(self, tool_call_id)
        except CapFenceError as exc:
            return block_result(self, failure(str(exc)), tool_call_id)

        async def langchain_arun(parsed: Parsed | BaseException, decided: Snapshot | None = None) -> Any:
            with prepared(self, tool_input, parsed, decided, asynchronous=True):
                return await original(self, tool_input, *args, tool_call_id=tool_call_id, **kwargs)

        try:
            parsed = parse(self, tool_input, tool_call_id)
        except Exception as exc:  # noqa: BLE001 - as in run
            return await langchain_arun(exc)
        for _ in range(MAX_ATTEMPTS):
            payload = payload_of(self, tool_input, parsed, asynchronous=True)
            decided = Snapshot.of(payload)

            async def body() -> Any:
                with tool_body():
                    return await langchain_arun(parsed, decided)  # noqa: B023 - awaited within this iteration

            try:
                return await _athrough(self, guards, payload, body)
            except ArgumentsChanged:
                continue
        decision, _ = await asyncio.to_thread(guards[0].binding.fail_closed, payload, _kept_changing(self))
        return block_result(self, decision, guards[0].binding.call_id)

    return arun
