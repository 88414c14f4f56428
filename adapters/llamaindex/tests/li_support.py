"""Offline helpers for the agent tests: scripts for ``capfence_llamaindex.testing.ScriptedLLM``, tools with side effects, audit queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import TextBlock
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import audit_rows
from capfence_llamaindex.testing import ScriptedLLM, parallel, react_step, tool_call

CAPABILITIES = {
    "write_file": "filesystem.write",
    "read_file": "filesystem.read",
    "deploy": "deploy.production",
}
DENIED = "CapFence deny: secrets are off limits [rule no-secrets]"


def calls(*specs: tuple[str, dict[str, Any], str], text: str = "") -> ChatMessage:
    """An assistant message with one tool call per ``(tool_name, kwargs, tool_call_id)`` (several: parallel calls)."""
    message = parallel(*(tool_call(name, kwargs, id=call_id) for name, kwargs, call_id in specs))
    if text:
        message.blocks.insert(0, TextBlock(text=text))
    return message


def scripted(*replies: ChatMessage | str) -> ScriptedLLM:
    """``capfence_llamaindex.testing.ScriptedLLM`` answering "(script exhausted)" once its script is played."""
    return ScriptedLLM(*replies, final="(script exhausted)")


react = react_step


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


def gated_tools(
    workdir: Path, runtime: ActionRuntime, agent_id: str, names: tuple[str, ...] = tuple(CAPABILITIES)
) -> list[FunctionTool]:
    """Each tool wrapped on its own with ``CapFenceTool``."""
    tools = file_tools(workdir)
    return [
        CapFenceTool(tool=tools[name], agent_id=agent_id, capability=CAPABILITIES[name], gate=runtime)
        for name in names
    ]


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
