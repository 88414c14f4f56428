"""From the parsed options of ``capfence mcp proxy`` to a running proxy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capfence.call.runtime import ActionRuntime
from capfence_mcp.capabilities import CapabilityMap
from capfence_mcp.errors import McpConfigError
from capfence_mcp.gatekeeper import Gatekeeper
from capfence_mcp.naming import from_command, from_url
from capfence_mcp.relay import Settings

log = logging.getLogger("capfence.mcp")


def settings_of(options: Mapping[str, Any], audit_log: str) -> Settings:
    return Settings(
        request_timeout=float(options["request_timeout"]),
        hide_denied=bool(options["hide_denied"]),
        elicitation=not options["no_elicitation"],
        approval_wait=float(options["approval_wait"]),
        max_message_bytes=int(options["max_message_bytes"]),
        audit_log=audit_log,
    )


def launch(options: Mapping[str, Any]) -> None:
    command: tuple[str, ...] = options["command"]
    listen, upstream = options.get("listen"), options.get("upstream")
    if (listen is None) != (upstream is None):
        raise McpConfigError("HTTP mode needs both --listen HOST:PORT and --upstream URL")
    if listen is not None and command:
        raise McpConfigError("give either a server command (stdio) or --listen/--upstream (HTTP), not both")
    if listen is None and not command:
        raise McpConfigError("no server command: capfence mcp proxy --policy P -- COMMAND [ARGS...]")
    if listen is not None:
        from capfence_mcp.http import parse_listen

        parse_listen(str(listen))  # a usage error before anything is opened
    server = options.get("server_name") or (from_url(upstream) if upstream else from_command(command))
    capabilities = (
        CapabilityMap.load(options["capabilities_file"])
        if options.get("capabilities_file")
        else CapabilityMap()
    )
    runtime = ActionRuntime.from_policy(
        Path(options["policy"]), options.get("audit_log"), environment=options.get("environment")
    )
    try:
        gatekeeper = Gatekeeper(runtime, str(options["agent_id"]), server, capabilities, runtime.environment)
        settings = settings_of(options, runtime.audit_log)
        log.info("server %r: tools are decided as %s", server, capabilities.resolve(server, "TOOL"))
        if listen is not None:
            from capfence_mcp.http import run_http

            run_http(gatekeeper, listen, str(upstream), settings)
        else:
            from capfence_mcp.stdio import run_stdio

            run_stdio(gatekeeper, command, settings)
    finally:
        runtime.close()
