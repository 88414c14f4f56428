"""``capfence plugins``: what is loaded, from which distribution, and what each plugin registers."""

from __future__ import annotations

import json
from typing import Any

import click

from capfence.cli.options import format_option


@click.command()
@format_option("table", "json")
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """List loaded plugins: name, distribution, version, and what each registers.

    Built-in plugins are listed like external ones (they load the same way).
    Plugins blocked with CAPFENCE_BLOCK_PLUGINS or skipped because they
    failed to load are not listed (a warning names the latter).

    \b
    Examples:
      capfence plugins
      capfence plugins --format json
    """
    from capfence.cli.group import LazyGroup
    from capfence.cli.registry import registry

    group = ctx.parent.command if ctx.parent is not None else None
    commands: dict[str, list[str]] = {}
    if isinstance(group, LazyGroup):
        group.load_plugin_commands()
        commands = group.plugin_commands
    rows: list[dict[str, Any]] = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "registers": [*info.registered, *(f"command {name}" for name in commands.get(info.name, []))],
        }
        for info in registry().plugins.values()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        _table(rows)


def _table(rows: list[dict[str, Any]]) -> None:
    from rich import box
    from rich.table import Table

    from capfence.cli.output import console

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("plugin", "distribution", "version", "registers"):
        table.add_column(name, overflow="fold")
    for row in rows:
        registers = row["registers"]
        table.add_row(
            str(row["name"]),
            str(row["distribution"] or "-"),
            str(row["version"] or "-"),
            ", ".join(registers) if isinstance(registers, list) and registers else "-",
        )
    console().print(table)
