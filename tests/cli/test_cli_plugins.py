"""``capfence plugins`` and plugin commands (the ``capfence_register_commands`` hook)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run

PLUGIN = '''
import click
import capfence

@click.command()
def hello():
    """Say hello (from a plugin).

    Example: capfence hello
    """
    click.echo("hello from a plugin")

@capfence.hookimpl
def capfence_register_commands(cli):
    cli.add_command(hello)
'''


def _install(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(source)
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[capfence]\n{name} = {name}\n")
    import os

    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_lists_the_builtin_plugin() -> None:
    rows = json.loads(run("plugins", "--format", "json").stdout)
    builtin = next(r for r in rows if r["name"] == "capfence.builtin_plugin")
    assert builtin["distribution"] == "capfence"
    assert "condition contains" in builtin["registers"] and "audit store sqlite" in builtin["registers"]
    assert "capfence.builtin_plugin" in run("plugins").stdout


def test_plugin_command_runs_and_is_listed(tmp_path: Path) -> None:
    env = _install(tmp_path, "greeter", PLUGIN)
    assert run("hello", env=env).stdout == "hello from a plugin\n"
    rows = json.loads(run("plugins", "--format", "json", env=env).stdout)
    greeter = next(r for r in rows if r["name"] == "greeter")
    assert (
        greeter["distribution"] == "greeter"
        and greeter["version"] == "1.0"
        and greeter["registers"] == ["command hello"]
    )


def test_plugin_cannot_replace_a_builtin_command(tmp_path: Path) -> None:
    env = _install(
        tmp_path,
        "usurper",
        PLUGIN.replace("def hello", "def logs").replace("add_command(hello)", "add_command(logs)"),
    )
    done = run("plugins", env=env)
    assert "tried to replace the command 'logs'" in done.stderr
    assert "Example" in run("logs", "--help", env=env).stdout


def test_broken_plugin_command_hook_is_skipped(tmp_path: Path) -> None:
    source = "import capfence\n@capfence.hookimpl\ndef capfence_register_commands(cli):\n    raise RuntimeError('boom')\n"
    env = _install(tmp_path, "broken", source)
    done = run("nosuch", env=env, check=2)
    assert (
        "capfence: warning: CapFence plugin 'broken' raised in capfence_register_commands and was skipped: boom"
        in done.stderr
    )
