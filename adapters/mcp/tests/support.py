"""Helpers shared by the tests: the SDK client through the proxy, a raw line client, audit rows."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from capfence.testing import audit_rows
from capfence_mcp.jsonrpc import REQUEST_TIMEOUT
from conftest import CAPFENCE, proxy_command

WAIT = 30.0
"""Upper bound of any wait in these tests (they wait on conditions; this only bounds a failure)."""
ALLOW_ALL = "allow:\n  - capability: 'mcp.*'\n"


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


@contextlib.asynccontextmanager
async def connect_http(url: str, **session_options: Any) -> AsyncIterator[ClientSession]:
    """An initialized SDK ``ClientSession`` over streamable HTTP to ``url`` (the proxy's, see ``http_proxy``)."""
    async with (
        streamable_http_client(url) as (read, write),
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
        """Close the proxy's stdin and wait for it to exit; its exit status (closing again gives it again)."""
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        status = self.process.wait(WAIT)
        # all of stderr is read (the process exiting does not mean the reader is done)
        self._stderr_read.join(WAIT)
        return status

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_proxy(policy: Path, audit_log: Path, server: Sequence[str], *options: str) -> RawClient:
    """``capfence mcp proxy`` in front of the ``server`` command, driven with raw lines, initialized (a context manager)."""
    client = RawClient([*proxy_command(policy, audit_log, *options), "--", *server])
    try:
        client.initialize()
    except BaseException:
        client.close()
        raise
    return client


def served(
    client: RawClient, request_id: int | str, method: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The answer to a request sent again while the proxy answers that the server timed out (-32001), within WAIT.

    For proxies started with a short ``--request-timeout`` (to test a request that hangs): every other request
    waits on its answer, not on that window (a process on a loaded machine can take longer to answer). Only for
    requests that may be sent twice (their id is free again once timed out; a late answer to the first is dropped).
    """
    deadline = time.monotonic() + WAIT
    while True:
        client.request(request_id, method, params)
        answer = client.answer(request_id, max(deadline - time.monotonic(), 0.0))
        timed_out = answer.get("error", {}).get("code") == REQUEST_TIMEOUT
        if not timed_out or time.monotonic() >= deadline:
            return answer


def wait_ready(client: RawClient) -> None:
    """Wait until the server answers through the proxy, and the proxy knows its tools' schemas.

    A ``tools/list`` passing through teaches the proxy the schemas (``ToolSchemas.learn``), so a ``tools/call``
    after this needs no listing of the proxy's own: with a short ``--request-timeout`` only the request meant to
    hang depends on that window, not the server starting up.
    """
    answer = served(client, "ready", "tools/list")
    assert isinstance(answer.get("result", {}).get("tools"), list), f"the server is not ready: {answer}"


def scripted_server(tmp_path: Path, source: str) -> tuple[Path, list[str]]:
    """An allow-all policy (``mcp.*``) and the command of a server written as ``source`` (raw lines), in ``tmp_path``."""
    server = tmp_path / "scripted_server.py"
    server.write_text(source)
    policy = tmp_path / "allow_all.yaml"
    policy.write_text(ALLOW_ALL)
    return policy, [sys.executable, str(server)]


def verify(audit_log: Path) -> str:
    """``capfence verify`` on ``audit_log`` (a real subprocess): its output, once it has passed."""
    done = subprocess.run(
        [str(CAPFENCE), "verify", "--audit-log", str(audit_log)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # polling a condition (the port accepting), bounded by WAIT
    raise AssertionError(f"nothing listens on {port}")
