"""``capfence logs`` as a table: nothing is cut without a visible ellipsis, --wide shows everything, a pager on a terminal only."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.support.cli import observed_log, on_a_terminal, record_calls, run
from tests.support.paths import POLICIES

LONG = "curl -s https://example.com/" + "a-very-long-path/" * 12 + "end-of-the-command"
HEADER = [
    "time",
    "agent",
    "tool",
    "capability",
    "decision",
    "rule",
    "provenance",
    "outcome",
    "reason",
    "payload",
]


def _long_log(tmp_path: Path) -> Path:
    audit = tmp_path / "audit.db"
    record_calls(
        audit,
        POLICIES / "shell_rollout.yaml",
        [("shell.execute", {"command": "ls"}), ("shell.execute", {"command": LONG})],
        agent="deploy-assistant-with-a-long-name",
    )
    return audit


def test_a_cut_value_ends_in_an_ellipsis_and_the_footer_says_so(tmp_path: Path) -> None:
    out = run("logs", "--audit-log", _long_log(tmp_path), env={"COLUMNS": "120"}).stdout
    lines = out.splitlines()
    assert all(len(line) <= 120 for line in lines)
    long_row = next(line for line in lines if "curl -s" in line)
    assert long_row.endswith("…") and "end-of-the-command" not in out
    assert "deploy-assistan…" in long_row  # the agent column is cut too, visibly
    assert "(… = cut to fit" in out and "--wide shows everything" in out
    assert lines[-1] == "2 decision(s)"


def test_a_narrow_terminal_hides_columns_and_names_them(tmp_path: Path) -> None:
    out = run("logs", "--audit-log", observed_log(tmp_path), env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    assert out.splitlines()[0].split() == ["time", "capability", "decision", "rule", "payload"]
    assert "hidden: provenance, reason, outcome, tool, agent" in out


def test_the_rule_column_stays_at_100_columns(tmp_path: Path) -> None:
    header = (
        run("logs", "--audit-log", observed_log(tmp_path), env={"COLUMNS": "100"})
        .stdout.splitlines()[0]
        .split()
    )
    assert "rule" in header and "payload" in header and "decision" in header


def test_wide_shows_every_value_in_full(tmp_path: Path) -> None:
    out = run("logs", "--audit-log", _long_log(tmp_path), "--wide", env={"COLUMNS": "80"}).stdout
    assert out.splitlines()[0].split() == HEADER
    assert f'{{"command":"{LONG}"}}' in out and "deploy-assistant-with-a-long-name" in out
    assert 'deny rule: capability "shell.execute", contains "rm -rf"' not in out and "…" not in out
    assert out.splitlines()[-1] == "2 decision(s)"


def test_a_line_break_in_a_value_stays_on_its_row(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    record_calls(audit, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": "echo a\nrm -rf /"})])
    out = run("logs", "--audit-log", audit, "--wide").stdout
    assert len(out.splitlines()) == 5 and '"echo a\\nrm -rf /"' in out


def test_the_limit_is_said(tmp_path: Path) -> None:
    out = run("logs", "--audit-log", observed_log(tmp_path), "-n", "3").stdout
    assert out.splitlines()[-1] == "3 decision(s) (the newest 3; -n 0 shows all)"


def _pager(record: Path) -> str:
    script = "import os, sys; open(sys.argv[1], 'w').write('LESS=' + os.environ.get('LESS', '') + '\\n' + sys.stdin.read())"
    return shlex.join([sys.executable, "-c", script, str(record)])


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_pages_on_a_terminal_like_git(tmp_path: Path) -> None:
    audit, record = str(observed_log(tmp_path)), tmp_path / "paged.txt"
    screen = on_a_terminal(["logs", "--audit-log", audit], {"PAGER": _pager(record)})
    paged = record.read_text()
    assert paged.startswith("LESS=FRX\n") and "8 decision(s)" in paged and "WARN" in paged
    assert "8 decision(s)" not in screen
    record.unlink()
    assert "8 decision(s)" in on_a_terminal(
        ["logs", "--audit-log", audit, "--no-pager"], {"PAGER": _pager(record)}
    )
    assert "8 decision(s)" in on_a_terminal(["logs", "--audit-log", audit], {"PAGER": "cat"})
    assert not record.exists()


def test_never_pages_on_a_pipe(tmp_path: Path) -> None:
    record = tmp_path / "paged.txt"
    out = run("logs", "--audit-log", observed_log(tmp_path), env={"PAGER": _pager(record)}).stdout
    assert "8 decision(s)" in out and not record.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_quitting_the_pager_early_is_quiet(tmp_path: Path) -> None:
    audit = tmp_path / "audit.db"
    record_calls(
        audit,
        POLICIES / "shell_rollout.yaml",
        [("shell.execute", {"command": f"echo {i}"}) for i in range(3000)],
    )
    screen = on_a_terminal(["logs", "--audit-log", str(audit), "-n", "0"], {"PAGER": "head -c 10"})
    assert "Traceback" not in screen and "error" not in screen
