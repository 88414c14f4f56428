"""Gate one CrewAI tool: what ``CapFenceTool(tool=<crewai BaseTool>, ...)`` returns.

The gated tool is a shallow copy of the caller's tool whose class is a cached
subclass of the tool's own class (:func:`capfence.wrapping.gated_class`), so it
*is* still that class: same ``name``, ``description``, ``args_schema``,
``result_as_answer``, ``max_usage_count``, ``cache_function``. The caller's
tool is not modified.

``run``, ``_run``, ``arun`` and ``_arun`` are all overridden, because CrewAI
1.15 enters a tool through different ones depending on the path:

* ReAct text mode calls ``_run`` (through the ``CrewStructuredTool`` made by
  ``to_structured_tool()``, whose ``func`` is the tool's bound ``_run``);
* native function calling calls ``run``, which validates the arguments and
  calls ``_run`` -- except for ``@tool`` tools (``crewai.tools.Tool``), whose
  ``run`` calls the function directly and skips ``_run``;
* ``arun`` calls ``_arun``.

When one gated entry point calls another for the same call (``run`` ->
``_run``) the reentrancy guard of :meth:`capfence.Binding.call` lets the inner
one through, so each call is decided and audited once. ``_run``/``_arun`` mark
where the tool's own body starts (:func:`capfence.gate.tool_body`), so a tool
that calls itself (or another gated tool) from its body is decided again.

What the policy sees: the call's arguments bound to the entry point's
signature (positional arguments get their parameter names, defaults filled
in), as given by the caller, before CrewAI validates them against
``args_schema``.

A blocked call does not raise (in ReAct mode CrewAI retries a raising tool up
to six times): it *returns* the decision's message (``"CapFence deny: <reason>
[rule <id>]"``), which CrewAI hands to the agent as the tool's result, so the
crew carries on and the model can read why. For a ``result_as_answer`` tool,
whose result becomes the task's final answer, it returns a CrewAI
``ToolFailure`` carrying that message instead: the agent reads the message and
goes on, and CrewAI records the failure on the task output (and aborts the run
if the tool failure policy is ``raise``).

A tool gated this way is still subject to CrewAI's tool-result cache, which
sits in front of the tool: a cached answer is served without calling it. Gate a
whole crew with :func:`capfence_crewai.guard_crew` (hooks mode, the default)
when its cache is on.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from crewai.tools import BaseTool
from crewai.tools.tool_failure import ToolFailure

from capfence.callables import call_payload
from capfence.decision import Decision, failure
from capfence.errors import CapFenceError
from capfence.gate import Binding, tool_body
from capfence.gated_attributes import install
from capfence.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class
from capfence_crewai import conversions

FRAMEWORK = "crewai"
TAG = "capfence-crewai"
ENTRY_POINTS = ("run", "_run", "arun", "_arun")
BODY_ENTRY_POINTS = frozenset({"_run", "_arun"})
"""The entry points that *are* the tool's body (the others reach it through these, or run it themselves)."""


def wrap_tool(tool: BaseTool, binding: Binding) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice)."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    return gate_object(tool, gated_tool_class(base), binding)


def gated_tool_class(base: type[BaseTool]) -> type[BaseTool]:
    """The cached gated subclass of ``base``.

    ``BaseTool.__init_subclass__`` files every subclass under its module and
    qualname in CrewAI's tool-type registry (used to restore checkpoints); the
    gated subclass has the same names, so the original entry is put back. (A
    gated tool's checkpoint names :class:`capfence_crewai.conversions.GatedToolCheckpoint`
    instead, which restores it gated but unbound: every call denied.)
    """
    factories = {name: functools.partial(_gate_entry_point, name) for name in ENTRY_POINTS}
    with _tool_registry_kept(base):
        cls: type[BaseTool] = gated_class(base, factories, tag=TAG)
    return install(cls, conversions.extension)  # copies and conversions (func, checkpoints): capfence_crewai.conversions


@contextmanager
def _tool_registry_kept(base: type) -> Iterator[None]:
    from crewai.tools import base_tool

    registry: dict[str, type] | None = getattr(base_tool, "_TOOL_TYPE_REGISTRY", None)
    if registry is None:
        yield
        return
    key = f"{base.__module__}.{base.__qualname__}"
    before = registry.get(key)
    try:
        yield
    finally:
        if before is None:
            registry.pop(key, None)
        else:
            registry[key] = before


def block_message(decision: Decision) -> str:
    """What a blocked call tells the agent: action, reason and rule id."""
    return decision.message()


def block_result(tool: BaseTool, decision: Decision) -> str | ToolFailure:
    """What a blocked call returns: the message, or a ``ToolFailure`` for a ``result_as_answer`` tool."""
    if not tool.result_as_answer:
        return block_message(decision)
    details = {"decision": decision.action, "rule": decision.rule, "reason": decision.reason}
    return ToolFailure(message=block_message(decision), code=f"capfence_{decision.action}", details=details)


def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    """``function``'s signature without ``self`` (None when it has none we can read)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def tool_payload(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """What the policy sees for one call: the arguments bound to ``signature`` (an empty ``*args`` left out)."""
    payload = call_payload(signature, args, kwargs)
    if not args and signature is not None:
        for parameter in signature.parameters.values():
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL and payload.get(parameter.name) == []:
                del payload[parameter.name]
    return payload


def _gate_entry_point(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    signature = _signature(original)
    is_body = name in BODY_ENTRY_POINTS
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def gated_async(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
            try:
                binding = binding_of(self)
            except CapFenceError as exc:  # a gated class without a binding denies
                return block_result(self, failure(str(exc)))

            async def body() -> Any:
                if not is_body:
                    return await original(self, *args, **kwargs)
                with tool_body():
                    return await original(self, *args, **kwargs)

            return await binding.acall(id(self), tool_payload(signature, args, kwargs), body, lambda decision: block_result(self, decision))

        return gated_async

    @functools.wraps(original)
    def gated(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        try:
            binding = binding_of(self)
        except CapFenceError as exc:
            return block_result(self, failure(str(exc)))

        def body() -> Any:
            if not is_body:
                return original(self, *args, **kwargs)
            with tool_body():
                return original(self, *args, **kwargs)

        return binding.call(id(self), tool_payload(signature, args, kwargs), body, lambda decision: block_result(self, decision))

    return gated
