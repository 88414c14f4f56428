"""The stdio proxy: MCP on this process's stdin/stdout to the client, the real server as a child over its stdio.

The server's stderr is this process's stderr (where the proxy logs too, one
line per event). The proxy stops when the client closes stdin (the server is
then asked to exit: stdin closed, then SIGTERM, then SIGKILL, each after a
bounded wait) or when the server exits (every open request is answered with
an error first; the exit status is then 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from capfence_mcp import jsonrpc
from capfence_mcp.errors import McpConfigError, ServerGone
from capfence_mcp.gatekeeper import Gatekeeper
from capfence_mcp.lines import LineReader
from capfence_mcp.relay import Relay, Settings, _Oversized

log = logging.getLogger("capfence.mcp")
EXIT_GRACE = 3.0
"""Seconds the server gets to exit after its stdin closes, and again after SIGTERM."""


class Writer:
    """Serialised writes of whole messages to one stream; a closed peer is logged once, not raised."""

    def __init__(self, stream: asyncio.StreamWriter, side: str) -> None:
        self._stream = stream
        self._lock = asyncio.Lock()
        self._side = side
        self.closed = False

    async def write(self, data: bytes) -> None:
        async with self._lock:
            if self.closed:
                return
            try:
                self._stream.write(data)
                await self._stream.drain()
            except (ConnectionError, OSError) as exc:
                self.closed = True
                log.warning("cannot write to the %s any more: %s", self._side, exc)

    async def send(self, body: dict[str, Any]) -> None:
        await self.write(jsonrpc.encode(body))


def _check_stdio() -> None:
    """stdin and stdout must be pipes, sockets or terminals: the event loop cannot wait on a file or /dev/null (it would hang)."""
    for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout)):
        try:
            fd = stream.fileno()
            mode = os.fstat(fd).st_mode
        except (AttributeError, ValueError, OSError) as exc:
            raise McpConfigError(f"stdin and stdout must be pipes to an MCP client ({name}: {exc})") from None
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)):
            raise McpConfigError(
                f"stdin and stdout must be pipes to an MCP client ({name} is a file or a device)"
            )


async def _stdio_streams() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    try:
        # duplicates, so closing the transports leaves this process's own stdin/stdout usable
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(sys.stdin.fileno()), "rb", 0)
        )
        stdout = os.fdopen(os.dup(sys.stdout.fileno()), "wb", 0)
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
    except ValueError as exc:
        raise McpConfigError(f"stdin and stdout must be pipes to an MCP client ({exc})") from None
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)


async def _pump(lines: LineReader, handle: Callable[[bytes | _Oversized], Awaitable[None]]) -> None:
    while (message := await lines.next()) is not None:
        await handle(message)


async def serve_stdio(gatekeeper: Gatekeeper, command: Sequence[str], settings: Settings) -> None:
    """Run until the client or the server goes away; raises :class:`ServerGone` if the server did."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20
        )
    except OSError as exc:
        raise McpConfigError(f"cannot start the MCP server {command[0]!r}: {exc.strerror or exc}") from None
    assert process.stdin is not None and process.stdout is not None
    try:
        _check_stdio()
    except McpConfigError:
        await _stop(process)
        raise
    client_in, client_out = await _stdio_streams()
    to_client, to_server = Writer(client_out, "client"), Writer(process.stdin, "server")
    relay = Relay(gatekeeper, to_client.send, to_server.write, settings)
    limit = settings.max_message_bytes
    client = asyncio.ensure_future(_pump(LineReader(client_in, limit), relay.from_client))
    server = asyncio.ensure_future(_pump(LineReader(process.stdout, limit), relay.from_server))
    await asyncio.wait({client, server}, return_when=asyncio.FIRST_COMPLETED)
    if client.done():
        relay.client_gone()
        await relay.drain()
        server.cancel()
        relay.abandon("the client disconnected")
        await _stop(process)
        return
    status = await _exit_status(process)
    reason = (
        f"the MCP server exited (status {status})"
        if status is not None
        else "the MCP server closed its output"
    )
    await relay.server_gone(reason)
    await relay.drain()
    client.cancel()
    await _stop(process)
    raise ServerGone(reason)


async def _exit_status(process: asyncio.subprocess.Process) -> int | None:
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(process.wait(), EXIT_GRACE)
    return None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Close the server's stdin, then SIGTERM, then SIGKILL, each after :data:`EXIT_GRACE` seconds."""
    if process.stdin is not None:
        with contextlib.suppress(ConnectionError, OSError):
            process.stdin.close()
    for stop in (None, process.terminate, process.kill):
        if stop is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), EXIT_GRACE)
            return


def run_stdio(gatekeeper: Gatekeeper, command: Sequence[str], settings: Settings) -> None:
    """:func:`serve_stdio` in a new event loop (what ``capfence mcp proxy`` runs)."""
    if os.name != "posix":
        raise McpConfigError("the stdio proxy needs a POSIX system")
    asyncio.run(serve_stdio(gatekeeper, command, settings))
