"""``capfence init``: write the walkthrough's observe and production policies into ./policies/."""

from __future__ import annotations

from pathlib import Path

import click

POLICY_DIR = Path("policies")
WHAT = {
    "shell_rollout.yaml": "observe: shell commands run and are warned about, 'rm -rf' is denied",
    "shell_production.yaml": "enforce: denies 'rm -rf' and curl, holds systemctl for approval, allows other commands",
}
NEXT_STEPS = """\
Next:
  1. Gate your tool with the observe policy (docs: Getting started):
       runtime = ActionRuntime.from_policy("policies/shell_rollout.yaml")
  2. Run your agent, then see what it did:   capfence logs
  3. Replay it under the production policy:  capfence export -o audit.jsonl
                                             capfence replay audit.jsonl --policy policies/shell_production.yaml
  4. Enforce: point the runtime at policies/shell_production.yaml"""


@click.command()
def init() -> None:
    """Write the walkthrough's two policies into ./policies/ (and nothing else).

    policies/shell_rollout.yaml observes (warns on shell commands, denies
    'rm -rf'); policies/shell_production.yaml enforces. Edit them to fit your
    tools. An existing file is never overwritten: nothing is written then.

    \b
    Example:
      mkdir my-agent && cd my-agent && capfence init
    """
    from capfence.starter import STARTER_POLICIES, starter_policy

    targets = [POLICY_DIR / name for name in STARTER_POLICIES]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        which = (
            f"{existing[0]} already exists"
            if len(existing) == 1
            else f"{' and '.join(existing)} already exist"
        )
        raise click.ClickException(
            f"{which}; nothing written (move it away, or run 'capfence init' in another directory)"
        )
    POLICY_DIR.mkdir(exist_ok=True)
    for path in targets:
        with path.open("x", encoding="utf-8") as out:  # "x": never replace a file that appeared meanwhile
            out.write(starter_policy(path.name))
        click.echo(f"Wrote {path.as_posix()} ({WHAT[path.name]})")
    click.echo(NEXT_STEPS)
