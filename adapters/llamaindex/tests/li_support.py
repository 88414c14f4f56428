"""Offline helpers for the agent tests: a scripted LLM, file tools with real side effects, audit queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import TextBlock, ToolCallBlock
from llama_index.core.llms import ChatMessage
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows

CAPABILITIES = {"write_file": "filesystem.write", "read_file": "filesystem.read", "deploy": "deploy.production"}
DENIED = "CapFence deny: secrets are off limits [rule no-secrets]"


def calls(*specs: tuple[str, dict[str, Any], str], text: str = "") -> ChatMessage:
    """An assistant message with one tool call per ``(tool_name, kwargs, tool_call_id)`` (several: parallel calls)."""
    blocks: list[Any] = [TextBlock(text=text)] if text else []
    blocks += [ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=kwargs) for name, kwargs, call_id in specs]
    return ChatMessage(role="assistant", blocks=blocks)


class ScriptedLLM:
    """A ``MockFunctionCallingLLM`` that answers from a script and keeps every prompt it was sent."""

    def __init__(self, *replies: ChatMessage | str) -> None:
        self.replies = list(replies)
        self.prompts: list[list[ChatMessage]] = []
        self.llm = MockFunctionCallingLLM(response_generator=self._reply, is_chat_model=True)

    def _reply(self, messages: list[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.prompts.append(list(messages))
        reply = self.replies.pop(0) if self.replies else "(script exhausted)"
        return ChatMessage(role="assistant", content=reply) if isinstance(reply, str) else reply

    def saw(self, text: str) -> bool:
        """Whether ``text`` appeared in any message the model was sent."""
        return any(text in (message.content or "") for prompt in self.prompts for message in prompt)


def react(tool: str, kwargs: dict[str, Any], thought: str = "I need a tool.") -> str:
    """A ReAct step that calls ``tool``."""
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {json.dumps(kwargs)}"


def react_answer(answer: str) -> str:
    return f"Thought: I can answer without using any more tools.\nAnswer: {answer}"


def file_functions(workdir: Path) -> dict[str, Callable[..., Any]]:
    """Plain functions with real side effects in ``workdir``."""

    def write_file(name: str, text: str) -> str:
        """Write text to a file in the work directory."""
        (workdir / name).write_text(text)
        return f"wrote {name}"

    async def read_file(name: str) -> str:
        """Read a file from the work directory."""
        path = workdir / name
        return path.read_text() if path.exists() else f"{name} does not exist"

    def deploy(service: str) -> str:
        """Deploy a service to production."""
        (workdir / f"deployed-{service}").write_text("yes")
        return f"deployed {service}"

    return {"write_file": write_file, "read_file": read_file, "deploy": deploy}


def file_tools(workdir: Path) -> dict[str, FunctionTool]:
    return {name: FunctionTool.from_defaults(fn) for name, fn in file_functions(workdir).items()}


def gated_tools(workdir: Path, runtime: ActionRuntime, agent_id: str, names: tuple[str, ...] = tuple(CAPABILITIES)) -> list[FunctionTool]:
    """Each tool wrapped on its own with ``CapFenceTool``."""
    tools = file_tools(workdir)
    return [CapFenceTool(tool=tools[name], agent_id=agent_id, capability=CAPABILITIES[name], gate=runtime) for name in names]


def decisions(runtime: ActionRuntime) -> list[dict[str, Any]]:
    return audit_rows(runtime.audit_log)


def decisions_by_call(runtime: ActionRuntime) -> dict[str, list[str]]:
    """Call id (the model's tool-call id, without the run id) -> the actions recorded for it."""
    found: dict[str, list[str]] = {}
    for row in decisions(runtime):
        call_id = json.loads(row["detail"] or "{}").get("call_id", "?")
        found.setdefault(call_id.rsplit(":", 1)[-1], []).append(row["decision"])
    return found


def outcomes(runtime: ActionRuntime) -> list[str]:
    return [row["outcome"] for row in audit_rows(runtime.audit_log, "outcome")]
