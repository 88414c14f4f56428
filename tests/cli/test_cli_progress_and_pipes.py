"""Long runs show progress on a terminal (standard error) and nothing on a pipe; a closed pipe ends a command quietly, status 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import COMMAND, read_pty, record_calls, run
from tests.support.paths import POLICIES

CALLS = 3000
NO_DELAY = {"CAPFENCE_PROGRESS_DELAY": "0"}


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "audit.db"
    record_calls(
        path,
        POLICIES / "shell_rollout.yaml",
        [("shell.execute", {"command": f"echo {i}"}) for i in range(CALLS)],
    )
    return path


def _stderr_on_a_terminal(args: list[str], cwd: Path) -> str:
    """Run ``capfence ARGS`` with standard error on a pseudo-terminal (standard output to a file); what it wrote there."""
    import pty

    leader, follower = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CAPFENCE_AUDIT_LOG")}, **NO_DELAY}
    with (cwd / "stdout.txt").open("w") as out:
        process = subprocess.Popen([*COMMAND, *args], stdout=out, stderr=follower, cwd=cwd, env=env)
    os.close(follower)
    chunks = read_pty(leader)
    assert process.wait(timeout=120) == 0, b"".join(chunks).decode()
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


REPLAY_COPIES = 24
"""Replay looks at its progress every 65,536 lines: its input is the export, repeated past that."""


def _commands(audit: Path, tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "audit.jsonl").write_text(run("export", "--audit-log", audit).stdout * REPLAY_COPIES)
    return {
        "exporting": ["export", "--audit-log", str(audit), "-o", str(tmp_path / "out.jsonl")],
        "verifying": ["verify", "--audit-log", str(audit)],
        "reading the log": ["suggest", "--audit-log", str(audit)],
        "replaying": [
            "replay",
            str(tmp_path / "audit.jsonl"),
            "--policy",
            str(POLICIES / "shell_production.yaml"),
        ],
    }


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("what", ["exporting", "verifying", "reading the log", "replaying"])
def test_progress_on_a_terminal(audit: Path, tmp_path: Path, what: str) -> None:
    assert what in _stderr_on_a_terminal(_commands(audit, tmp_path)[what], tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_of_a_replay_split_across_processes(audit: Path, tmp_path: Path) -> None:
    """With --jobs, the command reports the bytes its processes have read (first as soon as they start)."""
    replay = [*_commands(audit, tmp_path)["replaying"], "--jobs", "2"]
    assert "replaying" in _stderr_on_a_terminal(replay, tmp_path)
    assert run(*replay, env=NO_DELAY).stderr == ""


@pytest.mark.parametrize("what", ["exporting", "verifying", "reading the log", "replaying"])
def test_no_progress_on_a_pipe(audit: Path, tmp_path: Path, what: str) -> None:
    done = run(*_commands(audit, tmp_path)[what], env=NO_DELAY)
    assert what not in done.stderr and "\x1b" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["logs", "-n", "0", "--format", "jsonl"],
        ["logs", "-n", "0"],
        ["logs", "-n", "0", "--format", "json"],
        ["export"],
        ["export", "--all-records"],
    ],
)
def test_a_closed_pipe_ends_quietly_with_status_0(audit: Path, args: list[str]) -> None:
    """``capfence ARGS | head -1``: the reader goes away after one line."""
    env = {k: v for k, v in os.environ.items() if k != "CAPFENCE_AUDIT_LOG"}
    process = subprocess.Popen(
        [*COMMAND, *args, "--audit-log", str(audit)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0 and stderr == "" and first


def test_a_closed_pipe_during_replay_json(audit: Path, tmp_path: Path) -> None:
    replay = _commands(audit, tmp_path)["replaying"]
    process = subprocess.Popen(
        [*COMMAND, *replay, "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b'{"summary"')
    process.stdout.close()
    assert process.wait(timeout=120) == 0 and process.stderr.read() == b""
    assert json.loads(run(*replay, "--format", "json").stdout)["summary"]["replayed"] == CALLS * REPLAY_COPIES
