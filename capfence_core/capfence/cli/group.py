"""A click group that imports each subcommand only when it runs.

``capfence --help`` lists :data:`COMMANDS` from this table without importing
any of them. Plugin commands (the ``capfence_register_commands`` hook) are
loaded only when a name is not one of ours, or by ``capfence plugins``:
building the plugin manager means reading every installed distribution's
entry points, which would cost more than the whole ``--help`` budget. So
plugin commands run normally (``capfence my-plugin-command``) and are listed
by ``capfence plugins``, but not by ``capfence --help``.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from pluggy import HookImpl

    from capfence.plugins import Registry


@dataclass(frozen=True)
class Entry:
    """Where a built-in subcommand lives, and its one-line summary for ``--help``."""

    module: str
    attr: str
    summary: str


COMMANDS: dict[str, Entry] = {
    "init": Entry(
        "capfence.cli.init",
        "init",
        "Write the walkthrough's observe and production policies into ./policies/.",
    ),
    "logs": Entry("capfence.cli.logs", "logs", "Show recorded decisions (table, JSON, summary, follow)."),
    "export": Entry(
        "capfence.cli.export", "export", "Write recorded decisions as JSON Lines, one object per decision."
    ),
    "replay": Entry(
        "capfence.cli.replay",
        "replay",
        "Re-evaluate recorded calls under another policy and diff the decisions.",
    ),
    "check": Entry("capfence.cli.check", "check", "Validate and lint policy files."),
    "explain": Entry(
        "capfence.cli.explain", "explain", "Show which rule decides a call, and why the others did not."
    ),
    "test": Entry(
        "capfence.cli.cases", "test", "Check that a policy decides test calls as expected (for CI)."
    ),
    "verify": Entry(
        "capfence.cli.verify", "verify", "Check the audit log's hash chain (and signed checkpoints)."
    ),
    "checkpoint": Entry(
        "capfence.cli.checkpoint",
        "checkpoint",
        "Record the audit log's head in a signed checkpoint file kept elsewhere.",
    ),
    "suggest": Entry("capfence.cli.suggest", "suggest", "Draft a policy from observed traffic."),
    "approvals": Entry(
        "capfence.cli.approvals", "approvals", "List, show, approve and deny calls held for approval."
    ),
    "import": Entry(
        "capfence.cli.importing",
        "import_",
        "Copy audit records into another audit log (SQLite to PostgreSQL), verifiably.",
    ),
    "plugins": Entry("capfence.cli.plugins", "plugins", "List loaded plugins and what each registers."),
    "serve": Entry(
        "capfence.cli.serve",
        "serve",
        "Serve the web console: overview, decisions, approvals, replay (capfence[web]).",
    ),
}


class LazyGroup(click.Group):
    """Built-in commands from :data:`COMMANDS`, plugin commands from the hook, both on demand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_loaded = False
        self.plugin_commands: dict[str, list[str]] = {}
        """Plugin name -> the command names it added (filled by :meth:`load_plugin_commands`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is not None:
            command: click.Command = getattr(importlib.import_module(entry.module), entry.attr)
            self.commands[cmd_name] = command
            return command
        self.load_plugin_commands()
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a closed pipe ends it quietly with status 0 (click itself would exit 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            from capfence.cli.pipes import quiet_broken_pipe

            quiet_broken_pipe()

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, but a mistyped name is compared with every command (most are not imported yet): 'Did you mean ...?'."""
        name = args[0] if args else ""
        if name.startswith("-") or self.get_command(ctx, name) is not None:
            return super().resolve_command(ctx, args)
        close = difflib.get_close_matches(name, self.list_commands(ctx), n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise click.UsageError(f"No such command {name!r}.{hint}", ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, entry.summary) for name, entry in COMMANDS.items()]
        rows += [
            (name, cmd.get_short_help_str(60))
            for name, cmd in sorted(self.commands.items())
            if name not in COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def load_plugin_commands(self, plugins: Registry | None = None) -> None:
        """Call every ``capfence_register_commands`` implementation once; a failing plugin is skipped with a warning.

        ``plugins``: whose implementations (default: this invocation's registry, :func:`capfence.cli.registry.registry`).
        """
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from capfence.cli.registry import registry
        from capfence.plugins.isolation import call_isolated

        hook = (plugins or registry()).manager.hook.capfence_register_commands
        call_isolated(hook, self._add_plugin_commands, cli=self)

    def _add_plugin_commands(
        self, impl: HookImpl, function: Callable[..., object], args: tuple[object, ...]
    ) -> None:
        """Run one plugin's ``capfence_register_commands`` (the hook's isolation): one that raises adds nothing."""
        from capfence.plugins import PluginWarning

        before = dict(self.commands)
        try:
            function(*args)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the command line
            self.commands = before
            message = f"CapFence plugin {impl.plugin_name!r} raised in capfence_register_commands and was skipped: {exc}"
            warnings.warn(PluginWarning(message), stacklevel=2)
            return
        self.plugin_commands[impl.plugin_name] = self._accept_new(impl.plugin_name, before)

    def _accept_new(self, plugin: str, before: dict[str, click.Command]) -> list[str]:
        from capfence.plugins import PluginWarning

        added = [name for name in self.commands if self.commands[name] is not before.get(name)]
        for name in added:
            if name in COMMANDS or name in before:
                warnings.warn(
                    PluginWarning(
                        f"CapFence plugin {plugin!r} tried to replace the command {name!r}; ignored"
                    ),
                    stacklevel=3,
                )
                if name in before:
                    self.commands[name] = before[name]
                else:
                    del self.commands[name]
        return [name for name in added if name not in COMMANDS and name not in before]
