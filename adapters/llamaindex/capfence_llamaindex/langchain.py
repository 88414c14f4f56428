"""A gated LlamaIndex tool as a LangChain tool: ``to_langchain_tool()`` / ``to_langchain_structured_tool()``.

Imported only when one of them is called; needs ``langchain-core`` (not
LlamaIndex's LangChain bridge, so not ``langchain-community``). The LangChain
tool is what LlamaIndex would build (same name, description, ``args_schema``
from ``metadata.fn_schema``; for a ``FunctionTool`` its ``fn``/``async_fn``,
otherwise its ``__call__``), except that every call goes through the LlamaIndex
tool's binding: one decision and one audit record per call, under the same
agent id and capability.

A blocked call raises :class:`ToolCallDenied` (a :class:`capfence.ToolCallDenied`
and a LangChain ``ToolException``); unless you pass your own
``handle_tool_error``, the tool turns it into an error result whose content is
the decision's message (:func:`handle_blocked`), so inside a LangChain agent
the model gets ``ToolMessage(status="error")`` and the run carries on, and a
direct ``invoke`` returns the message. Other ``ToolException``\\s are raised as
LangChain raises them by default.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool as LangChainTool
from langchain_core.tools import StructuredTool, Tool, ToolException
from llama_index.core.tools import BaseTool, FunctionTool, ToolOutput

import capfence
from capfence.call.decision import Decision
from capfence.call.gated_attributes import hand_out
from capfence_llamaindex.conversions import function_payload, raw_function


class ToolCallDenied(capfence.ToolCallDenied, ToolException):
    """A call of a converted tool blocked by the policy."""


class ApprovalRequired(capfence.ApprovalRequired, ToolCallDenied):
    """A call of a converted tool held for a human's approval; ``request_id`` names the request."""


def blocked_error(decision: Decision) -> ToolCallDenied:
    return ApprovalRequired(decision) if decision.action == "require_approval" else ToolCallDenied(decision)


def handle_blocked(error: ToolException) -> str:
    """The default ``handle_tool_error``: a blocked call's message; any other ``ToolException`` is raised."""
    if isinstance(error, capfence.ToolCallDenied):
        return error.decision.message()
    raise error


def convert(tool: BaseTool, *, structured: bool, options: dict[str, Any]) -> LangChainTool:
    """The LangChain tool for the gated ``tool`` (see the module docstring)."""
    kwargs = tool._process_langchain_tool_kwargs(dict(options))
    kwargs.setdefault("handle_tool_error", handle_blocked)
    func, coroutine = _functions(tool)
    factory = StructuredTool.from_function if structured else Tool.from_function
    return factory(func=func, coroutine=coroutine, **kwargs)


def _functions(tool: BaseTool) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    if isinstance(tool, FunctionTool):
        return _gated(tool, "fn"), _gated(tool, "async_fn")
    return _through_call(tool), None


def _gated(tool: FunctionTool, public: str) -> Callable[..., Any]:
    return hand_out(tool, raw_function(tool, public), payload=function_payload, on_block=_raise)


def _raise(tool: BaseTool, decision: Decision) -> Any:
    raise blocked_error(decision)


def _through_call(tool: BaseTool) -> Callable[..., Any]:
    """The tool's gated ``__call__`` (what LlamaIndex converts for tools other than ``FunctionTool``), blocks raised."""

    def call(*args: Any, **kwargs: Any) -> Any:
        output = tool(*args, **kwargs)
        if (
            isinstance(output, ToolOutput)
            and output.is_error
            and isinstance(output.exception, capfence.ToolCallDenied)
        ):
            raise blocked_error(output.exception.decision)
        return output

    return functools.update_wrapper(call, tool.__call__)
