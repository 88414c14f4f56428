"""A scripted LLM for examples, docs and tests: a stand-in model for CrewAI agents, in ReAct or native tool-calling mode.

:class:`ScriptedLLM` is a CrewAI ``BaseLLM`` that plays a script, one reply per model call, with
no network, no API key and no litellm::

    from crewai import Agent
    from capfence_crewai.testing import ScriptedLLM, tool_call

    llm = ScriptedLLM(
        tool_call("run_shell", {"command": "ls"}),
        "The files are listed.",                      # the final answer
    )
    agent = Agent(role="Operator", goal="...", backstory="...", tools=[run_shell], llm=llm)

By default it answers in CrewAI's ReAct text format (``Action:`` / ``Action Input:`` /
``Final Answer:``); with ``native=True`` it returns OpenAI-style tool calls, which CrewAI runs
through its native function-calling path. Importing this module imports CrewAI (``capfence_crewai``
itself does not).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from crewai.llms.base_llm import BaseLLM
from pydantic import PrivateAttr

from capfence.testing import PlaysScript, Script, ScriptExhausted

if TYPE_CHECKING:
    from crewai.agents.agent_builder.base_agent import BaseAgent
    from crewai.task import Task
    from crewai.tools.base_tool import BaseTool
    from crewai.utilities.types import LLMMessage
    from pydantic import BaseModel

__all__ = ["Reply", "ScriptExhausted", "ScriptedLLM", "ToolCalls", "parallel", "tool_call"]


@dataclass(frozen=True)
class ToolCalls:
    """A model turn that asks for tool calls: ``(name, arguments, id or None)`` each (ReAct mode: exactly one)."""

    calls: tuple[tuple[str, dict[str, Any], str | None], ...] = field(default_factory=tuple)


Reply: TypeAlias = ToolCalls | str | Callable[[list[dict[str, Any]]], ToolCalls | str]
"""One scripted turn: :func:`tool_call` (or :func:`parallel`), a final answer's text, or a function of the
conversation so far (CrewAI's messages, ``{"role": ..., "content": ...}`` dicts) that returns either."""


class ScriptedLLM(PlaysScript, BaseLLM):
    """A CrewAI LLM that replies with its script, one reply per call, and records every request.

    ``ScriptedLLM(reply, reply, ..., native=False, final=None)`` (or ``script=[...]``). Each call of
    the model (``call`` or ``acall``) takes the next reply of the script (see :data:`Reply`). In ReAct
    mode (the default) a tool call becomes ``Thought/Action/Action Input`` text and a text reply
    ``Final Answer: <text>``; with ``native=True`` the model reports that it supports function calling
    and returns OpenAI-style tool calls (ids ``call_<turn>_<n>`` unless given), or the text itself.

    Once the script is played the model answers ``final`` if it is set and raises
    :class:`ScriptExhausted` otherwise, so a crew that asks the model more often than the script
    expects fails loudly (CrewAI reports the error from ``kickoff``). One model plays its script
    once: build a new one for each run (or call :meth:`rewind`). Every request is kept in
    :attr:`prompts` (its messages as JSON text); :meth:`saw` tells whether a text, such as a blocked
    call's message, was shown to the model. The script itself is a :class:`capfence.testing.Script`.
    """

    model: str = "capfence-scripted"
    native: bool = False
    _play: Script[ToolCalls | str, list[dict[str, Any]]] = PrivateAttr()

    def __init__(
        self, *replies: Reply, script: Sequence[Reply] = (), final: Reply | None = None, **data: Any
    ) -> None:
        data.setdefault("model", "capfence-scripted")
        super().__init__(**data)
        self._play = Script([*replies, *script], final, model="LLM")

    @property
    def prompts(self) -> list[str]:
        """Every request the model was sent, in order (its messages as JSON text)."""
        return [json.dumps(conversation, default=str) for conversation in self._play.prompts]

    def saw(self, text: str) -> bool:
        """Whether ``text`` appeared in any request the model was sent."""
        return any(text in prompt for prompt in self.prompts)

    def call(
        self,
        messages: str | list[LLMMessage],
        tools: list[dict[str, BaseTool]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: dict[str, Any] | None = None,
        from_task: Task | None = None,
        from_agent: BaseAgent | None = None,
        response_model: type[BaseModel] | None = None,
    ) -> str | Any:
        conversation: list[dict[str, Any]] = (
            [{"role": "user", "content": messages}]
            if isinstance(messages, str)
            else [dict(m) for m in messages]
        )
        reply, turn = self._play.next(conversation)
        return self._render(reply, turn)

    async def acall(
        self,
        messages: str | list[LLMMessage],
        tools: list[dict[str, BaseTool]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: dict[str, Any] | None = None,
        from_task: Task | None = None,
        from_agent: BaseAgent | None = None,
        response_model: type[BaseModel] | None = None,
    ) -> str | Any:
        return self.call(
            messages, tools, callbacks, available_functions, from_task, from_agent, response_model
        )

    def supports_function_calling(self) -> bool:
        return self.native

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 100_000

    def get_input_tokens_count(
        self,
        messages: str | list[LLMMessage],
        tools: list[dict[str, BaseTool]] | None = None,
        response_model: type[BaseModel] | None = None,
    ) -> int:
        """One token per four characters of the request (a scripted model has no tokenizer), without CrewAI's notice."""
        text = messages if isinstance(messages, str) else json.dumps([dict(m) for m in messages], default=str)
        return -(-len(text) // 4)

    def _render(self, reply: ToolCalls | str, turn: int) -> str | list[dict[str, Any]]:
        if isinstance(reply, str):
            return reply if self.native else f"Thought: I now know the final answer\nFinal Answer: {reply}"
        if self.native:
            return [
                {
                    "id": call_id or f"call_{turn}_{n}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for n, (name, args, call_id) in enumerate(reply.calls, start=1)
            ]
        if len(reply.calls) != 1:
            raise ValueError(
                "a ReAct turn asks for exactly one tool call: use native=True for parallel calls"
            )
        ((name, args, _),) = reply.calls
        return f"Thought: I should use a tool\nAction: {name}\nAction Input: {json.dumps(args)}"


def tool_call(name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None) -> ToolCalls:
    """A model turn that asks for one tool call (``id``: native mode only; default ``call_<turn>_1``)."""
    return ToolCalls(((name, dict(args or {}), id),))


def parallel(*turns: ToolCalls) -> ToolCalls:
    """One model turn that asks for the tool calls of several :func:`tool_call` turns at once (native mode)."""
    return ToolCalls(tuple(call for turn in turns for call in turn.calls))
