"""Running the real ``capfence`` executable in a subprocess, and the audit logs the CLI tests read.

The console script installed next to this interpreter when there is one, else ``python -m capfence.cli``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from capfence.call.runtime import ActionRuntime
from tests.support.paths import POLICIES

SCRIPT = Path(sys.executable).with_name("capfence")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "capfence.cli"]
COMMANDS = (
    "init",
    "logs",
    "export",
    "replay",
    "check",
    "explain",
    "verify",
    "checkpoint",
    "suggest",
    "approvals",
    "plugins",
    "serve",
)

AGENT_COMMANDS = [
    "ls -la",
    "cat README.md",
    "rm -rf /tmp/build-cache",
    "curl -s https://example.com/health",
    "systemctl restart nginx",
    "git status",
]


def run(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: int | None = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``capfence ARGS``; assert the exit status is ``check`` (None: any)."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "CAPFENCE_AUDIT_LOG", "CAPFENCE_AUDIT_KEY", "CAPFENCE_DEBUG")
    }
    environ.update({"TZ": "UTC", "COLUMNS": "220", **(env or {})})
    done = subprocess.run(
        [*COMMAND, *map(str, args)],
        cwd=cwd,
        env=environ,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check is not None:
        assert done.returncode == check, (
            f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def record_calls(
    audit: Path,
    policy: Path,
    calls: Iterable[tuple[str, dict[str, Any]]],
    *,
    agent: str = "prod-agent",
    tool: str | None = "run_shell",
    environment: str | None = None,
) -> None:
    """Decide ``calls`` with a real :class:`ActionRuntime`, writing the audit log at ``audit`` (and the outcomes)."""
    with ActionRuntime.from_policy(policy, audit_log=audit, environment=environment) as runtime:
        for capability, payload in calls:
            decision = runtime.evaluate(capability, payload, agent_id=agent, tool=tool)
            runtime.record_outcome(decision, "ran" if decision.allowed else "blocked")


def observed_log(tmp_path: Path) -> Path:
    """The README walkthrough's observe step: the pretend agent's commands under shell_rollout.yaml."""
    audit = tmp_path / "audit.db"
    record_calls(
        audit, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": c}) for c in AGENT_COMMANDS]
    )
    record_calls(
        audit,
        POLICIES / "shell_rollout.yaml",
        [("filesystem.read", {"path": "/etc/hosts"}), ("net.fetch", {"url": "https://x"})],
        agent="helper",
        tool=None,
    )
    return audit


def on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What ``capfence ARGS`` writes to a 160-column pseudo-terminal (colour and all), with ``env`` added."""
    import fcntl
    import pty
    import struct
    import termios

    environ = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TZ": "UTC", **env}
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = subprocess.Popen([*COMMAND, *args], stdout=follower, stderr=follower, env=environ)
    os.close(follower)
    chunks = read_pty(leader)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def read_pty(leader: int) -> list[bytes]:
    """Everything written to a pseudo-terminal until its other end closes (the process exited)."""
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return chunks
