"""Gate one LlamaIndex tool: what ``CapFenceTool(tool=<BaseTool>, ...)`` returns.

The gated tool is a shallow copy of the caller's tool whose class is a cached
subclass of the tool's own class (:func:`capfence.call.wrapping.gated_class`), so it
*is* still that class (``FunctionTool`` stays ``FunctionTool``, which is what
LlamaIndex agents check before injecting the workflow ``Context``). Its
``metadata`` (name, description, ``fn_schema``, ``return_direct``) is equal to
the original's, so the model sees the same tool. The copy gets its own
``ToolMetadata`` and ``partial_params``: changing them on one tool does not
change the other. The caller's tool is not modified.

Gated entry points: ``call``, ``acall`` and ``__call__``, whichever the class
has. In llama-index-core 0.14 ``call`` and ``acall`` are independent (neither
calls the other) and ``__call__`` funnels into ``call``; workflow agents only
ever use ``await tool.acall(**kwargs)``. When one entry point calls another on
the same tool (``__call__`` -> ``call``, or a custom tool whose ``acall`` runs
``call`` in a thread), the reentrancy guard of :class:`capfence.call.gate.Binding`
makes that one decision. For ``FunctionTool``'s own ``call``/``acall``,
which are known to run the function and nothing else, the function body runs
outside the guard (:func:`capfence.call.gate.tool_body`), so a function that calls
its own gated tool again is decided again.

What the policy sees and the audit log records (:func:`tool_payload`): the
arguments the tool's function runs with, by parameter name. For a
``FunctionTool`` that is ``fn_schema`` field defaults, then ``partial_params``,
then the call's keyword arguments, positional arguments bound to the function's
signature and plain defaults applied. The injected workflow ``Context``
(``tool.ctx_param_name``, or any argument that is a ``Context``) is left out:
it is plumbing, not input.

A blocked call (deny, require_approval, or any failure, which denies) never
reaches the tool's body and returns
``ToolOutput(is_error=True, content=<decision message>)`` from every entry
point: the message names the action, the reason, the rule id and, for
``require_approval``, the approval request id. ``exception`` on that output is
a :class:`capfence.ToolCallDenied` (or :class:`capfence.ApprovalRequired`). An
agent shows the message to the model and carries on; note that, unlike
LangChain, LlamaIndex does not end the run when a ``return_direct`` tool
returns an error, so a blocked ``return_direct`` tool goes back to the model.

Held inside a workflow agent (``require_approval``, a tool-call id, ``acall``):
the gate writes an ``InputRequiredEvent`` carrying the approval request to the
event stream, waits for the matching ``HumanResponseEvent`` and then decides
the call again from CapFence's store (:mod:`capfence_llamaindex.approvals`;
:func:`capfence_llamaindex.approval_events` turns this off for one tool).

Copies and conversions (``fn``/``async_fn``/``real_fn``, ``to_langchain_tool()``,
the refused ``query_engine``/``retriever``) are in
:mod:`capfence_llamaindex.conversions`.

Inside a workflow agent, each decision carries the call's id
(``"llamaindex:<run id>:<tool call id>"``), read from the running workflow step.
When the workflow replays a step (a tool that waited for a human with
``ctx.wait_for_event`` runs its step again), the replayed call is decided and
recorded again: one decision record per execution (a replay that is blocked
again with the same arguments reuses its record).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from llama_index.core.tools import BaseTool, FunctionTool, ToolMetadata, ToolOutput

from capfence.call.callables import bound_payload
from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding, blocked_error, tool_body
from capfence.call.gated_attributes import install
from capfence.call.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class
from capfence.errors import CapFenceError
from capfence_llamaindex import conversions
from capfence_llamaindex.approvals import ask, set_approval_events, step_context

FRAMEWORK = "llamaindex"
TAG = "capfence-llamaindex"
CALL_ID_PREFIX = "llamaindex"


def wrap_tool(
    tool: BaseTool, binding: Binding, *, input_required_on_approval: bool | None = None
) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice).

    When the binding names no tool, or only the class name (what
    :func:`capfence.CapFenceTool` falls back to for objects without a ``name``),
    the tool's ``metadata.name`` is used for the audit log.
    ``input_required_on_approval``: whether a held call inside a workflow asks a
    human through workflow events (:mod:`capfence_llamaindex.approvals`);
    ``None`` keeps what a gated ``tool`` had (default: it asks).
    """
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    cls = install(
        gated_class(base, {"call": _gated_call, "acall": _gated_acall, "__call__": _gated_call}, tag=TAG),
        conversions.extension,
    )
    if binding.tool in (None, base.__name__):
        binding = dataclasses.replace(binding, tool=tool_name(tool))
    return set_approval_events(gate_object(tool, cls, binding, _copy_tool), input_required_on_approval)


def tool_name(tool: BaseTool) -> str:
    """The tool's name as the model sees it (its class name if it has none)."""
    try:
        name = tool.metadata.name
    except Exception:  # noqa: BLE001 - a tool with broken metadata is still gated under its class name
        name = None
    return name or type(tool).__name__


