"""Which MCP methods the proxy passes on, and which it gates.

Only ``tools/call`` runs a tool, so only ``tools/call`` is decided by the
policy (and ``tools/list`` is filtered with ``--hide-denied``). Everything else
named here passes through unchanged, in both protocol eras (the ``initialize``
handshake up to 2025-11-25, the per-request envelope of 2026-07-28). A method
from the client that is not named here is answered ``method not found`` and
never reaches the server: a ``tools/call`` cannot be smuggled in under another
name, and a method a later revision adds is not passed on before it has been
reviewed. Server-to-client traffic (requests, notifications) reaches the
client unchanged: it cannot run a tool on the server.
"""

from __future__ import annotations

TOOLS_CALL = "tools/call"
TOOLS_LIST = "tools/list"
INITIALIZE = "initialize"
CANCELLED = "notifications/cancelled"
TOOLS_LIST_CHANGED = "notifications/tools/list_changed"
"""From the server: its tools (and so their ``inputSchema``, whose defaults the proxy fills in) changed."""

CLIENT_REQUESTS = frozenset(
    {
        "initialize",
        "ping",
        TOOLS_LIST,
        TOOLS_CALL,
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "server/discover",
        "subscriptions/listen",
        "tasks/get",
        "tasks/result",
        "tasks/list",
        "tasks/cancel",
    }
)
"""Requests a client may send; ``tools/call`` is decided, the others pass through."""

CLIENT_NOTIFICATIONS = frozenset(
    {
        "notifications/initialized",
        CANCELLED,
        "notifications/progress",
        "notifications/roots/list_changed",
        "notifications/tasks/status",
    }
)
"""Notifications a client may send; any other is dropped (and logged)."""

GATED = (TOOLS_CALL,)
"""The methods the policy decides."""
