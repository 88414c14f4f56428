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
from capfence.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class
from capfence_langchain.errors import blocked_error

FRAMEWORK = "langchain"
TAG = "capfence-langchain"


def wrap_tool(tool: BaseTool, binding: Binding) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice)."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    cls = gated_class(base, {"run": _gated_run, "arun": _gated_arun}, tag=TAG)
    return gate_object(tool, cls, binding)


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
        return binding.call(id(self), payload, body, lambda decision: block_result(self, decision, tool_call_id))

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
        return await binding.acall(id(self), payload, body, lambda decision: block_result(self, decision, tool_call_id))

    return arun
