"""Fixtures: a policy, the proxy as a real subprocess (``capfence mcp proxy``), the SDK's client on the other end.

No network beyond loopback and no model. Waits are bounded and wait on conditions
(a line arriving, a process exiting), never on fixed sleeps.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from capfence import ActionRuntime
from capfence.testing import capfence_runtime  # noqa: F401 - the contract suite's fixture

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
DEMO_SERVER = HERE / "demo_server.py"
CAPFENCE = Path(sys.executable).with_name("capfence")
FILESYSTEM_SERVER = "@modelcontextprotocol/server-filesystem@2026.8.31"

POLICY = """
deny:
  - id: no-forbidden
    capability: "mcp.*"
    contains: forbidden
    reason: forbidden text
  - id: never-crash
    capability: mcp.demo.crash
    reason: crashing is not allowed
  - id: only-srv
    capability: mcp.demo.list_dir
    path: {not_under: ["/srv"]}
    reason: lists only under /srv
require_approval:
  - id: hold-releases
    capability: mcp.demo.write_note
    contains: release
    reason: releases need a human
warn:
  - id: observe-notes
    capability: mcp.demo.write_note
allow:
  - id: the-rest
    capability: "mcp.demo.*"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(POLICY))
    return path


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def runtime(policy: Path, audit_log: Path) -> Iterator[ActionRuntime]:
    """A runtime on the same policy and audit log as the proxy (to approve, and to read the queue)."""
    rt = ActionRuntime.from_policy(policy, audit_log=audit_log)
    yield rt
    rt.close()


def proxy_command(policy: Path, audit_log: Path, *options: str) -> list[str]:
    return [
        str(CAPFENCE),
        "mcp",
        "proxy",
        "--policy",
        str(policy),
        "--audit-log",
        str(audit_log),
        "--server-name",
        "demo",
        *options,
    ]


def demo_command(workdir: Path, *options: str) -> list[str]:
    return [sys.executable, str(DEMO_SERVER), "--workdir", str(workdir), *options]


@pytest.fixture(scope="session")
def filesystem_server() -> list[str]:
    """The reference filesystem server from npm, pinned (nox installs it; otherwise it is installed here, once)."""
    import os

    prefix = Path(os.environ.get("CAPFENCE_TEST_NODE_PREFIX") or ROOT / ".nox" / "mcp-node")
    binary = prefix / "node_modules" / ".bin" / "mcp-server-filesystem"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "the filesystem server tests need Node and npm"
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), FILESYSTEM_SERVER],
            check=True,
        )
    return [str(binary)]


@pytest.fixture
def proxy_options() -> list[str]:
    """More options for the proxy of :func:`http_proxy` (parametrize to set them)."""
    return []


@pytest.fixture
def server_options() -> list[str]:
    """More options for the demo server behind :func:`http_proxy` (parametrize to set them)."""
    return []


@pytest.fixture
def http_proxy(
    policy: Path, audit_log: Path, workdir: Path, proxy_options: list[str], server_options: list[str]
) -> Iterator[str]:
    """The proxy's URL (``--listen``) in front of the demo server over streamable HTTP, both real subprocesses."""
    from support import WAIT, free_port, wait_listening

    server_port, proxy_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(DEMO_SERVER),
            "http",
            str(server_port),
            "--workdir",
            str(workdir),
            *server_options,
        ]
    )
    proxy = subprocess.Popen(
        [
            *proxy_command(policy, audit_log, *proxy_options),
            "--listen",
            f"127.0.0.1:{proxy_port}",
            "--upstream",
            f"http://127.0.0.1:{server_port}/mcp",
        ]
    )
    try:
        wait_listening(server_port, server)
        wait_listening(proxy_port, proxy)
        yield f"http://127.0.0.1:{proxy_port}/mcp"
    finally:
        for process in (proxy, server):
            process.terminate()
            process.wait(WAIT)
