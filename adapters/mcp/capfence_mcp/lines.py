"""Reading newline-delimited messages with a size limit (the stdio transport's framing).

A message longer than the limit is discarded up to its newline, and
:data:`~capfence_mcp.relay.OVERSIZED` is returned in its place: the reader
keeps its place in the stream, and memory stays bounded whatever the peer sends.
"""

from __future__ import annotations

import asyncio

from capfence_mcp.relay import OVERSIZED, _Oversized

CHUNK = 1 << 16


class LineReader:
    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader = reader
        self._limit = limit
        self._buffer = bytearray()
        self._skipping = False

    async def next(self) -> bytes | _Oversized | None:
        """The next message (without its newline), :data:`OVERSIZED`, or None at the end of the stream."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                if self._skipping:
                    self._skipping = False
                    return OVERSIZED
                if len(line) > self._limit:
                    return OVERSIZED
                if line.strip():
                    return line
                continue
            if len(self._buffer) > self._limit:
                self._skipping = True
                self._buffer.clear()
            chunk = await self._reader.read(CHUNK)
            if not chunk:
                return self._at_end()
            self._buffer.extend(chunk)

    def _at_end(self) -> bytes | _Oversized | None:
        rest, self._buffer = bytes(self._buffer), bytearray()
        if self._skipping:
            self._skipping = False
            return OVERSIZED
        return rest if rest.strip() and len(rest) <= self._limit else None
