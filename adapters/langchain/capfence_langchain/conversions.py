"""Copies and conversions of a gated LangChain tool: each is gated by the same binding, or refused.

What a gated tool (:func:`capfence_langchain.tools.wrap_tool`) adds for them:

* ``func`` / ``coroutine`` (``StructuredTool``, ``Tool``) give the function
  behind the tool's binding (:mod:`capfence.call.gated_attributes`): a call is
  decided and audited first and, blocked, raises
  :class:`capfence_langchain.ToolCallDenied` (a LangChain ``ToolException``).
  So ``StructuredTool.from_function(func=tool.func)``, CrewAI's
  ``Tool.from_langchain(tool)`` and anything else built from them is gated
  too. ``model_dump()`` and ``dict(tool)`` hand out the same gated functions.
  The tool's own ``_run``/``_arun`` read the raw function (one decision per
  call, made by the gated ``run``/``arun``). Names, signatures and type hints
  read through them are the function's, so schemas and injected arguments are
  unchanged.
* ``configurable_fields(...)``: a configured copy is built from the gated
  class; it gets the default tool's binding (without this it would have none,
  and deny every call).
* ``as_tool()``: the new tool invokes the gated tool, which has no tool-call id
  there, so a blocked call raises; the new tool turns that into its error
  result (``handle_tool_error``: :func:`handle_blocked`), so in an agent the
  model reads the decision and the run carries on.
* ``with_fallbacks([...])`` refuses an ungated LangChain tool as a fallback: a
  blocked call raises when it has no tool-call id, and the fallback would then
  run the same action ungated. Gate the fallback tool (``CapFenceTool``) first.

Everything else LangChain builds from a tool wraps the gated tool itself and
calls its ``invoke``/``ainvoke`` (``with_config``, ``bind``, ``with_retry``,
``with_types``, ``with_listeners``, ``pipe``/``|``, ``map``,
``configurable_alternatives``), or copies it with its class and binding
(``model_copy``, ``copy.copy``, ``copy.deepcopy``). The table is in
``docs/adapters/langchain.md`` ("Copies and conversions").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.configurable import RunnableConfigurableFields
from langchain_core.tools import BaseTool, ToolException
from langchain_core.tools.base import FILTERED_ARGS

import capfence
from capfence.call.callables import call_payload
from capfence.call.decision import Decision
from capfence.call.gated_attributes import (
    Extension,
    field_reader,
    field_writer,
    function_attribute,
    raw_field,
    substitute,
    substitute_items,
)
from capfence.call.wrapping import is_gated
from capfence.errors import CapFenceError
from capfence_langchain.errors import blocked_error

FUNCTION_FIELDS = ("func", "coroutine")
CAPFENCE_ATTR_PREFIX = "__capfence_"


def extension(cls: type) -> Extension:
    """What a gated LangChain tool class gets on top of its gated ``run``/``arun``."""
    members: dict[str, Any] = {
        "with_fallbacks": _with_fallbacks(cls.with_fallbacks),  # type: ignore[attr-defined]
        "configurable_fields": _configurable_fields(cls.configurable_fields),  # type: ignore[attr-defined]
        "as_tool": _as_tool(cls.as_tool),  # type: ignore[attr-defined]
    }
    fields = tuple(name for name in FUNCTION_FIELDS if name in getattr(cls, "model_fields", {}))
    if not fields:
        return Extension(members=members)
    for name in fields:
        members[name] = function_attribute(
            field_reader(name), payload=function_payload, on_block=_raise, write=field_writer(name)
        )
    members["model_dump"] = substitute(cls.model_dump, fields, raw_field)  # type: ignore[attr-defined]
    members["__iter__"] = substitute_items(cls.__iter__, fields)  # type: ignore[attr-defined]
    return Extension(raw_readers=("_run", "_arun"), members=members)


def function_payload(
    tool: BaseTool, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What the policy sees for a call of ``tool.func``/``coroutine``: its arguments by name, injected ones left out."""
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    payload = call_payload(signature, args, kwargs)
    try:
        filtered = tool._filter_injected_args(payload)
    except Exception:  # noqa: BLE001 - an odd schema only means injected arguments stay in the record
        return payload
    declared = set(signature.parameters) if signature is not None else set()
    # ``callbacks``/``run_manager`` the function does not declare land in its ``**kwargs`` (an MCP tool's
    # ``coroutine`` sends them to the server): they are arguments like any other
    return {
        **filtered,
        **{name: payload[name] for name in FILTERED_ARGS if name in payload and name not in declared},
    }


class GatedConfigurableFields(RunnableConfigurableFields):  # type: ignore[type-arg]
    """``configurable_fields`` of a gated tool: a configured copy gets the default tool's binding."""

    def _prepare(self, config: RunnableConfig | None = None) -> tuple[Any, RunnableConfig]:
        runnable, prepared = super()._prepare(config)
        if runnable is not self.default:
            _copy_capfence_attributes(self.default, runnable)
        return runnable, prepared


def _copy_capfence_attributes(source: object, target: object) -> None:
    for key, value in vars(source).items():
        if key.startswith(CAPFENCE_ATTR_PREFIX):
            object.__setattr__(target, key, value)


def _configurable_fields(original: Callable[..., Any]) -> Callable[..., Any]:
    def configurable_fields(self: BaseTool, **kwargs: Any) -> Any:
        dynamic = original(self, **kwargs)
        if not isinstance(dynamic, RunnableConfigurableFields):
            return dynamic
        return GatedConfigurableFields(default=dynamic.default, fields=dynamic.fields, config=dynamic.config)

    configurable_fields.__doc__ = original.__doc__
    return configurable_fields


def handle_blocked(error: ToolException) -> str:
    """``handle_tool_error`` of a tool that runs a gated tool: a blocked call's message; other errors are raised."""
    if isinstance(error, capfence.ToolCallDenied):
        return error.decision.message()
    raise error


def _as_tool(original: Callable[..., Any]) -> Callable[..., Any]:
    def as_tool(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        converted = original(self, *args, **kwargs)
        if isinstance(converted, BaseTool) and not converted.handle_tool_error:
            converted.handle_tool_error = handle_blocked
        return converted

    as_tool.__doc__ = original.__doc__
    return as_tool


def _with_fallbacks(original: Callable[..., Any]) -> Callable[..., Any]:
    def with_fallbacks(self: BaseTool, fallbacks: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        ungated = [
            fallback.name
            for fallback in fallbacks
            if isinstance(fallback, BaseTool) and not is_gated(fallback)
        ]
        if ungated:
            raise CapFenceError(
                f"with_fallbacks() of the CapFence-gated tool {self.name!r} got the ungated tool(s) {ungated}: a blocked call "
                "raises, and the fallback would then run ungated; gate each fallback tool with CapFenceTool first"
            )
        return original(self, fallbacks, *args, **kwargs)

    with_fallbacks.__doc__ = original.__doc__
    return with_fallbacks


def _raise(tool: BaseTool, decision: Decision) -> Any:
    raise blocked_error(decision)
