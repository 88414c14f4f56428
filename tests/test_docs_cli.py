"""The CLI reference is generated from --help, and every `capfence ...` line in the docs uses real commands and options."""

from __future__ import annotations

import re

import click
import pytest

from capfence.cli.app import cli
from capfence.cli.reference import render
from tests.support.paths import ROOT

DOCS = sorted([*ROOT.glob("docs/**/*.md"), ROOT / "README.md"])


def test_cli_reference_is_up_to_date():
    page = (ROOT / "docs" / "cli-reference.md").read_text()
    assert page == render(), (
        "docs/cli-reference.md is stale: run `python -m capfence.cli.reference > docs/cli-reference.md`"
    )


def _command_lines() -> list[tuple[str, str]]:
    lines = []
    for doc in DOCS:
        for block in re.findall(r"```(?:bash|console|sh)\n(.*?)```", doc.read_text(), flags=re.DOTALL):
            for raw in block.splitlines():
                line = raw.split(" #", 1)[0].strip().removeprefix("$ ")
                if line.startswith("capfence "):
                    lines.append((doc.name, line))
    return lines


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    ctx = click.Context(cli, info_name="capfence")
    command: click.Command = cli
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        sub = command.get_command(ctx, words[0])
        assert sub is not None, f"unknown command {words[0]!r}"
        command, words = sub, words[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    return command, words


@pytest.mark.parametrize(("doc", "line"), _command_lines())
def test_documented_command_lines_are_valid(doc: str, line: str):
    command, rest = _resolve(line.split()[1:])
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    used = {word.split("=", 1)[0] for word in rest if word.startswith("--")}
    assert used <= known, f"{doc}: {line!r} uses unknown options {sorted(used - known)}"


def test_cli_guide_overview_lists_every_command():
    guide = (ROOT / "docs" / "cli.md").read_text()
    overview = guide.split("## Conventions", 1)[0]
    listed = set(re.findall(r"^\| `([a-z-]+)[^`]*` \|", overview, flags=re.MULTILINE))
    assert set(cli.commands) <= listed, (
        f"docs/cli.md's table of commands lacks {sorted(set(cli.commands) - listed)}"
    )
