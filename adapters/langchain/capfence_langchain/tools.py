"""Gate one LangChain tool: what ``CapFenceTool(tool=<BaseTool>, ...)`` returns.

The gated tool is a shallow copy of the caller's tool whose class is a cached
subclass of the tool's own class (:func:`capfence.wrapping.gated_class`), so it
*is* still that class: same name, description, ``args_schema`` (what
``convert_to_openai_tool`` shows a model), ``return_direct``,
``response_format``, ``handle_tool_error``, callbacks, tags and metadata. The
caller's tool is not modified.

Only ``run`` and ``arun`` are overridden. In langchain-core 1.7 every public
entry point reaches exactly one of them: ``invoke``/``stream``/``batch`` call
``invoke`` -> ``run``, ``ainvoke``/``astream``/``abatch`` call ``arun`` (or, for
a sync-only ``StructuredTool``, ``invoke`` -> ``run`` in a worker thread).
``_run``/``_arun`` are never wrapped because ``run`` inspects their signatures
(``run_manager``, ``config``, injected arguments).

What the policy sees: the model's arguments with LangChain's injected
arguments removed (``ToolRuntime``, ``InjectedState``, ``InjectedStore``,
``InjectedToolCallId``, any ``InjectedToolArg``), as LangChain's own callbacks
see them. A plain string input to a one-argument tool is shown under that
argument's name; to any other tool under ``"input"``.

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

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from capfence.decision import Decision, failure
from capfence.errors import CapFenceError
from capfence.gate import Binding, tool_body
from capfence.gated_attributes import install
from capfence.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class
from capfence_langchain import conversions
from capfence_langchain.errors import blocked_error
from capfence_langchain.interrupts import hold, should_interrupt

FRAMEWORK = "langchain"
TAG = "capfence-langchain"
INTERRUPT_ATTR = "__capfence_interrupt_on_approval__"


def wrap_tool(tool: BaseTool, binding: Binding) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice)."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    cls = gated_class(base, {"run": _gated_run, "arun": _gated_arun}, tag=TAG)
    install(cls, conversions.extension)  # copies and conversions (func, configurable_fields, ...): capfence_langchain.conversions
    return gate_object(tool, cls, binding)


def approval_interrupts(tool: BaseTool, enabled: bool) -> BaseTool:
    """A copy of the gated ``tool`` that does (True, the default) or does not pause a checkpointed graph run when held."""
    binding_of(tool)  # raises for a tool that is not gated
    copy = tool.model_copy()
    object.__setattr__(copy, INTERRUPT_ATTR, bool(enabled))
    return copy


def tool_payload(tool: BaseTool, tool_input: str | dict[str, Any]) -> dict[str, Any]:
    """What the policy sees and the audit log records for one call (see the module docstring)."""
    if isinstance(tool_input, dict):
        return tool._filter_injected_args(tool_input)
    names = _argument_names(tool)
    return {names[0] if len(names) == 1 else "input": tool_input}


def _argument_names(tool: BaseTool) -> list[str]:
    try:
        schema = tool.tool_call_schema
        if isinstance(schema, dict):
            return list(schema.get("properties", {}))
        fields = getattr(schema, "model_fields", None) or getattr(schema, "__fields__", {})
        return list(fields)
    except Exception:  # noqa: BLE001 - an odd schema only changes the payload's key
        return []


def block_result(tool: BaseTool, decision: Decision, tool_call_id: str | None) -> Any:
    """What a blocked call returns (or raises); see the module docstring."""
    if tool_call_id is not None:
        return ToolMessage(content=decision.message(), tool_call_id=tool_call_id, name=tool.name, status="error")
    error = blocked_error(decision)
    flag = tool.handle_tool_error
    if not flag:
        raise error
    if isinstance(flag, bool):
        return decision.message()
    if isinstance(flag, str):
        return flag
    return flag(error)


def _on_block(tool: BaseTool, binding: Binding, payload: dict[str, Any], decision: Decision, tool_call_id: str | None) -> Any:
    """A held call in a checkpointed graph run interrupts it; anything else is :func:`block_result`."""
    if tool_call_id is not None and should_interrupt(decision, tool_call_id, tool.__dict__.get(INTERRUPT_ATTR, True)):
        return hold(decision, binding, payload, tool_call_id, tool.name)
    return block_result(tool, decision, tool_call_id)


def call_key(binding: Binding, tool_call_id: str) -> int:
    """The reentrancy key of one agent tool call under one identity (gate, agent, capability, tool).

    The middleware and a gated tool use the same key for the same call, so a
    gated tool run by the middleware's handler under the same identity is not
    decided a second time: the middleware's decision (and, for a held call, the
    approval it consumed) covers it. Under another identity it is decided on its own.
    """
    return hash(("capfence-langchain-call", id(binding.gate), tool_call_id, binding.agent_id, binding.capability, binding.tool))


def _call_binding(tool: BaseTool, tool_call_id: str | None) -> Binding:
    binding = binding_of(tool)
    return dataclasses.replace(binding, call_id=tool_call_id) if tool_call_id else binding


def _gated_run(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: BaseTool, tool_input: str | dict[str, Any], *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        try:
            binding = _call_binding(self, tool_call_id)
        except CapFenceError as exc:  # a gated class without a binding denies
            return block_result(self, failure(str(exc)), tool_call_id)

        def body() -> Any:
            with tool_body():
                return original(self, tool_input, *args, tool_call_id=tool_call_id, **kwargs)

        payload = tool_payload(self, tool_input)
        key = call_key(binding, tool_call_id) if tool_call_id else id(self)
        return binding.call(key, payload, body, lambda decision: _on_block(self, binding, payload, decision, tool_call_id))

    return run


def _gated_arun(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def arun(self: BaseTool, tool_input: str | dict[str, Any], *args: Any, tool_call_id: str | None = None, **kwargs: Any) -> Any:
        try:
            binding = _call_binding(self, tool_call_id)
        except CapFenceError as exc:
            return block_result(self, failure(str(exc)), tool_call_id)

        async def body() -> Any:
            with tool_body():
                return await original(self, tool_input, *args, tool_call_id=tool_call_id, **kwargs)

        payload = tool_payload(self, tool_input)
        key = call_key(binding, tool_call_id) if tool_call_id else id(self)
        return await binding.acall(key, payload, body, lambda decision: _on_block(self, binding, payload, decision, tool_call_id))

    return arun
