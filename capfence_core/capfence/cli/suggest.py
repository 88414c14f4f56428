"""``capfence suggest``: draft a policy from what the agents were seen doing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from capfence.cli.options import audit_log_option, filter_options, filters_from, load_policy_file
from capfence.cli.progress import Ticker


@click.command()
@audit_log_option
@filter_options
@click.option("--policy", "-p", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="POLICY",
              help="The policy the traffic was recorded under: its deny and require_approval rules are kept.")
@click.option("--held", is_flag=True,
              help="Instead of a draft: narrow allow rules (program and exact arguments) for the shell calls that were held "
                   "(require_approval, or warn 'would hold: ...' under packs/shell_observe.yaml), to paste into a policy that "
                   "extends packs/shell.yaml.")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True, help="Where to write the draft (- for standard output).")
def suggest(audit_log: str, policy_path: Path | None, held: bool, output: str, **filter_params: Any) -> None:
    """Draft a policy from observed traffic, for a human to edit.

    One allow rule per observed capability and tool, with comments giving
    call counts, decisions, agents and example arguments; the deny and
    require_approval rules of --policy kept; default deny. Capabilities whose
    calls were all blocked get a commented-out rule. Replaying the observed
    traffic against the draft shows no stricter decision (no call that ran would be stopped).

    With --held: allow rules for the shell calls the shell pack held, each
    naming one program and the exact arguments seen (never a program with any
    arguments); what no narrow rule can express is listed, not suggested.

    \b
    Examples:
      capfence suggest --audit-log audit.db --policy policies/shell_rollout.yaml -o draft.yaml
      capfence suggest --since 7d --agent 'prod-*'
      capfence suggest --held --audit-log audit.db --policy policies/packs/shell_observe.yaml -o allow.yaml
    """
    from capfence.audit.reader import open_reader
    from capfence.suggest import observe, render

    policy = None
    if policy_path is not None:
        policy = load_policy_file(policy_path)
    if held:
        _held(audit_log, policy, output, filter_params)
        return
    with open_reader(audit_log) as reader, Ticker("reading the log") as ticker:
        groups = observe(ticker.counted(reader.calls(filters_from(filter_params))))
    text = render(groups, source=audit_log, policy=policy)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Draft policy with {sum(1 for g in groups if g.ran)} allow rule(s) written to {output}", err=True)


def _held(audit_log: str, policy: Any, output: str, filter_params: dict[str, Any]) -> None:
    from capfence.audit.reader import open_reader
    from capfence.suggest_shell import collect, render

    with open_reader(audit_log) as reader, Ticker("reading the log") as ticker:
        found = collect(ticker.counted(reader.decisions(filters_from(filter_params))), policy)
    text = render(found, source=audit_log)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"{len(found.uses)} allow rule(s) for {found.calls} held shell call(s) written to {output}", err=True)
