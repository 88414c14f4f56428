"""A scripted LLM for examples, docs and tests: a stand-in function-calling model for LlamaIndex agents.

:class:`ScriptedLLM` plays a script, one reply per chat call, with no network and no API key. It
is a ``MockFunctionCallingLLM`` (LlamaIndex's own mock), so ``FunctionAgent``, ``ReActAgent`` and
``AgentWorkflow`` accept it, with the script deciding every turn::

    from llama_index.core.agent.workflow import FunctionAgent
    from capfence_llamaindex.testing import ScriptedLLM, tool_call

    llm = ScriptedLLM(
        tool_call("lookup_order", {"order_id": "A-1001"}),
        lambda messages: f"done: {messages[-1].content}",   # computed from the conversation
    )
    agent = FunctionAgent(tools=[lookup_order], llm=llm)

Importing this module imports LlamaIndex (``capfence_llamaindex`` itself does not).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from llama_index.core.base.llms.types import TextBlock, ToolCallBlock
from llama_index.core.llms import ChatMessage
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import PrivateAttr

from capfence.testing import PlaysScript, Script, ScriptExhausted

__all__ = ["Reply", "ScriptExhausted", "ScriptedLLM", "parallel", "react_answer", "react_step", "tool_call"]

Reply: TypeAlias = ChatMessage | str | Callable[[list[ChatMessage]], ChatMessage | str]
"""One scripted turn: an assistant ``ChatMessage`` (text and/or tool calls), a plain text answer (also the
ReAct text of :func:`react_step` and :func:`react_answer`), or a function of the conversation so far that
returns either (for an answer that depends on what the tools returned)."""


class ScriptedLLM(PlaysScript, MockFunctionCallingLLM):
    """A function-calling LLM that replies with its script, one reply per chat call, and records every prompt.

    ``ScriptedLLM(reply, reply, ..., final=None)``. Each chat call (sync, async or streamed) takes
    the next reply of the script (see :data:`Reply`); tool calls without an id get
    ``call_<turn>_<n>``. Once the script is played, the model answers ``final`` if it is set, and
    raises :class:`ScriptExhausted` otherwise, so a run that asks the model more often than the
    script expects fails loudly. One model plays its script once: build a new one for each run (or
    call :meth:`rewind`). The script itself is a :class:`capfence.testing.Script`.

    A scripted tool call may name any tool, also one the agent does not have (as real models
    do). Every prompt is kept in :attr:`prompts`; :meth:`saw` tells whether a text was shown to
    the model (a blocked call's message, for instance).
    """

    _play: Script[ChatMessage | str, list[ChatMessage]] = PrivateAttr()

    def __init__(self, *replies: Reply, final: Reply | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("is_chat_model", True)
        super().__init__(**kwargs)
        self._play = Script(replies, final, model="LLM")
        self.response_generator = self._reply

    @classmethod
    def class_name(cls) -> str:
        return "CapFenceScriptedLLM"

    @property
    def prompts(self) -> list[list[ChatMessage]]:
        """Every prompt the model was sent, in order (each a list of messages)."""
        return self._play.prompts

    def saw(self, text: str) -> bool:
        """Whether ``text`` appeared in any message the model was sent."""
        return any(text in (message.content or "") for prompt in self.prompts for message in prompt)

    def _reply(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        reply, turn = self._play.next(list(messages))
        return _message(reply, turn)


def tool_call(
    name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None, text: str = ""
) -> ChatMessage:
    """An assistant turn that asks for one tool call (``id`` defaults to ``call_<turn>_1`` when the model replies)."""
    blocks: list[Any] = [TextBlock(text=text)] if text else []
    blocks.append(ToolCallBlock(tool_call_id=id, tool_name=name, tool_kwargs=dict(args or {})))
    return ChatMessage(role="assistant", blocks=blocks)


def parallel(*turns: ChatMessage) -> ChatMessage:
    """One assistant turn that asks for the tool calls of several :func:`tool_call` turns at once."""
    return ChatMessage(
        role="assistant",
        blocks=[block for turn in turns for block in turn.blocks if isinstance(block, ToolCallBlock)],
    )


def react_step(tool: str, args: Mapping[str, Any], thought: str = "I need to use a tool.") -> str:
    """A ``ReActAgent`` turn (ReAct text) that calls ``tool`` with ``args``."""
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {json.dumps(dict(args))}"


def react_answer(answer: str) -> str:
    """A ``ReActAgent`` turn (ReAct text) that gives the final answer."""
    return f"Thought: I can answer without using any more tools.\nAnswer: {answer}"


def _message(reply: ChatMessage | str, turn: int) -> ChatMessage:
    if isinstance(reply, str):
        return ChatMessage(role="assistant", content=reply)
    blocks: list[Any] = []
    for block in reply.blocks:
        if isinstance(block, ToolCallBlock) and not block.tool_call_id:
            calls = sum(isinstance(b, ToolCallBlock) for b in blocks) + 1
            block = block.model_copy(update={"tool_call_id": f"call_{turn}_{calls}"})  # noqa: PLW2901
        blocks.append(block)
    return reply.model_copy(update={"blocks": blocks})
