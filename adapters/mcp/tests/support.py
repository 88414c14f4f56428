"""Helpers shared by the tests: the SDK client through the proxy, a raw line client, audit rows."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client

from capfence.testing import audit_rows

WAIT = 30.0
"""Upper bound of any wait in these tests (they wait on conditions; this only bounds a failure)."""


@contextlib.asynccontextmanager
async def connect(command: Sequence[str], **session_options: Any) -> AsyncIterator[ClientSession]:
    """An initialized SDK ``ClientSession`` over stdio to ``command`` (the proxy, or a server directly)."""
    params = StdioServerParameters(command=command[0], args=list(command[1:]), env=dict(os.environ))
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, **session_options) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def decisions(audit_log: Path) -> list[dict[str, Any]]:
    return audit_rows(audit_log)


class RawClient:
    """The proxy as a subprocess driven with raw lines, for what the SDK would never send."""

    def __init__(self, command: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.lines: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        self._stderr_read = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_read.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._arrived:
                self.lines.append(json.loads(line))
                self._arrived.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    def send(self, data: bytes | dict[str, Any]) -> None:
        assert self.process.stdin is not None
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.process.stdin.write(raw if raw.endswith(b"\n") else raw + b"\n")
        self.process.stdin.flush()

    def request(self, request_id: int | str, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})

    def initialize(self) -> None:
        self.request(
            0,
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        )
        self.answer(0)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def answer(self, request_id: int | str | None, timeout: float = WAIT) -> dict[str, Any]:
        """The response with this id (``None``: the next response with a null id), waiting for it to arrive."""

        def found() -> dict[str, Any] | None:
            same = (
                m
                for m in self.lines
                if "method" not in m and m.get("id") == request_id and type(m.get("id")) is type(request_id)
            )
            return next(same, None)

        with self._arrived:
            arrived = self._arrived.wait_for(
                lambda: found() is not None or self.process.poll() is not None, timeout
            )
            assert arrived, f"no answer to {request_id!r}"
            message = found()
        assert message is not None, (
            f"the proxy exited without answering {request_id!r}: {self.stderr.decode()}"
        )
        self.lines.remove(message)
        return message

    def notification(self, method: str, timeout: float = WAIT) -> dict[str, Any]:
        """The first notification of ``method`` (waiting for it to arrive)."""

        def found() -> dict[str, Any] | None:
            return next((m for m in self.lines if m.get("method") == method and "id" not in m), None)

        with self._arrived:
            assert self._arrived.wait_for(
                lambda: found() is not None or self.process.poll() is not None, timeout
            ), f"no {method}"
            message = found()
        assert message is not None, f"the proxy exited without sending {method}: {self.stderr.decode()}"
        self.lines.remove(message)
        return message

    def close(self) -> int:
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        status = self.process.wait(WAIT)
        # all of stderr is read (the process exiting does not mean the reader is done)
        self._stderr_read.join(WAIT)
        return status
