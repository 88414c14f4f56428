"""Copies and conversions of a gated LlamaIndex tool: each one is gated by the same binding, or refused.

LlamaIndex builds other objects from a tool in several ways. On a gated tool
(:func:`capfence_llamaindex.tools.wrap_tool`):

* ``fn``, ``async_fn``, ``real_fn`` (``FunctionTool``) give the function behind
  the tool's binding (:mod:`capfence.call.gated_attributes`): a call is decided and
  audited first and, blocked, raises :class:`capfence.ToolCallDenied` (or
  :class:`capfence.ApprovalRequired`). So ``FunctionTool.from_defaults(fn=tool.fn)``
  and anything else built from them is gated too. Their name, docstring,
  signature and type hints are the function's (``CodeActAgent`` and
  ``from_defaults`` read them). ``FunctionTool.call``/``acall`` run the private
  ``_fn``/``_async_fn`` and are gated as entry points.
* ``to_langchain_tool()`` / ``to_langchain_structured_tool()`` build the LangChain
  tool from ``langchain_core`` directly (LlamaIndex's own versions import its
  LangChain bridge, which needs ``langchain-community``) with those gated
  functions (:mod:`capfence_llamaindex.langchain`); a blocked call is an error
  result the LangChain agent reads.
* ``query_engine`` (``QueryEngineTool``) and ``retriever`` (``RetrieverTool``)
  are refused: ``RouterQueryEngine``, ``SubQuestionQueryEngine`` and
  ``RouterRetriever`` read them and query the engine directly, which no tool
  gate sees. ``as_langchain_tool()`` is refused for the same reason.
* ``copy.copy``/``copy.deepcopy`` keep the class and the binding
  (:mod:`capfence.call.wrapping`); ``adapt_to_async_tool`` returns the gated tool
  itself, or a ``BaseToolAsyncAdapter`` that calls its gated ``__call__``.

The table with every API is in ``docs/adapters/llamaindex.md`` ("Copies and conversions").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llama_index.core.tools import BaseTool, FunctionTool, QueryEngineTool, RetrieverTool

from capfence.call.callables import bound_payload
from capfence.call.gated_attributes import Extension, function_attribute
from capfence.contracts import instance_of_loaded
from capfence.errors import CapFenceError

FUNCTION_ATTRIBUTES = {"fn": "_fn", "async_fn": "_async_fn", "real_fn": "_real_fn"}
"""The public function attributes of a ``FunctionTool`` and the private ones its own ``call``/``acall`` use."""
REFUSED_ATTRIBUTES = {
    QueryEngineTool: (
        "query_engine",
        "RouterQueryEngine, SubQuestionQueryEngine and the SQL query engines query it directly",
    ),
    RetrieverTool: ("retriever", "RouterRetriever retrieves from it directly"),
}


def extension(cls: type) -> Extension:
    """What a gated LlamaIndex tool class gets on top of its gated entry points."""
    members: dict[str, Any] = {
        "to_langchain_tool": to_langchain_tool,
        "to_langchain_structured_tool": to_langchain_structured_tool,
    }
    if issubclass(cls, FunctionTool):
        for public, private in FUNCTION_ATTRIBUTES.items():
            members[public] = function_attribute(
                _reader(private), payload=function_payload, doc=f"``{public}`` behind the gate."
            )
    if hasattr(cls, "as_langchain_tool"):
        members["as_langchain_tool"] = as_langchain_tool
    for base, (name, why) in REFUSED_ATTRIBUTES.items():
        if issubclass(cls, base):
            members[name] = _refused(name, f"{why}, so no CapFence gate would see those calls")
    return Extension(members=members)


def to_langchain_tool(self: BaseTool, **langchain_tool_kwargs: Any) -> Any:
    """A LangChain ``Tool`` whose every call goes through this tool's gate (see :mod:`capfence_llamaindex.langchain`)."""
    from capfence_llamaindex.langchain import convert

    return convert(self, structured=False, options=langchain_tool_kwargs)


def to_langchain_structured_tool(self: BaseTool, **langchain_tool_kwargs: Any) -> Any:
    """A LangChain ``StructuredTool`` whose every call goes through this tool's gate."""
    from capfence_llamaindex.langchain import convert

    return convert(self, structured=True, options=langchain_tool_kwargs)


def as_langchain_tool(self: BaseTool) -> Any:
    raise CapFenceError(
        f"as_langchain_tool() of a CapFence-gated {type(self).__name__} would query its engine directly, without the gate; "
        "use to_langchain_tool() (gated), or convert the original tool and gate the LangChain tool with CapFenceTool"
    )


def raw_function(tool: FunctionTool, public: str = "real_fn") -> Callable[..., Any]:
    """The function behind ``tool.<public>`` as LlamaIndex stores it, never gated."""
    raw = tool.__dict__.get(FUNCTION_ATTRIBUTES[public])
    return raw if callable(raw) else getattr(tool, public)  # type: ignore[no-any-return]


def function_payload(
    tool: FunctionTool, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What the policy sees for a call of ``tool.fn``/``async_fn``/``real_fn``: the arguments by the real function's parameter names.

    Unlike a call of the tool, ``partial_params`` and ``Field`` defaults are not
    added: the function runs with exactly these arguments. Never raises.
    """
    import inspect

    try:
        bound = inspect.signature(raw_function(tool)).bind_partial(*args, **kwargs)
        payload = bound_payload(bound)
    except (TypeError, ValueError):
        payload = {"args": list(args), **kwargs} if args else dict(kwargs)
    return without_context(tool, payload)


def without_context(tool: BaseTool, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` without the injected workflow ``Context`` (``tool.ctx_param_name``, or any ``Context`` value)."""
    ctx_name = getattr(tool, "ctx_param_name", None)
    return {key: value for key, value in payload.items() if key != ctx_name and not is_context(value)}


def is_context(value: object) -> bool:
    return instance_of_loaded(value, "workflows.context.context", "Context")


def _reader(private: str) -> Callable[[Any], Any]:
    def read(tool: Any) -> Any:
        return tool.__dict__.get(private)

    return read


def _refused(name: str, why: str) -> property:
    def get(tool: Any) -> Any:
        raise CapFenceError(
            f"a CapFence-gated {type(tool).__name__} does not hand out its {name}: {why}. "
            f"Give the agent the gated tool itself, or take the {name} from the original tool and gate whatever you build from it"
        )

    return property(get, None, None, f"Refused on a gated tool: {why}.")
