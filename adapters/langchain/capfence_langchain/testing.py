"""A scripted chat model for examples, docs and tests: a stand-in LLM that supports tool calling.

LangChain's own fake chat models (``GenericFakeChatModel``, ``FakeMessagesListChatModel``) raise
``NotImplementedError`` in ``bind_tools``, which ``create_agent`` calls before the first turn.
:class:`ScriptedChatModel` plays a script instead, one reply per model call, with no network
and no API key::

    from langchain.agents import create_agent
    from capfence_langchain.testing import ScriptedChatModel, tool_call

    model = ScriptedChatModel(
        tool_call("run_shell", {"command": "ls"}),
        lambda messages: f"done: {messages[-1].content}",   # computed from the conversation
    )
    agent = create_agent(model, [run_shell], middleware=[guard])

Importing this module imports LangChain (``capfence_langchain`` itself does not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.tool import tool_call as make_tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from capfence.testing import PlaysScript, Script, ScriptExhausted

__all__ = ["Reply", "ScriptExhausted", "ScriptedChatModel", "parallel", "tool_call"]

Reply: TypeAlias = AIMessage | str | Callable[[list[BaseMessage]], AIMessage | str]
"""One scripted turn: an ``AIMessage`` (text and/or tool calls), a plain text answer, or a function of the
conversation so far that returns either (for an answer that depends on what the tools returned)."""


class ScriptedChatModel(PlaysScript, BaseChatModel):
    """A chat model that replies with its script, one reply per call, and records every prompt.

    ``ScriptedChatModel(reply, reply, ...)`` (or ``script=[...]``). Each call of the model takes
    the next reply of the script (see :data:`Reply`); tool calls without an id get
    ``call_<turn>_<n>``. Once the script is played, the model answers ``final`` if it is set,
    and raises :class:`ScriptExhausted` otherwise, so a run that asks the model more often than
    the script expects fails loudly. One model plays its script once: build a new one for each
    run (or call :meth:`rewind`). The script itself is a :class:`capfence.testing.Script`.

    ``bind_tools`` accepts any tools and returns the model itself (the script already knows which
    tools it calls; a scripted call may also name a tool that does not exist, as real models do);
    the names of the tools bound last are in :attr:`bound_tools`. Every prompt the model was sent
    is in :attr:`prompts`, so a test can check what the model was shown (a blocked call's
    ``ToolMessage``, for instance). Sync and async calls share the script.
    """

    bound_tools: list[str] = Field(default_factory=list)
    _play: Script[AIMessage | str, list[BaseMessage]] = PrivateAttr()

    def __init__(
        self, *replies: Reply, script: Sequence[Reply] = (), final: Reply | None = None, **data: Any
    ) -> None:
        super().__init__(**data)
        self._play = Script([*replies, *script], final)

    @property
    def _llm_type(self) -> str:
        return "capfence-scripted"

    @property
    def prompts(self) -> list[list[BaseMessage]]:
        """Every prompt the model was sent, in order (each a list of messages)."""
        return self._play.prompts

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> ScriptedChatModel:
        self.bound_tools = [_tool_name(tool) for tool in tools]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply, turn = self._play.next(list(messages))
        return ChatResult(generations=[ChatGeneration(message=_message(reply, turn))])


def tool_call(
    name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None, text: str = ""
) -> AIMessage:
    """A model turn that asks for one tool call (``id`` defaults to ``call_<turn>_1`` when the model replies)."""
    return AIMessage(content=text, tool_calls=[make_tool_call(name=name, args=dict(args or {}), id=id)])


def parallel(*turns: AIMessage) -> AIMessage:
    """One model turn that asks for the tool calls of several :func:`tool_call` turns at once."""
    return AIMessage(content="", tool_calls=[call for turn in turns for call in turn.tool_calls])


def _message(reply: AIMessage | str, turn: int) -> AIMessage:
    if isinstance(reply, str):
        return AIMessage(content=reply)
    calls = [
        make_tool_call(name=c["name"], args=c["args"], id=c.get("id") or f"call_{turn}_{n}")
        for n, c in enumerate(reply.tool_calls, start=1)
    ]
    return reply.model_copy(update={"tool_calls": calls})


def _tool_name(tool: Any) -> str:
    if isinstance(tool, Mapping):
        function = tool.get("function", tool)
        return str(function.get("name", "?")) if isinstance(function, Mapping) else "?"
    return str(getattr(tool, "name", None) or getattr(tool, "__name__", None) or type(tool).__name__)
