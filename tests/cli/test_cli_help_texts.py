"""Small things a newcomer reads: help texts without markup or missing files, colour in check, one level of parentheses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.cli import COMMANDS, observed_log, on_a_terminal, run
from tests.support.paths import POLICIES

SUBCOMMANDS = [[command] for command in COMMANDS] + [
    ["approvals", verb] for verb in ("list", "show", "approve", "deny")
]


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_help_has_no_markup_and_no_repository_paths(command: list[str]) -> None:
    out = run(*command, "--help").stdout
    assert "``" not in out and "docs/" not in out


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_option_has_help(command: list[str]) -> None:
    from click import Context

    from capfence.cli.app import cli

    ctx = Context(cli, info_name="capfence")
    found = cli.get_command(ctx, command[0])
    for name in command[1:]:
        found = found.get_command(ctx, name)  # type: ignore[union-attr]
    assert found is not None
    undocumented = [
        param.name
        for param in found.params
        if getattr(param, "param_type_name", "") == "option" and not param.help
    ]  # type: ignore[attr-defined]
    assert undocumented == []


def test_explain_policy_is_explained() -> None:
    assert "The policy file that decides the call." in run("explain", "--help").stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_check_colours_on_a_terminal_only(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("deny:\n  - capabilty: x\n")
    good = str(POLICIES / "shell_production.yaml")
    screen = on_a_terminal(["check", good, str(bad)], {})
    assert "\x1b[" in screen and "OK" in screen and "INVALID" in screen and "warning" in screen
    plain = on_a_terminal(["check", good, str(bad)], {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "OK" in plain
    piped = run("check", good, str(bad), check=1).stdout
    assert "\x1b[" not in piped and ": OK (" in piped and ": INVALID" in piped and ": error: " in piped


def test_checkpoint_line_has_one_level_of_parentheses(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    out = run("checkpoint", "--audit-log", audit, "-o", tmp_path / "ck").stdout.strip()
    unsigned = "(UNSIGNED: no key; set CAPFENCE_AUDIT_KEY or pass --key-file)"
    assert out == f"Checkpoint of {audit} at seq 16 appended to {tmp_path / 'ck'} {unsigned}"
    signed = run(
        "checkpoint", "--audit-log", audit, "-o", tmp_path / "ck", env={"CAPFENCE_AUDIT_KEY": "k" * 32}
    ).stdout.strip()
    assert signed.endswith("(signed)") and signed.count("(") == 1
