"""``guard``: a plain function (sync or async) in, a gated ``FunctionTool`` out.

One function, two spellings::

    refund_tool = guard(refund, gate=runtime, agent_id="billing", capability="payments.refund")

    @guard(gate=runtime, agent_id="billing", capability="payments.refund")
    async def refund(order_id: str, amount: float) -> str:
        \"\"\"Refund an order.\"\"\"
        ...

Both give the ``FunctionTool`` that ``FunctionTool.from_defaults(refund, ...)``
would build (same name, description and ``fn_schema``; ``name``,
``description``, ``return_direct``, ``fn_schema`` and ``partial_params`` are
passed on to it), with ``call``/``acall``/``__call__`` gated exactly as
:func:`capfence.CapFenceTool` gates a tool (see :mod:`capfence_llamaindex.tools`).
After the decorator, the name ``refund`` is that tool: hand it to an agent, or
call it (``refund(order_id="A1", amount=5)`` returns a ``ToolOutput``).

Given a LlamaIndex tool instead of a function, ``guard`` gates that tool (the
same as ``CapFenceTool``); ``FunctionTool`` options are then an error, since
the tool already has its metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from llama_index.core.tools import BaseTool, FunctionTool
from pydantic import BaseModel

from capfence.call.gate import Binding
from capfence.errors import CapFenceError
from capfence_llamaindex.tools import FRAMEWORK, tool_name, wrap_tool

if TYPE_CHECKING:
    from capfence.call.runtime import ActionRuntime
    from capfence.contracts import Gate

Decorator = Callable[[Callable[..., Any]], FunctionTool]
ToolT = TypeVar("ToolT", bound=BaseTool)


@overload
def guard(
    fn: ToolT,
    /,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str,
    capability: str,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
) -> ToolT: ...


@overload
def guard(
    fn: Callable[..., Any],
    /,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str,
    capability: str,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
    name: str | None = None,
    description: str | None = None,
    return_direct: bool | None = None,
    fn_schema: type[BaseModel] | None = None,
    partial_params: Mapping[str, Any] | None = None,
) -> FunctionTool: ...


@overload
def guard(
    fn: None = None,
    /,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str,
    capability: str,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
    name: str | None = None,
    description: str | None = None,
    return_direct: bool | None = None,
    fn_schema: type[BaseModel] | None = None,
    partial_params: Mapping[str, Any] | None = None,
) -> Decorator: ...


def guard(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    gate: ActionRuntime | Gate,
    agent_id: str,
    capability: str,
    environment: str | None = None,
    approval_wait: float | None = None,
    input_required_on_approval: bool = True,
    name: str | None = None,
    description: str | None = None,
    return_direct: bool | None = None,
    fn_schema: type[BaseModel] | None = None,
    partial_params: Mapping[str, Any] | None = None,
) -> BaseTool | Decorator:
    """A gated ``FunctionTool`` for ``fn``, or, without ``fn``, a decorator that makes one (see the module docstring).

    ``gate`` decides every call under ``capability`` for ``agent_id``;
    ``approval_wait`` is how long a ``require_approval`` call waits for a human
    before it is returned as blocked (default: no wait).
    ``input_required_on_approval`` (default True): held inside a workflow
    agent, the call asks a human through workflow events
    (:mod:`capfence_llamaindex.approvals`).
    """
    if not agent_id or not capability:
        raise CapFenceError("guard needs a non-empty agent_id and capability")
    options: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", name),
            ("description", description),
            ("return_direct", return_direct),
            ("fn_schema", fn_schema),
            ("partial_params", dict(partial_params) if partial_params is not None else None),
        )
        if value is not None
    }

    def make(target: Callable[..., Any]) -> Any:
        if isinstance(target, BaseTool):
            if options:
                raise TypeError(
                    f"guard() got FunctionTool options {sorted(options)} for an existing tool; set them on the tool instead"
                )
            tool: BaseTool = target
        elif callable(target):
            tool = FunctionTool.from_defaults(target, **options)
        else:
            raise TypeError(f"guard() needs a function or a LlamaIndex tool, not {type(target).__name__}")
        binding = Binding(
            gate=gate,
            agent_id=agent_id,
            capability=capability,
            framework=FRAMEWORK,
            tool=tool_name(tool),
            environment=environment,
            approval_wait=approval_wait,
        )
        return wrap_tool(tool, binding, input_required_on_approval=input_required_on_approval)

    return make if fn is None else make(fn)
