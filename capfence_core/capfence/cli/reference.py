"""Generate the CLI reference page from the commands' own ``--help`` text.

    python -m capfence.cli.reference > docs/cli-reference.md

A test regenerates the page and compares, so the page cannot drift from the code.
"""

from __future__ import annotations

import click

from capfence.cli.app import cli
from capfence.cli.group import COMMANDS

WIDTH = 100


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> str:
    ctx = click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    return command.get_help(ctx)


def _sections(command: click.Command, path: list[str], parent: click.Context | None) -> list[str]:
    ctx = click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    out = [f"## `{' '.join(path)}`\n\n```text\n{_help(command, path, parent).rstrip()}\n```\n"]
    if isinstance(command, click.Group) and path != ["capfence"]:
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                out += _sections(sub, [*path, name], ctx)
    return out


def render() -> str:
    """The whole page."""
    # the group's own settings (``-h`` for help): click caches each command's help option the first time
    # it is asked for, so a context without them would print whatever an earlier context happened to ask
    settings = {**cli.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    root = click.Context(cli, info_name="capfence", **settings)
    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `python -m capfence.cli.reference`; a test keeps it in sync.\n",
        f"## `capfence`\n\n```text\n{cli.get_help(root).rstrip()}\n```\n",
    ]
    for name in COMMANDS:
        command = cli.get_command(root, name)
        if command is not None:
            parts += _sections(command, ["capfence", name], root)
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
