"""Helpers for the console's tests: a populated audit log, a signed-in client, a real server on a loopback port."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from capfence import ActionRuntime
from tests.support.waiting import wait_for

TOKEN = "test-console-token-0123456789"
HOSTILE = '<script>alert("x")</script>'
POLICY = """
redact: [token]
deny:
  - id: no-rm-root
    capability: shell.execute
    contains: "rm -rf /"
require_approval:
  - id: hold-deploy
    capability: deploy.*
    reason: deploys need a human
allow:
  - id: shell-ok
    capability: shell.execute
"""
STRICT = "deny:\n  - id: no-shell\n    capability: shell.*\nrequire_approval:\n  - id: hold-deploy\n    capability: deploy.*\n"


def require_web() -> None:
    """Skip the calling test module unless the ``capfence[web]`` extra and the test client are installed."""
    import pytest

    reason = "the console tests need the web extra: pip install -e '.[web,web-test]' (nox -s web)"
    for module in ("starlette", "jinja2", "multipart", "uvicorn"):
        pytest.importorskip(module, reason=reason)
    try:
        import starlette.testclient  # noqa: F401 - needs httpx2 (or httpx)
    except RuntimeError:
        pytest.skip(reason)


def approval_events(path: str | Path) -> list[dict[str, Any]]:
    """The parsed ``detail`` of every ``approval`` record in the SQLite log at ``path``, in chain order."""
    import json
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
    try:
        return [
            json.loads(row[0])
            for row in conn.execute("SELECT detail FROM records WHERE kind = 'approval' ORDER BY seq")
        ]
    finally:
        conn.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def populate(policy: Path, audit_log: str) -> dict[str, Any]:
    """A log with allowed, denied and held calls, one from a hostile agent id; returns what a test needs to find them."""
    with ActionRuntime.from_policy(policy, audit_log=audit_log) as runtime:
        allowed = runtime.evaluate("shell.execute", {"command": "ls -la"}, agent_id="ops-bot", tool="bash")
        hostile = runtime.evaluate(
            "shell.execute", {"command": HOSTILE, "note": HOSTILE}, agent_id=HOSTILE, tool=HOSTILE
        )
        denied = runtime.evaluate(
            "shell.execute", {"command": "rm -rf /", "token": "s3cret-value"}, agent_id="ops-bot", tool="bash"
        )
        runtime.record_outcome(allowed, "ran")
        runtime.record_outcome(denied, "blocked")
        held = runtime.evaluate(
            "deploy.production", {"version": "1.4.2"}, agent_id="release-bot", tool="deploy"
        )
    return {"allowed": allowed, "hostile": hostile, "denied": denied, "held": held}


def sign_in(client: Any, token: str = TOKEN) -> Any:
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "token": token, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "the console server to start", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
