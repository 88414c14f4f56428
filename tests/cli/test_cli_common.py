"""The tests every command shares: help texts, usage errors, the audit log's default, colour, ``python -m``.

Every test runs the real ``capfence`` executable in a subprocess (:mod:`tests.support.cli`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import COMMANDS, observed_log, on_a_terminal, run

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


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    audit = str(observed_log(tmp_path))
    coloured = on_a_terminal(["logs", "--audit-log", audit], {})
    plain = on_a_terminal(["logs", "--audit-log", audit], {"NO_COLOR": "1"})
    assert "\x1b[33" in coloured or "\x1b[1;33" in coloured  # warn is yellow
    assert "\x1b[33" not in plain and "\x1b[1;33" not in plain and "WARN" in plain


def test_python_dash_m_works_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "capfence.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "Commands:" in done.stdout
