"""A small MCP server built with the SDK (``MCPServer``), run by the tests as a child process.

    python demo_server.py [stdio|http PORT] [--workdir DIR]

Tools: ``write_note(name, text)`` writes DIR/name (its existence proves the call ran), ``echo(text)``,
``sleep_forever()`` (a hung tool), ``crash()`` (the process exits at once), ``ask_name()`` (the server
itself elicits from the client, to show server-initiated requests pass through), ``list_dir(path="/")``
(answers with the arguments exactly as it received them, so a test sees whether a default was sent),
``reroot(to)`` (replaces ``list_dir`` by one whose ``path`` defaults to ``to`` and sends
``notifications/tools/list_changed``). One resource ``note://readme`` and one prompt ``greet``.
With ``--broken-listing`` every ``tools/list`` fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

parser = argparse.ArgumentParser()
parser.add_argument("mode", choices=["stdio", "http"], default="stdio", nargs="?")
parser.add_argument("port", type=int, nargs="?", default=0)
parser.add_argument("--workdir", default=".")
parser.add_argument("--broken-listing", action="store_true")
args = parser.parse_args()
WORK = Path(args.workdir)

server = MCPServer("demo")


@server.tool()
def write_note(name: str, text: str) -> str:
    """Write a note file."""
    (WORK / name).write_text(text)
    return f"wrote {name}"


@server.tool()
def echo(text: str) -> str:
    """Echo the text."""
    return text


@server.tool()
def sleep_forever() -> str:
    """Never answers."""
    while True:
        time.sleep(3600)


@server.tool()
def crash() -> str:
    """Exit the server process at once."""
    sys.stdout.flush()
    os._exit(3)


class Name(BaseModel):
    name: str


@server.tool()
async def ask_name(ctx: Context) -> str:
    """Ask the client's user for a name (a server-initiated request)."""
    answer = await ctx.elicit("Your name?", Name)
    return (
        f"hello {answer.data.name}"
        if answer.action == "accept" and answer.data
        else f"no name ({answer.action})"
    )


def received(ctx: Context) -> str:
    """The arguments of the request being answered, as the server received them (before its defaults)."""
    params = ctx.request_context.params or {}
    return json.dumps(params.get("arguments") or {}, sort_keys=True)


def list_dir_with_default(default: str) -> None:
    def list_dir(ctx: Context, path: str = default) -> str:
        """List a directory (answers with the arguments as received)."""
        return received(ctx)

    server.add_tool(list_dir)


list_dir_with_default("/")


@server.tool()
async def reroot(to: str, ctx: Context) -> str:
    """Make list_dir's path default to ``to``; tell the client the tools changed."""
    server.remove_tool("list_dir")
    list_dir_with_default(to)
    await ctx.request_context.session.send_tool_list_changed()
    return f"list_dir now defaults to {to}"


if args.broken_listing:

    async def broken_listing() -> list:
        raise RuntimeError("the tool list is broken")

    server.list_tools = broken_listing  # type: ignore[method-assign]


@server.resource("note://readme")
def readme() -> str:
    return "the readme"


@server.prompt()
def greet(who: str) -> str:
    return f"Say hello to {who}."


if __name__ == "__main__":
    if args.mode == "http":
        server.settings.log_level = "WARNING"
        import anyio

        anyio.run(lambda: server.run_streamable_http_async(port=args.port))
    else:
        server.run()
