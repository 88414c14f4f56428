"""``capfence mcp proxy``: added to the ``capfence`` command by this package's plugin."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from capfence_mcp.errors import McpConfigError


@click.group("mcp")
def mcp() -> None:
    """Put CapFence in front of MCP servers (from capfence-mcp).

    \b
    Example:
      capfence mcp proxy --policy policy.yaml -- npx -y @modelcontextprotocol/server-filesystem /srv/data
    """


@mcp.command("proxy", context_settings={"ignore_unknown_options": False})
@click.option(
    "--policy",
    "policy",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The policy that decides every tools/call.",
)
@click.option(
    "--audit-log",
    "audit_log",
    metavar="PATH",
    default=None,
    show_default="$CAPFENCE_AUDIT_LOG or ./audit.db",
    help="Where decisions are recorded.",
)
@click.option(
    "--agent-id",
    default="mcp",
    show_default=True,
    help="The agent id decisions are recorded under (a policy's agent: rules).",
)
@click.option(
    "--server-name",
    metavar="NAME",
    help="The server's name in capabilities (mcp.NAME.TOOL) and records; default: from the command or URL.",
)
@click.option(
    "--capabilities",
    "capabilities_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="YAML mapping of default capability names (or globs) to the capabilities the policy uses.",
)
@click.option(
    "--hide-denied",
    is_flag=True,
    help="Drop from tools/list the tools every call of which the policy denies.",
)
@click.option(
    "--no-elicitation",
    is_flag=True,
    help="Never ask the client's user to approve held calls; always answer with the approval id.",
)
@click.option(
    "--approval-wait",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the user's answer to an elicitation.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0.1),
    default=300.0,
    show_default=True,
    help="Seconds the server has to answer a request before the client gets an error.",
)
@click.option(
    "--max-message-bytes",
    type=click.IntRange(min=1024),
    default=16 * 1024 * 1024,
    show_default=True,
    help="Larger messages (either side) are refused.",
)
@click.option(
    "--environment",
    default=None,
    help="The environment decisions are made in (default $CAPFENCE_ENVIRONMENT).",
)
@click.option(
    "--listen", metavar="HOST:PORT", help="HTTP mode: serve streamable HTTP here (loopback) instead of stdio."
)
@click.option("--upstream", metavar="URL", help="HTTP mode: the streamable-HTTP MCP server to forward to.")
@click.option("-v", "--verbose", is_flag=True, help="Log every decision on stderr.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def proxy(**options: object) -> None:
    """Gate every tools/call of an MCP server with a CapFence policy.

    Stdio mode: speaks MCP on stdin/stdout to the client and runs the server COMMAND (after --) as a
    child process over its stdio. HTTP mode (--listen, --upstream): serves streamable HTTP on a loopback
    address and forwards to the server at URL. Every tools/call is decided and recorded before it is
    forwarded (capability mcp.SERVER.TOOL unless mapped); a blocked call gets a tool result with
    isError true saying why; a held call asks the user through elicitation when the client supports it,
    else names the approval request to approve. Everything else passes through unchanged.

    \b
    Example:
      capfence mcp proxy --policy policy.yaml --server-name filesystem -- npx -y @modelcontextprotocol/server-filesystem /srv
      capfence mcp proxy --policy policy.yaml --listen 127.0.0.1:8765 --upstream http://127.0.0.1:9000/mcp
    """
    from capfence_mcp.launch import launch

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if options.get("verbose") else logging.WARNING,
        format="capfence mcp: %(message)s",
    )
    try:
        launch(options)
    except McpConfigError as exc:
        raise click.UsageError(str(exc)) from None
