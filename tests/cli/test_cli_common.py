"""Helpers for the CLI tests (imported by the other test_cli_* files), and the tests every command shares.

Every test runs the real ``capfence`` executable in a subprocess: the
console script installed next to this interpreter when there is one, else
``python -m capfence.cli``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from capfence.call.runtime import ActionRuntime

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
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


# --- tests shared by every command ---------------------------------------------------------


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_has_an_example(command: str) -> None:
    out = run(*([command] if command else []), "--help").stdout
    assert "Example" in out
    assert "capfence " in out.split("Example", 1)[1]


def test_help_lists_every_command() -> None:
    out = run("--help").stdout
    for command in COMMANDS:
        assert f"  {command} " in out


def test_unknown_command_is_a_one_line_usage_error() -> None:
    done = run("nope", check=2)
    assert done.stderr.strip().count("\n") == 0
    assert "capfence: error: No such command 'nope'" in done.stderr


@pytest.mark.parametrize("group", [[], ["approvals"]])
def test_a_group_alone_prints_its_help(group: list[str]) -> None:
    done = run(*group)
    assert done.stdout == run(*group, "--help").stdout
    assert (
        done.stdout.startswith(f"Usage: capfence {' '.join(group)}".rstrip() + " [OPTIONS] COMMAND")
        and "\nCommands:\n" in done.stdout
    )
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "suggestion"), [(["lgos"], "'logs'"), (["replya"], "'replay'"), (["approvals", "lst"], "'list'")]
)
def test_a_mistyped_command_gets_a_suggestion(args: list[str], suggestion: str) -> None:
    done = run(*args, check=2)
    assert (
        done.stderr.count("\n") == 1
        and f"No such command '{args[-1]}'. Did you mean {suggestion}" in done.stderr
    )


def test_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    done = run("logs", "--audit-log", tmp_path / "a.db", "--since", "yesterday-ish", check=2)
    assert (
        done.stderr.startswith("capfence: error: Invalid value for '--since'")
        and done.stderr.count("\n") == 1
    )


def test_missing_audit_log_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    for command in ("logs", "export", "verify", "suggest", "checkpoint"):
        extra = ["-o", str(tmp_path / "ck")] if command == "checkpoint" else []
        done = run(command, "--audit-log", missing, *extra, check=1)
        assert (
            done.stderr
            == f"capfence: error: audit log {missing} does not exist (pass --audit-log PATH or set CAPFENCE_AUDIT_LOG)\n"
        )
        assert "Traceback" not in done.stderr
    assert not missing.exists()


def test_audit_log_defaults_to_env_then_cwd(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert "8 decision(s)" in run("logs", cwd=elsewhere, env={"CAPFENCE_AUDIT_LOG": str(audit)}).stdout
    assert "8 decision(s)" in run("logs", cwd=tmp_path).stdout
    run("logs", cwd=elsewhere, check=1)


def test_not_an_audit_log(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello")
    done = run("logs", "--audit-log", bogus, check=1)
    assert "is not a CapFence audit log" in done.stderr and done.stderr.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run("--debug", "logs", "--audit-log", tmp_path / "missing.db", check=1)
    assert "Traceback" in done.stderr and "AuditError" in done.stderr


def test_no_escape_codes_when_piped(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    for args in (["logs"], ["logs", "--summary"], ["plugins"], ["verify"]):
        out = run(*args, "--audit-log", audit).stdout if args[0] != "plugins" else run(*args).stdout
        assert "\x1b[" not in out


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    import pty

    environ = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TZ": "UTC", **env}
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = subprocess.Popen([*COMMAND, *args], stdout=follower, stderr=follower, env=environ)
    os.close(follower)
    chunks = read_pty(leader)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    audit = str(observed_log(tmp_path))
    coloured = _on_a_terminal(["logs", "--audit-log", audit], {})
    plain = _on_a_terminal(["logs", "--audit-log", audit], {"NO_COLOR": "1"})
    assert "\x1b[33" in coloured or "\x1b[1;33" in coloured  # warn is yellow
    assert "\x1b[33" not in plain and "\x1b[1;33" not in plain and "WARN" in plain


def test_python_dash_m_works_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "capfence.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "Commands:" in done.stdout


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
