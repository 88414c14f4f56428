"""Copies and conversions of a gated CrewAI tool: each is gated by the same binding, or refused.

What a gated tool (:func:`capfence_crewai.tools.wrap_tool`) adds for them:

* ``func`` (``crewai.tools.Tool``, what ``@tool`` makes) gives the function
  behind the tool's binding (:mod:`capfence.call.gated_attributes`): a call is
  decided and audited first and, blocked, returns the decision's message (a
  ``ToolFailure`` for a ``result_as_answer`` tool), as every gated CrewAI entry
  point does. So ``Tool.from_langchain(tool)``, ``Tool(func=tool.func, ...)``,
  ``CrewStructuredTool.from_function(tool.func)`` and ``model_dump()``/``dict()``
  rebuilt tools are gated too. The tool's own ``run``/``_run``/``arun``/``_arun``
  read the raw function (one decision per call, made by the gated entry point).
* A checkpoint (``model_dump(mode="json")``, what CrewAI writes for an agent's
  tools) restores a gated tool as a tool of the same class *without* a binding:
  every call is denied ("has no CapFence binding") until it is gated again
  (``CapFenceTool``, or ``guard_crew(mode="tools")``). Without this it would
  restore as an ordinary, ungated tool.

``to_structured_tool()`` (``func`` is the gated ``_run``), ``model_copy()``,
``copy()`` and ``copy.copy`` keep the class and the binding and need nothing
here. The table is in ``docs/adapters/crewai.md`` ("Copies and conversions").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from crewai.tools import BaseTool

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
from capfence.errors import CapFenceError
from capfence_crewai.arguments import bind

FUNCTION_FIELDS = ("func",)
RAW_READERS = ("run", "_run", "arun", "_arun")
CHECKPOINT_TYPE = "capfence_crewai.conversions.GatedToolCheckpoint"
"""The ``tool_type`` a gated tool's JSON dump carries; CrewAI's checkpoint restore resolves it to :class:`GatedToolCheckpoint`."""
ORIGINAL_TYPE_KEY = "capfence_tool_type"
"""Where that dump keeps the tool's own ``tool_type``."""


def extension(cls: type) -> Extension:
    """What a gated CrewAI tool class gets on top of its gated entry points."""
    fields = tuple(name for name in FUNCTION_FIELDS if name in getattr(cls, "model_fields", {}))
    members: dict[str, Any] = {"model_dump": _checkpointed(substitute(cls.model_dump, fields, raw_field))}  # type: ignore[attr-defined]
    if not fields:
        return Extension(members=members)
    for name in fields:
        members[name] = function_attribute(
            field_reader(name), payload=function_payload, on_block=_block, write=field_writer(name)
        )
    members["__iter__"] = substitute_items(cls.__iter__, fields)  # type: ignore[attr-defined]
    return Extension(raw_readers=RAW_READERS, members=members)


def function_payload(
    tool: Any, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What the policy sees for a call of ``tool.func``: the arguments bound to its signature."""
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    return bind(signature, args, kwargs)


class GatedToolCheckpoint(BaseTool):
    """Restores a gated tool from a CrewAI checkpoint: the same class, gated, with no binding (every call denied).

    A ``BaseTool`` subclass so that CrewAI's tool-type registry holds it once this module is imported (CrewAI 1.15.44
    and later resolve only registered, first-party or explicitly trusted tool types). It is never instantiated: its
    ``model_validate`` returns the original tool, restored by CrewAI's own rules, whatever they allow to be imported
    (``CREWAI_DESERIALIZE_CALLBACKS``): nothing here imports a module a checkpoint names.
    """

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        from crewai.tools import base_tool

        from capfence_crewai.tools import gated_tool_class

        values = dict(obj)
        values["tool_type"] = str(values.pop(ORIGINAL_TYPE_KEY, ""))
        restored = base_tool._resolve_tool_dict(values)  # CrewAI's own restore of the original tool
        restored.__class__ = gated_tool_class(type(restored))
        return restored

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise CapFenceError("GatedToolCheckpoint only restores a checkpointed tool; it never runs")


def _checkpointed(dump: Callable[..., Any]) -> Callable[..., Any]:
    """``model_dump`` whose JSON form restores through :class:`GatedToolCheckpoint`."""

    def model_dump(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = dump(self, *args, **kwargs)
        if kwargs.get("mode") == "json" and isinstance(result, dict) and "tool_type" in result:
            result[ORIGINAL_TYPE_KEY] = result["tool_type"]
            result["tool_type"] = CHECKPOINT_TYPE
        return result

    model_dump.__doc__ = dump.__doc__
    return model_dump


def _block(tool: Any, decision: Decision) -> Any:
    from capfence_crewai.tools import block_result

    return block_result(tool, decision)
