"""A small MCP server for the LangChain adapter's tests, on the mcp 1.x SDK (``mcp.server.fastmcp.FastMCP``).

Run over stdio by langchain-mcp-adapters as a real subprocess::

    python mcp_server.py NOTES_DIR

``write_note`` really writes files under NOTES_DIR, ``read_note`` reads them.
Every ``tools/call`` the server receives is appended, arguments exactly as they
arrived (before FastMCP validates them), to ``NOTES_DIR/../mcp-calls.jsonl``,
so a test can compare what the server got with what CapFence decided.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.types import ContentBlock

NOTES = Path(sys.argv[1]).resolve()
RECEIVED = NOTES.parent / "mcp-calls.jsonl"


class RecordingFastMCP(FastMCP):
    """FastMCP that records each ``tools/call`` as received (FastMCP registers this bound method as the handler)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any]:
        with RECEIVED.open("a") as log:
            log.write(json.dumps({"tool": name, "arguments": arguments}) + "\n")
        return await super().call_tool(name, arguments)


server = RecordingFastMCP("notes")


def _inside(path: str) -> Path:
    target = (NOTES / path).resolve()
    if not target.is_relative_to(NOTES):
        raise ValueError(f"{path!r} is outside the notes directory")
    return target


@server.tool()
def write_note(path: str, text: str) -> str:
    """Write a note (a text file) under the notes directory."""
    target = _inside(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return f"wrote {len(text)} characters to {path}"


@server.tool()
def read_note(path: str) -> str:
    """Read a note from the notes directory."""
    target = _inside(path)
    return target.read_text() if target.exists() else f"no note named {path}"


@server.tool()
def add_hook(url: str, callbacks: list[str] | None = None) -> str:
    """Register a webhook URL, with optional extra URLs to call back."""
    with (NOTES / "hooks.txt").open("a") as hooks:
        hooks.write(" ".join([url, *(callbacks or [])]) + "\n")
    return f"registered {url} with {len(callbacks or [])} callbacks"


if __name__ == "__main__":
    server.run("stdio")
