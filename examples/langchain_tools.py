"""Wrap LangChain tools one by one with ``CapFenceTool``, offline.

    pip install ./ './adapters/langchain[agent]' && python examples/langchain_tools.py

1. A wrapped tool is still the same kind of LangChain tool (same name and schema:
   the model sees no difference).
2. Called directly, an allowed call runs and a blocked one raises
   ``ToolCallDenied`` (or ``ApprovalRequired``, carrying the request id).
3. Inside a ``create_agent`` agent, driven here by a scripted model, a blocked
   call becomes an error ``ToolMessage`` the model reads, and the agent carries on.
4. The audit log holds one decision per call, written before the tool ran,
   and what came of it.

To guard a whole agent without wrapping each tool, see ``CapFenceMiddleware``
in ``examples/langchain_rollout/``.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool, ToolCallDenied
from capfence_langchain.testing import ScriptedChatModel, tool_call

POLICY = """\
deny:
  - id: no-dotenv
    capability: filesystem.*
    path: {glob: "**/.env"}
    reason: .env files hold credentials
require_approval:
  - id: hold-email
    capability: email.send
    reason: a human checks every outgoing email
warn:
  - id: observe-writes
    capability: filesystem.write
allow:
  - id: reads
    capability: filesystem.read
"""
CAPABILITIES = {"read_file": "filesystem.read", "write_file": "filesystem.write", "send_email": "email.send"}


def make_tools(workdir: Path) -> list[BaseTool]:
    """Ordinary LangChain tools with real side effects in ``workdir``."""

    @tool
    def read_file(path: str) -> str:
        """Read a text file."""
        return (workdir / path).read_text()

    @tool
    def write_file(path: str, text: str) -> str:
        """Write a text file."""
        (workdir / path).write_text(text)
        return f"wrote {len(text)} characters to {path}"

    @tool
    def send_email(to: str, subject: str) -> str:
        """Send an email."""
        with (workdir / "outbox.log").open("a") as outbox:
            outbox.write(f"{to}: {subject}\n")
        return f"sent to {to}"

    return [read_file, write_file, send_email]


def call_directly(tools: dict[str, BaseTool], name: str, args: dict[str, str]) -> None:
    """``tool.invoke(args)`` as application code would; print what happened."""
    call = f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
    try:
        print(f"  {call} -> returned {tools[name].invoke(args)!r}")
    except ApprovalRequired as held:
        print(
            f"  {call} -> raised ApprovalRequired: held as request {held.request_id} (rule {held.decision.rule})"
        )
    except ToolCallDenied as denied:
        print(f"  {call} -> raised ToolCallDenied: {denied}")


def in_an_agent(tools: list[BaseTool]) -> None:
    """A create_agent agent with the gated tools; the scripted model asks for three calls, then answers."""
    model = ScriptedChatModel(  # a stand-in LLM with tool calling (capfence_langchain.testing), no network
        tool_call("read_file", {"path": ".env"}, id="c1"),
        tool_call("read_file", {"path": "notes.txt"}, id="c2"),
        tool_call("write_file", {"path": "summary.txt", "text": "staging is green"}, id="c3"),
        "I could not read .env (CapFence blocked it), so I summarised notes.txt instead.",
    )
    result = create_agent(model, tools).invoke(
        {"messages": [HumanMessage("Summarise the project's settings.")]}
    )
    for message in result["messages"]:
        if isinstance(message, ToolMessage):
            print(
                f"  result of {message.name} ({message.tool_call_id}), status={message.status}: {str(message.content).strip()}"
            )
        elif isinstance(message, AIMessage) and message.content:
            print(f"  model's answer: {message.content}")


def audit_records(audit_log: Path) -> Iterator[tuple[Any, ...]]:
    """Each decision record with the outcome recorded for it (ran, blocked, held, tool_error)."""
    with sqlite3.connect(audit_log) as db:
        yield from db.execute(
            "SELECT d.seq, d.tool, d.capability, d.decision, d.rule, d.payload, o.outcome FROM records d "
            "LEFT JOIN records o ON o.kind = 'outcome' AND o.ref = d.seq WHERE d.kind = 'decision' ORDER BY d.seq"
        )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="capfence-langchain-"))
    (workdir / "policy.yaml").write_text(POLICY)
    (workdir / ".env").write_text("DATABASE_PASSWORD=hunter2\n")
    (workdir / "notes.txt").write_text("staging is green\n")
    runtime = ActionRuntime.from_policy(workdir / "policy.yaml", audit_log=workdir / "audit.db")

    print("1. Wrap each tool: CapFenceTool returns the same kind of LangChain tool")
    plain = make_tools(workdir)
    safe = [
        CapFenceTool(tool=t, agent_id="notes-agent", capability=CAPABILITIES[t.name], gate=runtime)
        for t in plain
    ]
    for before, after in zip(plain, safe, strict=True):
        same = convert_to_openai_tool(before) == convert_to_openai_tool(after)
        print(
            f"  {after.name}: {type(after).__name__}, a BaseTool: {isinstance(after, BaseTool)}, same schema for the model: {same}"
        )

    print("\n2. Call the wrapped tools directly")
    by_name = {t.name: t for t in safe}
    call_directly(by_name, "read_file", {"path": "notes.txt"})
    call_directly(by_name, "write_file", {"path": "draft.txt", "text": "hello"})
    call_directly(by_name, "read_file", {"path": ".env"})
    call_directly(by_name, "send_email", {"to": "ops@example.com", "subject": "deploy done"})

    print("\n3. The same tools inside a create_agent agent (scripted model)")
    in_an_agent(safe)

    print("\n4. What really happened")
    written = sorted(p.name for p in workdir.glob("*.txt") if p.name != "notes.txt")
    print(
        f"  files the tools wrote: {', '.join(written)}; emails sent: {'yes' if (workdir / 'outbox.log').exists() else 'none'}"
    )
    runtime.close()
    print(f"\n  audit log {workdir / 'audit.db'} (one decision per call, then its outcome):")
    print(
        f"  {'seq':>3}  {'tool':<11} {'capability':<17} {'decision':<17} {'rule':<15} {'outcome':<8} payload"
    )
    for seq, name, capability, decision, rule, payload, outcome in audit_records(workdir / "audit.db"):
        print(
            f"  {seq:>3}  {name:<11} {capability:<17} {decision:<17} {rule or '-':<15} {outcome or '-':<8} {payload}"
        )


if __name__ == "__main__":
    main()
