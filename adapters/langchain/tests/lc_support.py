"""Offline helpers for the LangChain adapter tests: scripts for ``capfence_langchain.testing.ScriptedChatModel`` and audit queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from capfence.testing import audit_rows
from capfence_langchain.testing import ScriptedChatModel, parallel, tool_call


def script(*replies: AIMessage | str) -> ScriptedChatModel:
    """A fresh model (one model plays its script once)."""
    return ScriptedChatModel(*replies)


def calls(*specs: tuple[str, dict[str, Any], str]) -> AIMessage:
    """An AI turn requesting the tool calls ``(name, args, id)``, all at once (parallel)."""
    return parallel(*(tool_call(n, a, id=i) for n, a, i in specs))


def tool_messages(messages: Sequence[BaseMessage]) -> dict[str, ToolMessage]:
    """The tool results of a conversation by tool_call_id."""
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}


def decisions(audit_log: str | Path) -> list[dict[str, Any]]:
    """Every decision record, with its call id (from ``detail``) under ``call_id``."""
    rows = audit_rows(audit_log)
    for row in rows:
        row["call_id"] = json.loads(row["detail"]).get("call_id") if row["detail"] else None
        row["args"] = json.loads(row["payload"])
    return rows


def decisions_by_call(audit_log: str | Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in decisions(audit_log):
        out.setdefault(row["call_id"], []).append(row)
    return out


POLICY = """\
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
    reason: secrets are off limits
require_approval:
  - id: hold-deploys
    capability: deploy.production
warn:
  - id: observe-writes
    capability: filesystem.write
  - id: observe-shell
    capability: shell.execute
allow:
  - id: reads
    capability: filesystem.read
  - id: reports
    capability: report.*
"""
"""The policy of the ``runtime`` fixture (default deny)."""

CAPABILITIES = {
    "write_file": "filesystem.write",
    "read_file": "filesystem.read",
    "finish": "report.finish",
    "search": "report.search",
    "stats": "report.stats",
}
"""The capability each test tool is gated under (and the middleware's explicit map)."""


def file_tools(workdir: Path) -> dict[str, Any]:
    """Fresh, ungated tools whose bodies leave files in ``workdir``."""
    from langchain_core.tools import tool

    @tool
    def write_file(name: str, text: str) -> str:
        """Write text to a file in the work directory."""
        (workdir / name).write_text(text)
        return f"wrote {len(text)} characters to {name}"

    @tool
    def read_file(name: str) -> str:
        """Read a file from the work directory."""
        path = workdir / name
        return path.read_text() if path.exists() else f"no file named {name}"

    @tool(return_direct=True)
    def finish(answer: str) -> str:
        """Give the final answer to the user and stop."""
        (workdir / "finished.txt").write_text(answer)
        return f"FINAL: {answer}"

    @tool(response_format="content_and_artifact")
    def search(query: str) -> tuple[str, dict[str, Any]]:
        """Search the notes; the raw hits come back as an artifact."""
        (workdir / "searched.txt").write_text(query)
        return f"2 hits for {query}", {"query": query, "hits": [{"id": 1}, {"id": 2}]}

    @tool
    def stats(name: str) -> dict[str, Any]:
        """Line statistics of a file, as a dict."""
        (workdir / "stats.txt").write_text(name)
        return {"name": name, "lines": 3, "sizes": [1, 2, 3]}

    return {t.name: t for t in (write_file, read_file, finish, search, stats)}


def gated_tools(workdir: Path, gate: Any, agent_id: str = "test-agent") -> list[Any]:
    """Every tool of :func:`file_tools`, wrapped with CapFenceTool under :data:`CAPABILITIES`."""
    from capfence import CapFenceTool

    return [
        CapFenceTool(tool=t, agent_id=agent_id, capability=CAPABILITIES[name], gate=gate)
        for name, t in file_tools(workdir).items()
    ]