def tool_payload(tool: BaseTool, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """What the policy sees and the audit log records for one call (see the module docstring). Never raises."""
    try:
        if isinstance(tool, FunctionTool):
            merged = {**getattr(tool, "_field_defaults", {}), **tool.partial_params, **kwargs}
            payload = _bind(_signature(conversions.raw_function(tool)), args, merged)
        else:
            payload = _bind(None, args, kwargs, _schema_names(tool))
    except Exception:  # noqa: BLE001 - fall back to the arguments as given: every string is still seen
        payload = {"args": list(args), **kwargs} if args else dict(kwargs)
    return conversions.without_context(tool, payload)


def block_output(tool: BaseTool, decision: Decision, payload: Mapping[str, Any]) -> ToolOutput:
    """The result of a blocked call: an error ``ToolOutput`` whose content is the decision's message."""
    return ToolOutput(
        tool_name=tool_name(tool),
        content=decision.message(),
        raw_input={"kwargs": dict(payload)},
        raw_output=None,
        is_error=True,
        exception=blocked_error(decision),
    )


def current_call_id(name: str) -> str | None:
    """The id of the tool call a workflow agent is running right now, if it is a call of ``name``.

    Read from the running step's event (a ``ToolCall``) and the run id tag; both
    are LlamaIndex internals, so anything unexpected means "no id" (the
    decision is then simply not de-duplicated).
    """
    try:
        from llama_index_instrumentation.dispatcher import active_instrument_tags
        from workflows.runtime.types.results import StepWorkerStateContextVar

        event = StepWorkerStateContextVar.get().event
        run_id = active_instrument_tags.get().get("llamaindex.run_id")
    except Exception:  # noqa: BLE001 - not in a workflow step, or the internals moved
        return None
    tool_id = getattr(event, "tool_id", None)
    if not (run_id and tool_id) or getattr(event, "tool_name", None) != name:
        return None
    return f"{CALL_ID_PREFIX}:{run_id}:{tool_id}"


# --- internals ---------------------------------------------------------------------


def _copy_tool(tool: BaseTool) -> BaseTool:
    """A shallow copy with its own metadata and partial params (the rest is shared, as with ``copy.copy``)."""
    clone = copy.copy(tool)
    state = clone.__dict__
    if isinstance(state.get("_metadata"), ToolMetadata):
        state["_metadata"] = copy.copy(state["_metadata"])
    if isinstance(state.get("partial_params"), dict):
        state["partial_params"] = dict(state["partial_params"])
    return clone


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _schema_names(tool: BaseTool) -> list[str]:
    schema = tool.metadata.fn_schema
    return list(getattr(schema, "model_fields", {})) if schema is not None else ["input"]


def _bind(
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    names: list[str] | None = None,
) -> dict[str, Any]:
    """Arguments by name: bound to ``signature`` (defaults applied), else positional args zipped with ``names``."""
    if signature is None:
        if args and names is not None and len(args) <= len(names):
            return {**dict(zip(names, args, strict=False)), **kwargs}
        return {"args": list(args), **kwargs} if args else dict(kwargs)
    return bound_payload(signature.bind_partial(*args, **kwargs))


def _call_binding(tool: BaseTool) -> Binding:
    binding = binding_of(tool)
    call_id = current_call_id(tool_name(tool))  # the name the model called, whatever the audit log calls it
    return dataclasses.replace(binding, call_id=call_id) if call_id else binding


def _runs_body_only(original: Callable[..., Any]) -> bool:
    """True for methods known to run the tool's function and no other entry point.

    LlamaIndex's instrumentation wraps these methods (``wrapt``), so they are
    compared unwrapped.
    """
    known = {inspect.unwrap(FunctionTool.__dict__[name]) for name in ("call", "acall")}
    return inspect.unwrap(original) in known


def _gated_call(original: Callable[..., ToolOutput]) -> Callable[..., ToolOutput]:
    """``call`` and ``__call__``: decide, then run the original or return the block output."""
    body_only = _runs_body_only(original)

    def gated(self: BaseTool, *args: Any, **kwargs: Any) -> ToolOutput:
        payload = tool_payload(self, args, kwargs)
        try:
            binding = _call_binding(self)
        except CapFenceError as exc:  # a gated class without a binding denies
            return block_output(self, failure(str(exc)), payload)

        def body() -> ToolOutput:
            if not body_only:
                return original(self, *args, **kwargs)
            with tool_body():
                return original(self, *args, **kwargs)

        return binding.call(id(self), payload, body, lambda decision: block_output(self, decision, payload))

    return gated


def _gated_acall(original: Callable[..., Awaitable[ToolOutput]]) -> Callable[..., Awaitable[ToolOutput]]:
    """``acall``: decide (in a worker thread), then await the original or return the block output."""
    body_only = _runs_body_only(original)

    async def acall(self: BaseTool, *args: Any, **kwargs: Any) -> ToolOutput:
        payload = tool_payload(self, args, kwargs)
        try:
            binding = _call_binding(self)
        except CapFenceError as exc:
            return block_output(self, failure(str(exc)), payload)

        async def body() -> ToolOutput:
            if not body_only:
                return await original(self, *args, **kwargs)
            with tool_body():
                return await original(self, *args, **kwargs)

        def block(decision: Decision) -> ToolOutput:
            return block_output(self, decision, payload)

        ctx = step_context(self, binding)
        if ctx is not None:  # inside a workflow step: a held call asks a human
            return await ask(ctx, id(self), binding, payload, body, block)
        return await binding.acall(id(self), payload, body, block)

    return acall
