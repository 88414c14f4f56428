"""Errors of capfence-mcp.

Hierarchy::

    CapFenceError (capfence)
    └── McpError                 base of everything this package raises on purpose
        ├── McpConfigError       a bad option or file (capabilities file, --listen, server command)
        └── ServerGone           the MCP server exited or closed its output; the proxy stops
"""

from __future__ import annotations

from capfence.errors import CapFenceError


class McpError(CapFenceError):
    """Base class of capfence-mcp's errors."""


class McpConfigError(McpError):
    """A bad option or configuration file."""


class ServerGone(McpError):
    """The server process exited (or closed its output) while the proxy was serving."""
