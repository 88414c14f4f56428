"""Gate one CrewAI tool: what ``CapFenceTool(tool=<crewai BaseTool>, ...)`` returns.

The gated tool is a shallow copy of the caller's tool whose class is a cached
subclass of the tool's own class (:func:`capfence.call.wrapping.gated_class`), so it
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
where the tool's own body starts (:func:`capfence.call.gate.tool_body`), so a tool
that calls itself (or another gated tool) from its body is decided again.

What the policy sees, the audit log records and the body receives is one
value: the arguments the body will be called with, after CrewAI applies the
tool's ``args_schema`` (defaults filled in, values coerced), by name
(:mod:`capfence_crewai.arguments`). ``run``/``arun`` validate once, decide, and
hand CrewAI exactly the validated objects; ``_run``/``_arun`` see what CrewAI
validated. When an inner entry point is reached with arguments other than the
ones decided (something changed them in between), it is decided again.

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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

from crewai.tools import BaseTool
from crewai.tools.tool_failure import ToolFailure

from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding, tool_body
from capfence.call.gated_attributes import install
from capfence.call.wrapping import ORIGINAL_ATTR, binding_of, gate_object, gated_class
from capfence.errors import CapFenceError
from capfence_crewai import conversions
from capfence_crewai.arguments import VALIDATING, entry_arguments, is_pinned, pinned

FRAMEWORK = "crewai"
TAG = "capfence-crewai"
ENTRY_POINTS = ("run", "_run", "arun", "_arun")
BODY_ENTRY_POINTS = frozenset({"_run", "_arun"})
"""The entry points that *are* the tool's body (the others reach it through these, or run it themselves)."""
OnBlock = Callable[[Decision], Any]


class Keeper(Protocol):
    """How a gated entry point gets its decision for one call (and runs ``run`` or returns ``on_block``'s result)."""

    def call(
        self, tool: BaseTool, key: int, payload: dict[str, Any], run: Callable[[], Any], on_block: OnBlock
    ) -> Any: ...

    async def acall(
        self,
        tool: BaseTool,
        key: int,
        payload: dict[str, Any],
        run: Callable[[], Awaitable[Any]],
        on_block: OnBlock,
    ) -> Any: ...


class BindingKeeper:
    """A gated copy (``CapFenceTool``, ``guard_crew(mode="tools")``): its own binding decides every call."""

    def call(
        self, tool: BaseTool, key: int, payload: dict[str, Any], run: Callable[[], Any], on_block: OnBlock
    ) -> Any:
        binding = _binding(tool)
        if isinstance(binding, Decision):
            return on_block(binding)
        return binding.call(key, payload, run, on_block)

    async def acall(
        self,
        tool: BaseTool,
        key: int,
        payload: dict[str, Any],
        run: Callable[[], Awaitable[Any]],
        on_block: OnBlock,
    ) -> Any:
        binding = _binding(tool)
        if isinstance(binding, Decision):
            return on_block(binding)
        return await binding.acall(key, payload, run, on_block)


def _binding(tool: BaseTool) -> Binding | Decision:
    """The gated copy's binding, or the deny for a gated class without one (e.g. built by a framework from the class)."""
    try:
        return binding_of(tool)
    except CapFenceError as exc:
        return failure(str(exc))


def wrap_tool(tool: BaseTool, binding: Binding) -> BaseTool:
    """``tool`` gated by ``binding`` (a tool that is already gated is re-bound, not gated twice)."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    return gate_object(tool, gated_tool_class(base), binding)


def gated_tool_class(base: type[BaseTool], keeper: Keeper | None = None, tag: str = TAG) -> type[BaseTool]:
    """The cached gated subclass of ``base`` (for ``tag``), whose entry points ask ``keeper``.

    ``BaseTool.__init_subclass__`` files every subclass under its module and
    qualname in CrewAI's tool-type registry (used to restore checkpoints); the
    gated subclass has the same names, so the original entry is put back. (A
    gated tool's checkpoint names :class:`capfence_crewai.conversions.GatedToolCheckpoint`
    instead, which restores it gated but unbound: every call denied.)
    """
    keeper = keeper or BindingKeeper()
    factories: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
        name: functools.partial(_gate_entry_point, keeper, name) for name in ENTRY_POINTS
    }
    factories["_validate_kwargs"] = _keeping_pinned
    with _tool_registry_kept(base):
        cls: type[BaseTool] = gated_class(base, factories, tag=tag)
    # copies and conversions (func, checkpoints): capfence_crewai.conversions
    return install(cls, conversions.extension)


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


def _keeping_pinned(original: Callable[..., Any]) -> Callable[..., Any]:
    """``_validate_kwargs`` that hands on arguments a gated ``run`` already validated and decided (:func:`pinned`)."""

    @functools.wraps(original)
    def _validate_kwargs(self: BaseTool, kwargs: dict[str, Any]) -> Any:
        return kwargs if is_pinned(self, kwargs) else original(self, kwargs)

    return _validate_kwargs


@contextmanager
def _calling(tool: BaseTool, entry: str, kwargs: dict[str, Any]) -> Iterator[None]:
    with ExitStack() as stack:
        if entry in VALIDATING:
            stack.enter_context(pinned(tool, kwargs))
        if entry in BODY_ENTRY_POINTS:
            stack.enter_context(tool_body())
        yield


def _gate_entry_point(keeper: Keeper, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def gated_async(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
            payload, kwargs = entry_arguments(self, name, args, kwargs)

            async def body() -> Any:
                with _calling(self, name, kwargs):
                    return await original(self, *args, **kwargs)

            return await keeper.acall(
                self, id(self), payload, body, lambda decision: block_result(self, decision)
            )

        return gated_async

    @functools.wraps(original)
    def gated(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        payload, kwargs = entry_arguments(self, name, args, kwargs)

        def body() -> Any:
            with _calling(self, name, kwargs):
                return original(self, *args, **kwargs)

        return keeper.call(self, id(self), payload, body, lambda decision: block_result(self, decision))

    return gated
