"""CapFence for MCP: gate every Model Context Protocol tool call.

* ``capfence mcp proxy --policy P -- <server command>``: a proxy any MCP client
  can use in place of the server (stdio, or streamable HTTP with ``--listen``
  and ``--upstream``); every ``tools/call`` is decided and audited first.
* :func:`guard_session`: a gated copy of an ``mcp.ClientSession``.

Names are imported on first use, so importing this package (as the plugin
loader does) imports neither the MCP SDK nor the proxy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.lazy import lazy_exports

if TYPE_CHECKING:
    from capfence_mcp.capabilities import CapabilityMap, default_capability
    from capfence_mcp.errors import McpConfigError, McpError, ServerGone
    from capfence_mcp.gatekeeper import Gatekeeper
    from capfence_mcp.relay import Settings
    from capfence_mcp.results import blocked_result
    from capfence_mcp.session import SessionGuard, guard_session
    from capfence_mcp.stdio import serve_stdio

__all__ = [
    "CapabilityMap",
    "Gatekeeper",
    "McpConfigError",
    "McpError",
    "ServerGone",
    "SessionGuard",
    "Settings",
    "blocked_result",
    "default_capability",
    "guard_session",
    "serve_stdio",
]

_HOMES = {
    "CapabilityMap": "capfence_mcp.capabilities",
    "default_capability": "capfence_mcp.capabilities",
    "McpConfigError": "capfence_mcp.errors",
    "McpError": "capfence_mcp.errors",
    "ServerGone": "capfence_mcp.errors",
    "Gatekeeper": "capfence_mcp.gatekeeper",
    "Settings": "capfence_mcp.relay",
    "blocked_result": "capfence_mcp.results",
    "SessionGuard": "capfence_mcp.session",
    "guard_session": "capfence_mcp.session",
    "serve_stdio": "capfence_mcp.stdio",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
